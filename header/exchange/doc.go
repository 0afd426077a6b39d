// Package exchange implements header-ex, the request/response protocol
// by which nodes fetch extended headers from each other:
// /datamesh/<network>/header-ex/v0.1.0 (ProtocolID).
//
// A Server answers from a header.Store: the head, one header by hash, or a
// range of at most MaxHeadersPerRequest (64) heights, whatever part of it
// the store holds. It limits each peer's concurrent streams and request
// rate and answers RATE_LIMITED beyond them.
//
// A Client implements what the syncer needs: Head (agreed among trusted
// peers, or the highest head verifiable from a trusted header),
// GetByHeight, GetByHash, and GetVerifiedRange, which fetches up to
// header.MaxRangeSize headers in parallel from several peers and verifies
// each against its predecessor. A peer that sends provably wrong data is
// handed to a PeerBlocker and never asked again; slow or refusing peers
// only drop in rank. Errors that are ours (a trusted header past the
// trusting period: header.ErrExpiredTrust) block no one and are returned
// wrapped.
//
// # Wire format
//
// One request per stream, each message framed by its length as a uvarint
// and encoded as protobuf (proto/headerex/v1/headerex.proto documents the
// schema; this package encodes it by hand with protowire):
//
//	Request  { uint64 from = 1; uint64 amount = 2; bytes hash = 3; bool head = 4; }
//	Response { StatusCode status = 1; bytes header = 2; }
//
// The client writes one Request (at most 64 bytes) and closes its side;
// the server writes one OK Response per header (header =
// header.ExtendedHeader.MarshalBinary, at most header.MaxExtendedHeaderSize)
// and, if it has fewer than asked (or none), one final NOT_FOUND; a refused
// request gets a single RATE_LIMITED, BAD_REQUEST or INTERNAL_ERROR. A
// response with headers but without the final NOT_FOUND is short only if it
// is complete: anything else is a protocol violation.
//
// Every stream has deadlines, memory reserved in the libp2p resource
// manager under the service ServiceName, and is reset on error.
package exchange
