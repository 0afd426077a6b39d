// Command loadgen drives mesh-node nodes with a blob load and reports what
// the chain and the nodes made of it (issue 20, item 1).
//
// It submits blobs through one node's JSON-RPC API (blob.Submit, with the
// state module's gas price option as `mesh-node blob submit` sets it) at a
// target rate of blob data, with a distribution of blob sizes over a
// number of namespaces and a bounded number of submits in flight, for a
// duration and/or a count. Every second it samples each watched node: its
// header store head, its DAS sampled head (das.SamplingStats; on a full
// node that is the head of the squares it fetched and stored), the chain
// head (the core node's /status when known, else the highest head seen)
// and, from the node's Prometheus metrics, process_resident_memory_bytes.
// At the end it counts the bytes of its own blobs at the heights blob.Submit
// returned (blob.GetAll on the submit node, so inclusion is read from the
// chain, not assumed), and writes a table to stdout, the run as JSON and a
// PNG of throughput, lags and RSS over time.
//
// The nodes come from a devnet's devnet.json (--devnet HOME) or from flags
// (--submit, --token, --watch). Only loopback addresses are accepted unless
// --allow-remote is given.
//
// Usage:
//
//	go run ./tools/loadgen --devnet ~/.mesh-node-devnet --rate 4 --sizes uniform:256K-1M \
//	    --namespaces 4 --concurrency 8 --duration 60s --out loadgen-run
//
// See docs/benchmarks.md, section "Load generator".
package main
