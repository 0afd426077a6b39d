// Command netbench runs a network of separate mesh-node processes on one
// machine and measures it (issue 20, item 4; `make bench-network`): a core
// validator, a bridge, two full nodes and N light nodes, each in a
// temporary home of its own, wired on loopback (or, with --netem, with
// every light node in a network namespace of its own behind a veth pair
// shaped by tc netem, or by tbf alone on a kernel without netem, with
// --netem-delay 0), under a blob load from tools/loadgen run as a
// subprocess against the bridge's API.
//
// It reports, as a table on stdout and a JSON file: each light node's lag
// behind the chain head (its meshnode_das_sampled_chain_head against the
// core node's /status height) and RSS; the sampling time per header, p50
// and p99 over every light node, interpolated from the merged buckets of
// their meshnode_das_header_sample_duration_seconds histograms; whether
// every light node stayed within 2 blocks of the head; and the bridge's
// and full nodes' CPU, shrex requests served per second and RSS.
//
// Everything it starts is removed on every way out: process groups are
// signalled and then killed, the temporary homes deleted, the namespaces,
// veths and Linux bridge of --netem deleted. A run killed with SIGKILL
// leaves its processes dying of their parent's death signal; the next run
// removes what else it left (its work directory, listing the process IDs
// it started, and the network devices of its naming prefix). It is a
// module of its own, like tools/loadgen; see docs/benchmarks.md, "Network
// of separate processes".
package main
