package p2p

import "errors"

// Errors returned by this package; match them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("p2p: invalid config")
	// ErrBadIdentity is wrapped when the identity file exists but does not
	// hold an Ed25519 private key in libp2p's encoding. The file is left
	// as it is.
	ErrBadIdentity = errors.New("p2p: bad identity file")
	// ErrStopped is returned by Start after Stop.
	ErrStopped = errors.New("p2p: node stopped")
)
