// Package api is mesh-node's JSON-RPC 2.0 API over HTTP and WebSocket
// (port 26658): the blob, header, share, das, state, p2p and node modules
// with celestia-node's method names, parameter order, JSON shapes and
// error strings, so clients written for celestia-node work unchanged.
// Calls carry a JWT (HS256) whose permissions (read, write, admin) each
// method checks. The modules are thin: they call the domain packages
// through interfaces this package declares, which nodebuilder fills.
package api
