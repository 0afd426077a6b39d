// Package fraud spreads and acts on bad-encoding fraud proofs: the
// gossipsub topic /datamesh/<network>/fraud-sub/badencodingv0.1/v0.0.1 on
// which nodes publish and forward eds.BadEncodingProofs after validating
// them, fraud sync (/datamesh/<network>/fraud/v0.0.1), by which a node asks
// its peers for the proofs they hold, the proofs' store, and the halting
// rule (Halt): from a valid proof of block h on, a node stops sampling and
// fetching and refuses reads of heights at or above h and new
// transactions, while it keeps serving headers and proofs so that it still
// protects its peers.
package fraud
