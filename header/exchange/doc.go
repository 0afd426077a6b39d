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
// request gets a single RATE_LIMITED, BAD_REQUEST or INTERNAL. A
// response with headers but without the final NOT_FOUND is short only if it
// is complete: anything else is a protocol violation.
//
// Every stream has deadlines, memory reserved in the libp2p resource
// manager under the service ServiceName, and is reset on error.
//
// # Who is blamed
//
// The client blocks (PeerBlocker.BlockPeer, and never asks again) a peer
// whose answer is provably wrong: a broken frame or message, an oversized
// length prefix, a header that does not decode, more headers than asked,
// fewer without the final NOT_FOUND, a header outside the range asked or
// for another hash, of another chain ID, failing Validate, or not chaining
// to the verified headers before it (which catches a chain with the same
// ID but other validators). It does not block for what may be the network
// or our own state: timeouts and stalls, RATE_LIMITED, NOT_FOUND, headers
// "from the future" (our clock), header.ErrNotEnoughTrust on a
// non-adjacent head (the validator set changed since our trusted header),
// and disagreement among trusted peers (the client cannot tell who is
// right, so it reports a *DisagreementError instead of choosing).
//
// # Defaults
//
// Server, per peer: DefaultMaxStreamsPerPeer (16) concurrent streams and a
// token bucket of DefaultPeerRate (100) requests a second with bursts of
// DefaultPeerBurst (200); DefaultReadTimeout (1 s) to read a request, or
// the stream is reset; DefaultWriteTimeout (30 s) to write a response.
// There is no limit over all peers yet. Client:
// DefaultRequestTimeout (15 s) per request, DefaultParallelism (8)
// requests in flight, so a 512-header range goes out at once. The
// constants' comments give the reasons.
package exchange
