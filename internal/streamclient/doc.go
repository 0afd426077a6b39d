// Package streamclient is the client half of a libp2p request-response
// exchange, as header-ex and shrex run it; internal/streamserver is the
// server half. What a request and a response are is the caller's: it
// hands Client.Do the bytes of the request and a ReadFunc that reads and
// checks the response.
//
// Do owns the life of one stream, in this order:
//
//  1. open a stream to the peer for the first of the request's protocols
//     the peer speaks;
//  2. attach it to the resource-manager service of the Client's Config;
//  3. set the stream's deadline to the context's (bounded by the request's
//     Timeout, if any), and reset the stream if the context is cancelled
//     before that;
//  4. reserve the read buffer in the stream's scope, so that a node out of
//     memory does not ask for what it could not read;
//  5. write the request whole and close the write side;
//  6. hand the ReadFunc a reader buffered in that reservation, and the
//     stream's scope for any further reservations of its own;
//  7. release the reservation, then close the stream after a nil error
//     from every step, or reset it after any error. Close and Reset errors
//     are logged at debug level, never returned over a good response.
//
// When Do returns, no goroutine it started is left and the stream is
// closed or reset.
//
// Errors are prefixed with the Config's Name. A read error that is the
// peer's fault (it wraps Config.Fault) is returned as it is; any other read
// error that comes from the context ending, or from the stream deadline
// set from it, wraps the context's error as well (context.Canceled or
// context.DeadlineExceeded), so the caller can tell a slow or refused
// exchange from a lying peer.
package streamclient
