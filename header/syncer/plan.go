package syncer

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/header"
)

// plan is the syncer's state machine: the stored head, the highest verified
// network head known (the target) and what to do next. It does no I/O and
// keeps no clock; the Syncer calls it under its lock.
type plan struct {
	batch  uint64
	head   *header.ExtendedHeader // the store's head
	target *header.ExtendedHeader // highest head known; nil before the first
	// verified is whether target was verified (against the head, by the
	// exchange or Incoming). An unverified target is one the exchange's
	// trusted peers agree on that our head's validators could not vouch
	// for: the sync still goes there, verifying every header adjacently.
	verified bool
}

// errTargetNotOnChain is returned by appended when the chain verified
// adjacently does not hold an unverified target: its peers were wrong,
// not the chain. The syncer logs it and carries on.
var errTargetNotOnChain = errors.New("syncer: the trusted peers' head is not on the verified chain")

// next returns the last height of the next range to request, from
// head+1: at most batch headers, not beyond the target. ok is false when
// there is nothing to request (no target yet, or head at the target).
func (p *plan) next() (to uint64, ok bool) {
	if p.target == nil || p.target.Height() <= p.head.Height() {
		return 0, false
	}
	return min(p.target.Height(), p.head.Height()+p.batch), true
}

// synced reports whether a target is known and the head has reached it.
func (p *plan) synced() bool {
	return p.target != nil && p.head.Height() >= p.target.Height()
}

// raise makes h the target if it is higher than the current one; verified
// says whether h was verified. At the target's height, a verified h
// replaces an unverified target; ErrFork if both were verified and differ:
// they cannot both be the chain's.
func (p *plan) raise(h *header.ExtendedHeader, verified bool) (raised bool, err error) {
	switch {
	case p.target == nil || h.Height() > p.target.Height():
		p.target, p.verified = h, verified
		return true, nil
	case h.Height() < p.target.Height():
		return false, nil
	case bytes.Equal(h.Hash(), p.target.Hash()):
		p.verified = p.verified || verified
		return false, nil
	case verified && !p.verified:
		p.target, p.verified = h, true
		return true, nil
	case verified:
		return false, fmt.Errorf("%w: height %d: target %X, new head %X", ErrFork, h.Height(), p.target.Hash(), h.Hash())
	}
	return false, nil
}

// appended moves the head to the last of hs, which the store just
// appended above the head. If they pass the target's height, the header
// there must be the target: else ErrFork for a verified target,
// errTargetNotOnChain for an unverified one (the head moves anyway: the
// store holds them). A head at or above the target becomes the target.
func (p *plan) appended(hs []*header.ExtendedHeader) error {
	if len(hs) == 0 {
		return nil
	}
	from := p.head.Height() + 1
	p.head = hs[len(hs)-1]
	var err error
	if p.target != nil && p.target.Height() >= from && p.target.Height() <= p.head.Height() {
		th := p.target.Height()
		if got := hs[th-from]; !bytes.Equal(got.Hash(), p.target.Hash()) {
			if p.verified {
				err = fmt.Errorf("%w: height %d: synced %X, verified head was %X", ErrFork, th, got.Hash(), p.target.Hash())
			} else {
				err = fmt.Errorf("%w: height %d: synced %X, peers agreed on %X", errTargetNotOnChain, th, got.Hash(), p.target.Hash())
			}
		}
	}
	if p.target == nil || p.head.Height() >= p.target.Height() {
		p.target, p.verified = p.head, true
	}
	return err
}

// trim drops from hs, a range fetched above trusted, the headers the head
// has since passed (appended meanwhile, from gossip). The header of hs at
// the head's height must be the head, else ErrFork.
func (p *plan) trim(trusted *header.ExtendedHeader, hs []*header.ExtendedHeader) ([]*header.ExtendedHeader, error) {
	if p.head.Height() <= trusted.Height() {
		return hs, nil
	}
	n := p.head.Height() - trusted.Height() // headers of hs at or below the head
	if n > uint64(len(hs)) {
		return nil, nil
	}
	if got := hs[n-1]; !bytes.Equal(got.Hash(), p.head.Hash()) {
		return nil, fmt.Errorf("%w: height %d: stored %X, fetched %X", ErrFork, got.Height(), p.head.Hash(), got.Hash())
	}
	return hs[n:], nil
}

// place says where an incoming header stands relative to the head.
type place int

const (
	placeKnown    place = iota // at or below the head
	placeAdjacent              // head+1: verify adjacently, append
	placeFar                   // above head+1: verify non-adjacently, raise the target
)

func placeOf(headHeight, h uint64) place {
	switch {
	case h <= headHeight:
		return placeKnown
	case h == headHeight+1:
		return placeAdjacent
	}
	return placeFar
}

// verdict is what Incoming answers after verification.
type verdict int

const (
	verdictAccept verdict = iota // forward the header
	verdictIgnore                // drop it, no penalty
	verdictReject                // drop it and penalise the sender
)

// judge maps a verification error of an incoming header to a verdict.
// Headers we cannot judge yet, or that fail for our own reasons, are
// ignored: too far from the head for the trusted validators to vouch for
// (the range sync will get there adjacently), ahead of our clock, or
// checked against our expired head. Anything else the sender should not
// have sent.
func judge(err error) verdict {
	switch {
	case err == nil:
		return verdictAccept
	case errors.Is(err, header.ErrNotEnoughTrust),
		errors.Is(err, header.ErrFromFuture),
		errors.Is(err, header.ErrExpiredTrust),
		errors.Is(err, header.ErrInvalidVerifyOptions):
		return verdictIgnore
	}
	return verdictReject
}

// fatal reports whether an error ends the sync: the node cannot go on
// without an operator.
func fatal(err error) bool {
	return errors.Is(err, header.ErrExpiredTrust) || errors.Is(err, ErrFork) || errors.Is(err, header.ErrInvalidVerifyOptions)
}
