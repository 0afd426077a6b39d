// Package shrex implements share exchange, the request/response protocols
// by which nodes fetch parts of an extended data square from a peer that
// holds it, each verified against the extended header the asker trusts:
//
//	/datamesh/<network>/shrex/v0.1.0/sample   one cell with its NMT proof
//	/datamesh/<network>/shrex/v0.1.0/samples  several cells of one square
//	/datamesh/<network>/shrex/v0.1.0/row      one row
//	/datamesh/<network>/shrex/v0.1.0/nd       all the shares of a namespace
//	/datamesh/<network>/shrex/v0.1.0/eds      the whole square
//
// (ProtocolID(network, kind)). A Server answers all five from a Store, the
// one-method interface the package declares for whatever holds squares (a
// bridge or full node's eds/store, through core.Store). A Client asks the
// peer it is given, for the header it is given, and returns only data that
// verified against that header; choosing peers, retrying and blocking are
// the caller's (the peer manager's) business. The caller blocks a peer when
// errors.Is(err, ErrInvalidResponse).
//
// # Wire format
//
// One request per stream. The client writes the request, a binary ID,
// big-endian (docs/formats.md section 8), and closes its side:
//
//	sample  eds.SampleID         height u64 | row u16 | col u16       12 bytes
//	samples []Cell               height u64 | count u16 |
//	                             count × (row u16 | col u16)   10 + 4·count bytes
//	row     eds.RowID            height u64 | row u16                 10 bytes
//	nd      NamespaceDataID      height u64 | namespace [29]byte      37 bytes
//	eds     eds.EdsID            height u64                            8 bytes
//
// A samples request names 1 to MaxSamplesPerRequest (64) distinct cells,
// no more than the square has; a count that disagrees with the length, 0,
// over 64, a repeated cell or one outside the square is BAD_REQUEST.
//
// The server answers with a response header, its length as one byte (at
// most 32) and the protobuf message Header { Status status = 1; } (unknown
// fields skipped, so later versions can add some), with Status OK = 1,
// NOT_FOUND = 2, RATE_LIMITED = 3, BAD_REQUEST = 4, INTERNAL = 5. Only OK
// is followed by a payload, and the payload is the rest of the stream:
//
//	sample  one eds.Sample (MarshalBinary) behind its length as a uvarint;
//	        the server proves the cell against its row's root (the client
//	        accepts a column proof too: Sample.Verify checks either)
//	samples one such framed sample per cell, in request order; the client
//	        verifies each against its cell, reports those that fail as an
//	        *InvalidSamplesError (wrapping ErrInvalidResponse), and a
//	        missing or extra sample or trailing bytes as ErrInvalidResponse
//	row     the first half of the row, k shares of 512 bytes back to back,
//	        for parity rows (k ≤ row < 2k) as well; the client re-extends
//	        it (eds.ExtendAxis) and checks the whole row's root
//	        (eds.AxisRoot) against the header's
//	nd      one eds.RowNamespaceData (MarshalBinary) behind its length as a
//	        uvarint for each row eds.RowsWithNamespace names, in increasing
//	        row order; inclusion or absence proofs, which
//	        eds.NamespaceData.Verify checks for completeness
//	eds     the k×k original square, k² shares of 512 bytes in row-major
//	        order; the client extends it, computes its header and compares
//	        the data root (a *DataRootMismatchError otherwise)
//
// The client derives every size it reads from its own header: the exact
// number of shares for row and eds, the number of nd entries, and a bound
// on each length-prefixed message from the depth of a tree of 2k leaves.
// A longer prefix, a stream that ends early or carries more bytes than the
// response, or data that fails verification is the peer's fault
// (ErrInvalidResponse), as is BAD_REQUEST, since the client sends only
// requests checked against the header. NOT_FOUND, RATE_LIMITED, INTERNAL,
// resets and timeouts are not.
//
// # Limits and defaults
//
// When a stream opens, the server takes a token and a stream slot of the
// peer (per-peer bucket DefaultPeerRate = 10,000/s, burst DefaultPeerBurst
// = 20,000, at most DefaultMaxStreamsPerPeer = 128 streams, over all five
// protocols) and reads the request within DefaultReadTimeout (1 s), or
// resets the stream. Only then does it take a slot of the protocol
// (DefaultMaxConcurrent: 512 sample, 128 samples, 256 row, 64 nd, 8 eds
// over all peers),
// for the store read and the response; a quarter of those slots is kept
// for peers that hold none (peerlimit.Pool), so one peer holds at most
// three quarters and cannot keep another from a slot. Without a token or a
// slot it answers RATE_LIMITED. It has DefaultWriteTimeout
// (10 s) plus the payload's size at DefaultMinThroughput (1 MiB/s) to write
// the response, and the client the same to receive it, on top of
// DefaultRequestTimeout (10 s). Each stream belongs to the resource-manager
// service ServiceName and reserves its buffers there, is reset on error,
// and a panic in a handler is recovered and resets only its stream.
//
// # Performance
//
// A light node asks for a header's cells with one samples request (the
// getter splits them over two peers) instead of one stream per cell, and
// the server proves them from a bounded cache of row provers
// (eds.AxisProver, WithSampleCache: 16 squares and 64 MiB by default,
// least recently used squares evicted first), so serving many samples of
// one square builds each row's tree once. Squares are known by height and
// identity (a weak pointer), so a pruned and re-stored height never meets
// stale proofs. GetSamples of a peer without the samples protocol fails
// with ErrNotSupported, which is not a fault: ask it with GetSample.
//
// GetEDS is bound by verification, not by the transfer: extending the
// square and computing its 4k NMT roots hashes about four times the ODS
// with SHA-256, against one copy of it through the stream. BenchmarkGetEDS
// against BenchmarkStreamRaw (same two loopback hosts, the same bytes)
// measures the ratio; on a 2-core machine it is about 0.1 at k = 32 and
// 128, where eds's own BenchmarkExtendRoots takes as long as GetEDS.
//
// Server.Start registers the handlers; Server.Stop removes them, cancels
// the store reads in flight and waits for every handler to return. Both are
// idempotent. A Client needs no Start.
//
// # Metrics
//
// Both sides report every request to a Metrics, the one-method interface
// the package declares (WithServerMetrics, WithMetrics; nil, the default,
// reports nothing): its side, protocol, outcome (OutcomeOK, ...) and
// duration. nodebuilder turns them into Prometheus series.
package shrex
