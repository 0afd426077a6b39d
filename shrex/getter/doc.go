// Package getter fetches the shares of a block's extended square from the
// network: it implements das.Getter (GetSample) for the DASer, and GetRow,
// GetNamespaceData and GetEDS for full nodes, over a shrex.Client and a
// peers.Manager.
//
// The manager chooses whom to ask (Manager.Peers: the square's eds-sub
// announcers first, then full nodes) and the getter tells it what came of
// every request (Manager.Result):
//
//	no error                       Success
//	shrex.ErrInvalidResponse       Invalid (the manager has the peer blocked)
//	shrex.ErrNotFound              NotFound
//	shrex.ErrRateLimited           RateLimited
//	anything else                  Timeout (time limits, resets, refused
//	                               dials, INTERNAL)
//
// A request ended by the caller's context is reported to nobody and ends
// the call at once. One item is asked of up to Options.PeersPerRequest
// peers in turn; when all fail, or no peer is known for the square, the
// error wraps das.ErrUnavailable and the peers' errors. The getter never
// waits for peers to appear: its callers retry (the DASer does).
//
// Everything returned has been verified against the header given: by the
// shrex client for samples, rows, namespace data and whole squares, and by
// eds.Repair, which checks every row and column root, for a square
// reconstructed from rows and samples (see Getter.GetEDS). A square whose
// header commits to a bad encoding is reported as *eds.ErrByzantineData,
// the evidence for eds.NewBadEncodingProof, not as unavailable.
//
// Wiring, with a started p2p node and the manager fed by eds-sub (see
// package peers):
//
//	c, err := shrex.NewClient(node.Host(), network, shrex.WithLogger(log))
//	g, err := getter.New(c, manager, getter.Options{Logger: log})
//	d, err := das.New(headers, g, dasOpts) // g is the das.Getter
//
// A Getter has no goroutines of its own outside its calls, so it has no
// Start or Stop.
package getter
