// Package fraud spreads and acts on bad-encoding fraud proofs: the
// gossipsub topic /datamesh/<network>/fraud-sub/badencodingv0.1/v0.0.1
// (TopicID) on which nodes publish and forward eds.BadEncodingProofs after
// validating them, fraud sync (/datamesh/<network>/fraud/v0.0.1,
// ProtocolID), by which a node asks its peers for the proofs they hold, the
// proofs' store, and the halting rule (Halt): from a valid proof of block h
// on, a node stops sampling and fetching and refuses reads of heights at or
// above h and new transactions, while it keeps serving headers and proofs
// so that it still protects its peers.
//
// # Use
//
// The node makes a Service once its p2p host has started (the Service
// needs its gossipsub), starts it before any service a proof halts, and
// runs the start-up fraud sync once its header store holds its base (after
// the syncer's Init), so that a proof below the base is fetched for rather
// than dropped as too far ahead:
//
//	svc, err := fraud.New(fraud.Deps{Network: chainID, Host: h, PubSub: ps,
//		Headers: headerStore, Blocker: p2pNode, DB: db, Halt: halt,
//		Fetch: exchangeClient, // optional: see "Proofs below the store's base"
//		Mesh: p2pNode},        // optional: see "Mesh peers"
//		fraud.Options{SyncPeers: bootstrapIDs, Logger: log})
//	err = svc.Start(ctx) // loads the stored proofs: a halted node stays halted
//	err = svc.Sync(ctx)  // asks peers; returns within SyncTimeout
//	...                  // then the syncer, whose OnHead(head) hook calls
//	svc.HeadAdvanced(ctx, head.Height()) // before it hands head to the DASer
//	err = svc.Publish(ctx, proof) // a proof the node found itself
//
// Whoever must stop on a proof asks the Halt, or reads Subscribe.
//
// # Wire
//
// A topic message is one proof, its MarshalBinary encoding (celestia-node's
// BadEncoding protobuf), at most Options.MaxMessageSize (1 MiB, gossipsub's
// own limit). Publish sends the form with k shares: about 162 KB at
// k = 128 and 348 KB at k = 256.
//
// Fraud sync is one request and one response per stream, each a protobuf
// message behind its uvarint length, in the shapes of go-fraud v0.2.3
// (SyncRequest, SyncResponse): the client asks for the type
// "badencodingv0.1"; the server answers with its stored proofs of that
// type, lowest height first, as many as fit in 1 MiB, and leaves out the
// types it does not know. The server reads the request within 5 s, answers
// at most 2 streams of a peer at once and 1 request a second (bursts of 4)
// and resets the stream of a peer over that.
//
// # Validation order
//
// Every proof from another peer, gossiped or synced, is judged by the same
// steps, each cheaper than the next, so that bad input costs microseconds
// (see BenchmarkJudge and BenchmarkJudgeWide):
//
//  1. the sender: one already blocked for an invalid proof is refused
//     unread; on the topic, a peer over its rate (1 proof a second,
//     bursts of 8) is ignored;
//  2. size (MaxMessageSize), then the block the proof names, its height
//     and header hash, read without decoding the shares: a message too
//     large or whose fields do not parse, or height 0, blocks the sender;
//  3. duplicates: a proof of a block at or above the lowest one the node
//     already holds a valid proof of changes nothing and is ignored
//     (this covers a repeated (height, axis, index)); gossipsub's own
//     seen-cache drops repeated bytes, since message IDs are the SHA-256
//     of the content;
//  4. height: more than MaxAhead (64) above the store's head is ignored
//     (unless it came by fraud sync: see Held proofs below);
//     above the head, the proof is held for its header (below);
//  5. one at a time per height: a proof waits while another of its height
//     is being checked, so a flood validates a height once, and a proof
//     that turns out valid makes the waiting ones duplicates;
//  6. the header: the stored header at the proof's height, or for a
//     height below the store's base the header Deps.Fetch brings (without
//     Fetch, or if the fetch fails, the proof is ignored; see below); its
//     hash must be the proof's HeaderHash, or the sender is blocked
//     (celestia-node's validator never checked this); the last 16
//     headers read or fetched are cached;
//  7. the message hash: a SHA-256 of the message already found invalid
//     blocks the sender without validating again (1,024 remembered);
//  8. the proof's full decoding (eds.UnmarshalBadEncodingProof) and
//     BadEncodingProof.Validate against the stored header's DAH (about
//     1 ms at k = 128): a failure blocks the sender and remembers the
//     message's hash;
//  9. a valid proof is stored, sets the Halt, goes to subscribers and is
//     forwarded (the topic validator accepts it; a synced or released
//     one is published).
//
// Steps 2 and 8 split decoding: the shares, most of a proof's bytes, are
// copied and checked only for a proof about to be validated. Step 3 is
// stronger than a check of the (height, axis, index) key, and with step 5
// is why a flood costs at most one validation per height: only the lowest
// proven height halts anything. The message hash is computed at step 7,
// not earlier, because SHA-256 costs about 1 ms a MiB, more than every
// step before it.
//
// # Held proofs and safety
//
// A proof at or above the store's base is validated only against a header
// in the node's verified header store (Deps.Headers), never against one a
// peer hands over: a header fetched from a peer through header-ex is
// unverified, and a peer that forged a header and a proof against it
// could halt the node. So a proof above the store's head is held, not
// checked: at most HoldPerPeer (4) per sender and HoldTotal (32) in all,
// each for HoldTTL (10 minutes). When the holds are full, the oldest hold
// of the sender holding the most gives way to a sender holding at least
// two fewer, so senders that fill the holds cannot keep a newcomer's proof
// out. The syncer verifies the headers above the head and follows the
// network head anyway.
//
// Held proofs are released when the store reaches their height and judged
// again from step 3. The topic validator of a held proof waits for that
// verdict (up to half of ValidatorTimeout) and returns it, so gossipsub
// forwards a valid proof as it would any other: the message IDs of p2p are
// the hash of the data, so a message the validator had ignored could not
// be gossiped again by this node. A proof whose validator stopped waiting,
// or that came by fraud sync, is published by the Service once valid (new
// to the peers that never saw it; the background sync reaches the rest).
// The node calls
// HeadAdvanced from the header syncer's OnHead hook, which header/syncer
// calls after the store's Append has returned, and before it hands the
// head to the DASer: HeadAdvanced judges the released proofs before it
// returns, so a light node never samples a block, and reports it
// available, while a valid proof of it waits here. With nothing held it
// costs a lock and a length check. As a fallback (a node that does not
// wire the hook, a head the hook missed), the Service also reads the
// store's height every PollInterval (1 s) and releases what it has
// reached; HeadAdvanced waits for a release the poll has begun.
//
// # Proofs below the store's base
//
// A light node starts from a recent header (by default the head its
// bootstrap peers agree on) and stores nothing below it, so a proof
// published before it started names a block below its store's base; yet
// every block it samples comes after that one, so it must halt. A header
// below the base cannot be linked to the node's verified chain without
// walking back from the base, header by header. With Deps.Fetch set, the
// Service instead takes it from the node's trusted peers (header/exchange's
// GetByHeight asks all of them and requires them to agree), the same peers
// the node trusted for its first header when it was given no trusted hash;
// it requires the header to Validate (its commit is signed by its validator
// set, its DAH is the one the block commits to) and to be at the proof's
// height, and then checks HeaderHash and the proof against it as against
// a stored header. A proof whose HeaderHash differs blocks its sender, who
// named a header that is not the chain's; a fetch that fails or brings a
// header that does not Validate is nobody the sender can answer for: the
// proof is ignored (and a background sync retries later, see below).
//
// At worst, trusted peers that lie (forging a header whose validators the
// node does not know, with a proof against it) can halt the node: a
// liveness failure they could cause anyway by withholding headers, never a
// safety one, since a fetched header only ever stops the node and never
// makes it report a block available. Only proofs below the base are
// fetched for; those above the head wait for the syncer as above. Fetches
// come after the sender's rate limit and steps 1 to 5, so at most one is
// in flight per height; at most MaxFetches (2) are in flight in all (a
// proof that finds them busy is ignored), each within FetchTimeout (5 s),
// and a fetched header is cached like a stored one.
//
// A peer could keep a valid proof from the node by sending a copy of it
// that the node drops for a reason other than its content (over its
// rate, already blocked, no room to hold it, no header fetched for it):
// gossipsub would then drop the honest copies of the same bytes as seen.
// After such a drop the Service runs a background sync, at most every
// ResyncInterval (30 s), which asks its peers directly.
//
// # Mesh peers
//
// Gossipsub forwards a message to the peers of its mesh of the topic,
// and announces it by IHAVE gossip at the next heartbeats only to the
// topic's peers outside the mesh. A proof a peer forwarded while the node
// was on the topic but not yet in that peer's mesh, and that the node
// joined before the peer's next heartbeat, never reaches the node: a light
// node whose one peer is another light node would not halt. With
// Deps.Mesh set (p2p.Node), the Service asks every peer gossipsub adds to
// its mesh of the topic (when it joins the topic, at a heartbeat, or on
// the peer's GRAFT) for its proofs by fraud sync, one request within
// SyncTimeout each (Stats.MeshPulls), and judges them as Sync does.
//
// A proof that comes by fraud sync, from a peer the node chose to ask, is
// held whatever its height (within the holds' bounds and HoldTTL), not only
// up to MaxAhead: a node that starts far behind then checks it when its
// syncer reaches the block, before its DASer samples that block. Calling
// Sync again once the syncer has caught up covers a hold that expired.
//
// # Store
//
// Valid proofs are kept in the node's Badger database under
// fraud/befp/<height><axis><index> (big-endian), one entry per proof, the
// encoding as validated. Start reads the first MaxStoredProofs (64)
// entries, lowest height first, skips (and logs) any that does not decode
// or names another proof than its key, and sets the Halt for the lowest.
package fraud
