package das

import "errors"

// Errors.
var (
	// ErrUnavailable is what a Getter wraps when no peer serves a sample,
	// and what Result reports for a height whose samples did not all
	// verify within the sample timeout.
	ErrUnavailable = errors.New("das: data unavailable")
	// ErrInvalidSample is wrapped when a sample from the Getter does not
	// verify against the header's DAH at the coordinates asked for.
	ErrInvalidSample = errors.New("das: invalid sample")
	// ErrNotSampled is returned by Result for a height the DASer has no
	// result for: not sampled yet, outside the sampling window (skipped or
	// pruned), or below the sampling start.
	ErrNotSampled = errors.New("das: height not sampled")
	// ErrInvalidOptions is wrapped by New for out-of-range Options.
	ErrInvalidOptions = errors.New("das: invalid options")
	// ErrStopped is returned by Start after Stop, and by WaitCatchUp once
	// the DASer has stopped.
	ErrStopped = errors.New("das: stopped")
	// ErrBadEncoding is returned by WaitCatchUp once the DASer halts on a
	// bad-encoding proof, its own or that of Options.Halt (see
	// DASer.BadEncoding): it checks no more heights, so it will not catch
	// up.
	ErrBadEncoding = errors.New("das: bad encoding proven")
)
