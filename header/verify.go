package header

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	cmttypes "github.com/cometbft/cometbft/types"
)

// Errors returned by Verify, besides those of Validate.
var (
	// ErrChainIDMismatch is wrapped when the untrusted header is of another chain.
	ErrChainIDMismatch = errors.New("header: chain ID mismatch")
	// ErrNonIncreasingHeight is wrapped when the untrusted header is not
	// above the trusted one, or its time is not after the trusted header's.
	ErrNonIncreasingHeight = errors.New("header: height not above the trusted header")
	// ErrHeightGap is wrapped by VerifyAdjacent, and by stores, when a header
	// is not the one directly above the trusted (or stored) head.
	ErrHeightGap = errors.New("header: height gap")
	// ErrNotAdjacent is wrapped when an adjacent header does not chain to the
	// trusted one: its LastBlockID is not the trusted block.
	ErrNotAdjacent = errors.New("header: does not chain to the trusted header")
	// ErrExpiredTrust is wrapped when the trusted header is older than the
	// trusting period: it can no longer vouch for anything.
	ErrExpiredTrust = errors.New("header: trusted header expired")
	// ErrFromFuture is wrapped when the untrusted header's time is beyond now
	// plus the allowed clock drift.
	ErrFromFuture = errors.New("header: header from the future")
	// ErrNotEnoughTrust is wrapped when, for a non-adjacent header, the
	// validators of the trusted header that signed it hold no more than the
	// trust level of the trusted set's power.
	ErrNotEnoughTrust = errors.New("header: not enough trusted validators signed")
	// ErrInvalidVerifyOptions is wrapped when VerifyOptions are out of range.
	ErrInvalidVerifyOptions = errors.New("header: invalid verify options")
)

// Defaults of VerifyOptions.
const (
	DefaultTrustingPeriod = 14 * 24 * time.Hour
	DefaultMaxClockDrift  = 10 * time.Second
)

// DefaultTrustLevel returns the fraction of the trusted validator set's
// power that must sign a non-adjacent header: 1/3, so at least one honest
// validator vouches for it. (A function, not a variable: no package state.)
func DefaultTrustLevel() cmtmath.Fraction { return cmtmath.Fraction{Numerator: 1, Denominator: 3} }

// VerifyOptions parameterise Verify. The zero value means the defaults.
type VerifyOptions struct {
	// TrustingPeriod is how long a trusted header stays trusted after its
	// block time. Zero means DefaultTrustingPeriod.
	TrustingPeriod time.Duration
	// MaxClockDrift is how far into the future (relative to Now) an
	// untrusted header's time may be. Zero means DefaultMaxClockDrift.
	MaxClockDrift time.Duration
	// TrustLevel is the fraction of the trusted validator set's power that
	// a non-adjacent header's signers must exceed (strictly, as in CometBFT,
	// so 1 can never be met), in [1/3, 1], with a denominator up to 2^31-1.
	// Zero means DefaultTrustLevel.
	TrustLevel cmtmath.Fraction
	// Now is the current time. Zero means time.Now().
	Now time.Time
}

func (o VerifyOptions) withDefaults() (VerifyOptions, error) {
	if o.TrustingPeriod == 0 {
		o.TrustingPeriod = DefaultTrustingPeriod
	}
	if o.MaxClockDrift == 0 {
		o.MaxClockDrift = DefaultMaxClockDrift
	}
	if o.TrustLevel == (cmtmath.Fraction{}) {
		o.TrustLevel = DefaultTrustLevel()
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.TrustingPeriod < 0 || o.MaxClockDrift < 0 {
		return o, fmt.Errorf("%w: negative duration", ErrInvalidVerifyOptions)
	}
	if l := o.TrustLevel; l.Denominator == 0 || l.Denominator > math.MaxInt32 || l.Numerator*3 < l.Denominator || l.Numerator > l.Denominator {
		return o, fmt.Errorf("%w: trust level %v is not in [1/3, 1]", ErrInvalidVerifyOptions, l)
	}
	return o, nil
}

// Verify checks untrusted against trusted, a header the caller already
// trusts (it must have passed Validate, and Verify against its own
// predecessor or be the caller's trust root). It makes the checks of
// cometbft's light.VerifyAdjacent and light.VerifyNonAdjacent, on the same
// primitives of cometbft/types (the light package itself is not imported: it
// links the RPC client, p2p and a database), each with its own sentinel:
//
//   - same chain ID (ErrChainIDMismatch); a greater height and a later time
//     (ErrNonIncreasingHeight);
//   - trusted is within opts.TrustingPeriod of opts.Now (ErrExpiredTrust);
//     untrusted is not beyond opts.Now + opts.MaxClockDrift (ErrFromFuture);
//   - untrusted.Validate() passes (its errors above);
//   - adjacent (untrusted.Height == trusted.Height+1): untrusted's validators
//     are trusted's NextValidatorsHash (ErrValidatorSetMismatch) and its
//     LastBlockID is trusted's block (ErrNotAdjacent);
//   - non-adjacent: validators of trusted.ValidatorSet holding more than
//     opts.TrustLevel of its power signed untrusted (ErrNotEnoughTrust), as
//     did more than 2/3 of untrusted's own set (ErrInvalidCommit).
func Verify(trusted, untrusted *ExtendedHeader, opts VerifyOptions) error {
	return verify(trusted, untrusted, opts, false)
}

// The checks run in that order and the first failure is returned: a header
// with several faults reports the first. Nothing is cached: a header that
// passes Verify is validated again by the next call that is given it.
//
// VerifyAdjacent is Verify for a header that must be the one directly above
// trusted: a sync that fetched height h+1 uses it to reject any other height
// above trusted with ErrHeightGap, before its time and signatures.
func VerifyAdjacent(trusted, untrusted *ExtendedHeader, opts VerifyOptions) error {
	return verify(trusted, untrusted, opts, true)
}

func verify(trusted, untrusted *ExtendedHeader, opts VerifyOptions, adjacentOnly bool) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if trusted == nil || trusted.Commit == nil || trusted.ValidatorSet == nil {
		return fmt.Errorf("%w: incomplete trusted header", ErrInvalidHeader)
	}
	if untrusted == nil {
		return fmt.Errorf("%w: nil header", ErrInvalidHeader)
	}
	// The cheap checks first, so a peer cannot make us verify signatures of
	// a header we would reject anyway.
	if untrusted.ChainID() != trusted.ChainID() {
		return fmt.Errorf("%w: trusted %q, got %q", ErrChainIDMismatch, trusted.ChainID(), untrusted.ChainID())
	}
	if untrusted.RawHeader.Height <= trusted.RawHeader.Height {
		return fmt.Errorf("%w: height %d, trusted %d", ErrNonIncreasingHeight, untrusted.RawHeader.Height, trusted.RawHeader.Height)
	}
	if adjacentOnly && untrusted.RawHeader.Height != trusted.RawHeader.Height+1 {
		return fmt.Errorf("%w: height %d after trusted %d", ErrHeightGap, untrusted.RawHeader.Height, trusted.RawHeader.Height)
	}
	if !untrusted.Time().After(trusted.Time()) {
		return fmt.Errorf("%w: time %v is not after trusted %v", ErrNonIncreasingHeight, untrusted.Time(), trusted.Time())
	}
	if expires := trusted.Time().Add(opts.TrustingPeriod); !expires.After(opts.Now) {
		return fmt.Errorf("%w: height %d expired at %v, now %v", ErrExpiredTrust, trusted.RawHeader.Height, expires, opts.Now)
	}
	if limit := opts.Now.Add(opts.MaxClockDrift); !untrusted.Time().Before(limit) {
		return fmt.Errorf("%w: time %v, now %v, max drift %v", ErrFromFuture, untrusted.Time(), opts.Now, opts.MaxClockDrift)
	}
	if err := untrusted.Validate(); err != nil {
		return err
	}

	if untrusted.RawHeader.Height == trusted.RawHeader.Height+1 {
		if !bytes.Equal(untrusted.RawHeader.ValidatorsHash, trusted.RawHeader.NextValidatorsHash) {
			return fmt.Errorf("%w: validators %X, trusted header's next validators %X",
				ErrValidatorSetMismatch, untrusted.RawHeader.ValidatorsHash, trusted.RawHeader.NextValidatorsHash)
		}
		if !untrusted.RawHeader.LastBlockID.Equals(trusted.Commit.BlockID) {
			return fmt.Errorf("%w: last block %v, trusted block %v", ErrNotAdjacent, untrusted.RawHeader.LastBlockID, trusted.Commit.BlockID)
		}
		// untrusted's own set signed it: Validate checked that.
		return nil
	}
	// Non-adjacent: the trusted set vouches for the new one through the
	// signatures of its members that are still validators. Validate already
	// checked +2/3 of untrusted's own set.
	err = trusted.ValidatorSet.VerifyCommitLightTrustingAllSignatures(trusted.ChainID(), untrusted.Commit, opts.TrustLevel)
	var notEnough cmttypes.ErrNotEnoughVotingPowerSigned
	switch {
	case errors.As(err, &notEnough):
		return fmt.Errorf("%w: height %d from trusted %d: %w", ErrNotEnoughTrust, untrusted.RawHeader.Height, trusted.RawHeader.Height, err)
	case err != nil:
		return fmt.Errorf("%w: height %d against trusted validators of %d: %w", ErrInvalidCommit, untrusted.RawHeader.Height, trusted.RawHeader.Height, err)
	}
	return nil
}
