// Package fetch reads a dataset (package dataset) back from a node's API
// and checks it: the client side of `mesh-node dataset get|verify|stat`,
// for Go programs as well as the CLI.
//
// A Fetcher calls a Node, the three reads it needs: blob.Get, blob.GetAll
// for one namespace, and dataset.GetManifest's location of a manifest
// blob. *client.Client (api/client) implements Node over JSON-RPC; a test
// or an embedding program may implement it over a blob service directly.
// The Fetcher trusts the Node for nothing but availability: it decodes
// the manifest from blob bytes, recomputes every part's commitment from
// the bytes it is given and compares it with the manifest's, checks every
// block's hash (dataset.DecodePart), and walks the DAG from the root. What
// the bytes are checked against on chain is the Node's part: a light node
// answers blob.Get only with shares it verified by NMT proofs against the
// data roots of the headers it verified (docs/datasets.md).
//
//	f, err := fetch.New(cl, fetch.Options{Timeout: time.Minute})
//	loc, err := f.LocateAt(ctx, root, manifestHeight, nil) // or f.Locate on an indexing node
//	rep, err := f.Verify(ctx, loc)  // every part, never a cache
//	if err == nil { err = rep.Err() } // rep.Bad names each bad part
//	s, err := f.FetchToDisk(ctx, loc) // the parts, cached under Options.CacheDir
//	bs := s.Blockstore()              // their blocks, read from the part files
//	err = s.WriteCAR(w)               // or the DAG's CAR, copied from them
//
// FetchToDisk stops at the first bad part; Verify checks every part and
// reports each bad one as a *PartError (index, height, commitment and
// cause), so that one part a peer tampered with does not hide the state of
// the others. Both hold one part in memory at a time, plus each block's
// CID and links (the DAG is checked over those, not the blocks' data); a
// Stored's data stays in the cache. The deprecated Fetch still returns the
// whole dataset in memory.
package fetch
