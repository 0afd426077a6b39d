package syncer

import (
	"errors"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/header"
)

// Errors.
var (
	// ErrTrustExpired is wrapped when the header the syncer would verify
	// from (the stored head, or the trusted header Init fetched) is older
	// than the trusting period: nothing the network serves can be verified
	// from it, and the node must be re-initialised from a recent trusted
	// hash. errors.Is(err, header.ErrExpiredTrust) holds for it too.
	ErrTrustExpired = errors.New("syncer: trust expired")
	// ErrFork is wrapped when the syncer finds two verified headers at one
	// height: the chain it synced does not contain a head it had verified
	// (from gossip or the exchange). The syncer stops: either the trusted
	// validators equivocated or the node was given a bad trusted hash.
	ErrFork = errors.New("syncer: conflicting verified headers (fork)")
	// ErrNotInitialised is returned by Start when the store is empty: run
	// Init first.
	ErrNotInitialised = errors.New("syncer: store has no head; run Init first")
	// ErrTrustMismatch is wrapped by Init when the trusted hash and height
	// disagree with each other or with the store.
	ErrTrustMismatch = errors.New("syncer: trusted header mismatch")
	// ErrInvalidOptions is wrapped by New and Init for out-of-range Options.
	ErrInvalidOptions = errors.New("syncer: invalid options")
	// ErrStopped is returned by Start after Stop, and by SyncWait once the
	// syncer has stopped without error.
	ErrStopped = errors.New("syncer: stopped")
)

// TrustExpiredError says which header expired and how to recover. It
// matches ErrTrustExpired and header.ErrExpiredTrust with errors.Is.
type TrustExpiredError struct {
	// What names the header: "stored head" or "trusted header".
	What           string
	Height         uint64
	Time           time.Time
	TrustingPeriod time.Duration
	// Err is the verification error that found it, if any.
	Err error
}

func (e *TrustExpiredError) Error() string {
	msg := fmt.Sprintf("syncer: %s at height %d (time %s) is older than the trusting period %v; "+
		"the node cannot verify the chain from it: re-initialise with a recent trusted hash "+
		"(set header.trusted_hash in config.toml and remove <home>/data)",
		e.What, e.Height, e.Time.UTC().Format(time.RFC3339), e.TrustingPeriod)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrTrustExpired or header.ErrExpiredTrust.
func (e *TrustExpiredError) Is(target error) bool {
	return target == ErrTrustExpired || target == header.ErrExpiredTrust
}

// Unwrap returns the verification error, if any.
func (e *TrustExpiredError) Unwrap() error { return e.Err }
