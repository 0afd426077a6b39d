package getter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/peers"
)

// Defaults of Options.
const (
	// DefaultPeersPerRequest is how many peers are asked, one after the
	// other, for one sample, row or namespace, and for the whole square
	// before GetEDS reconstructs it.
	DefaultPeersPerRequest = 4
	// DefaultReconstructionPeers is how many peers GetEDS spreads the
	// requests of a reconstruction over.
	DefaultReconstructionPeers = 16
	// DefaultParallel is how many rows or samples a reconstruction fetches
	// at once.
	DefaultParallel = 8
	// DefaultSamplePeers is how many peers GetSamples spreads one call's
	// cells over, one samples request each: two streams a header instead
	// of one sample stream per cell, and no single peer learns all of a
	// header's coordinates or serves all of a light node's load.
	DefaultSamplePeers = 2
)

// ErrInvalidOptions is wrapped by New for Options it cannot use.
var ErrInvalidOptions = errors.New("getter: invalid options")

// Options configure a Getter. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// Logger; the default discards.
	Logger *slog.Logger
	// PeersPerRequest: DefaultPeersPerRequest when zero.
	PeersPerRequest int
	// ReconstructionPeers: DefaultReconstructionPeers when zero. It is
	// raised to PeersPerRequest when lower.
	ReconstructionPeers int
	// Parallel: DefaultParallel when zero.
	Parallel int
	// SamplePeers: DefaultSamplePeers when zero.
	SamplePeers int
	// AttemptTimeout bounds one request to one peer, on top of the
	// client's own time limit (which grows with the response's size).
	// Zero leaves only the client's limit.
	AttemptTimeout time.Duration
}

// Getter fetches shares of a block's extended square from the peers the
// peer manager offers for it, verified against the header it is given
// (by the shrex client, or by eds.Repair), and reports to the manager what
// came of every request. Its methods are safe for concurrent use, and
// everything they return is owned by the caller.
type Getter struct {
	client *shrex.Client
	peers  *peers.Manager
	log    *slog.Logger
	opts   Options
}

var _ das.Getter = (*Getter)(nil)

// New returns a Getter asking through client the peers that m offers.
// It does no I/O. It returns an error wrapping ErrInvalidOptions for a nil
// client or manager, or a negative option.
func New(client *shrex.Client, m *peers.Manager, opts Options) (*Getter, error) {
	if client == nil || m == nil {
		return nil, fmt.Errorf("%w: New needs a client and a peer manager", ErrInvalidOptions)
	}
	if opts.PeersPerRequest < 0 || opts.ReconstructionPeers < 0 || opts.Parallel < 0 || opts.AttemptTimeout < 0 || opts.SamplePeers < 0 {
		return nil, fmt.Errorf("%w: negative value in %+v", ErrInvalidOptions, opts)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PeersPerRequest == 0 {
		opts.PeersPerRequest = DefaultPeersPerRequest
	}
	if opts.ReconstructionPeers == 0 {
		opts.ReconstructionPeers = DefaultReconstructionPeers
	}
	opts.ReconstructionPeers = max(opts.ReconstructionPeers, opts.PeersPerRequest)
	if opts.Parallel == 0 {
		opts.Parallel = DefaultParallel
	}
	if opts.SamplePeers == 0 {
		opts.SamplePeers = DefaultSamplePeers
	}
	return &Getter{client: client, peers: m, log: opts.Logger, opts: opts}, nil
}

// GetSample returns the share at (row, col) of the extended square of h
// with its proof, verified against h.DAH. It asks up to PeersPerRequest
// peers in turn; when none serves the cell, or no peer is known for the
// square, the error wraps das.ErrUnavailable (and the peers' errors).
// It does not wait for peers to appear: the DASer retries.
func (g *Getter) GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	if w := 2 * h.DAH.SquareSize(); row < 0 || row >= w || col < 0 || col >= w {
		return nil, fmt.Errorf("getter: sample (%d, %d) of a square of width %d: %w", row, col, w, eds.ErrOutOfRange)
	}
	var smp *eds.Sample
	err := g.fetch(ctx, h, fmt.Sprintf("sample (%d, %d)", row, col), func(ctx context.Context, p peer.ID) (err error) {
		smp, err = g.client.GetSample(ctx, p, h, row, col)
		return err
	})
	return smp, err
}

// GetRow returns the 2k shares of row row of the extended square of h,
// verified against its root, in one new buffer. Peers and errors are as
// for GetSample.
func (g *Getter) GetRow(ctx context.Context, h *header.ExtendedHeader, row int) ([][]byte, error) {
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	if w := 2 * h.DAH.SquareSize(); row < 0 || row >= w {
		return nil, fmt.Errorf("getter: row %d of a square of width %d: %w", row, w, eds.ErrOutOfRange)
	}
	var shares [][]byte
	err := g.fetch(ctx, h, fmt.Sprintf("row %d", row), func(ctx context.Context, p peer.ID) (err error) {
		shares, err = g.client.GetRow(ctx, p, h, row)
		return err
	})
	return shares, err
}

// GetNamespaceData returns all the shares of ns in the square of h with
// their proofs, verified to be complete: one entry per row
// eds.RowsWithNamespace names. When no row may hold ns it returns an empty
// result without asking anyone. An invalid namespace, or the parity
// namespace, is the caller's error (eds.ErrInvalidID). Peers and errors are
// as for GetSample.
func (g *Getter) GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	if err := (shrex.NamespaceDataID{Height: h.Height(), Namespace: ns}).Validate(); err != nil {
		return nil, fmt.Errorf("getter: namespace data: %w", err)
	}
	if len(eds.RowsWithNamespace(h.DAH, ns)) == 0 {
		return eds.NamespaceData{}, nil
	}
	var nd eds.NamespaceData
	err := g.fetch(ctx, h, "namespace data", func(ctx context.Context, p peer.ID) (err error) {
		nd, err = g.client.GetNamespaceData(ctx, p, h, ns)
		return err
	})
	return nd, err
}

// checkHeader rejects a header the client would reject, so that the
// caller's mistake is never blamed on a peer.
func checkHeader(h *header.ExtendedHeader) error {
	if h == nil || h.DAH == nil {
		return errors.New("getter: no header")
	}
	if err := h.DAH.ValidateBasic(); err != nil {
		return fmt.Errorf("getter: header at height %d: %w", h.Height(), err)
	}
	return nil
}

// fetch asks up to PeersPerRequest peers the manager offers for h's square,
// one after the other, until get succeeds.
func (g *Getter) fetch(ctx context.Context, h *header.ExtendedHeader, what string, get func(context.Context, peer.ID) error) error {
	return g.fetchFrom(ctx, h, what, 0, get)
}

// fetchFrom is fetch starting with the candidate at index first (modulo
// their number) and going round.
func (g *Getter) fetchFrom(ctx context.Context, h *header.ExtendedHeader, what string, first int, get func(context.Context, peer.ID) error) error {
	cands := g.peers.Peers(h.Height(), h.DataRoot(), g.opts.PeersPerRequest)
	if len(cands) > 1 && first > 0 {
		first %= len(cands)
		cands = append(cands[first:], cands[:first]...)
	}
	if len(cands) == 0 {
		return fmt.Errorf("getter: %s at height %d: no peer to ask: %w", what, h.Height(), das.ErrUnavailable)
	}
	var errs []error
	for _, p := range cands {
		err := g.attempt(ctx, h, p, get)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ended(ctx, fmt.Sprintf("%s at height %d", what, h.Height()), err)
		}
		errs = append(errs, err)
	}
	return unavailable(what, h, len(cands), errs)
}

// ended returns the error of a request that the end of ctx interrupted:
// it wraps ctx.Err(), which the client's error may not (a stream reset
// under it fails in many ways).
func ended(ctx context.Context, what string, err error) error {
	if errors.Is(err, ctx.Err()) {
		return fmt.Errorf("getter: %s: %w", what, err)
	}
	return fmt.Errorf("getter: %s: %w (%w)", what, ctx.Err(), err)
}

func unavailable(what string, h *header.ExtendedHeader, asked int, errs []error) error {
	return fmt.Errorf("getter: %s at height %d: %d peers failed: %w: %w", what, h.Height(), asked, das.ErrUnavailable, errors.Join(errs...))
}

// attempt asks p once and reports the outcome to the manager, unless the
// caller's ctx ended: a cancelled request is nobody's fault.
func (g *Getter) attempt(ctx context.Context, h *header.ExtendedHeader, p peer.ID, get func(context.Context, peer.ID) error) error {
	actx := ctx
	if g.opts.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, g.opts.AttemptTimeout)
		defer cancel()
	}
	err := get(actx, p)
	if err != nil && ctx.Err() != nil {
		return err
	}
	o := outcome(err)
	if o == peers.Invalid {
		g.log.Warn("getter: peer sent invalid data", "peer", p, "height", h.Height(), "err", err)
	} else if err != nil {
		g.log.Debug("getter: request failed", "peer", p, "height", h.Height(), "outcome", o, "err", err)
	}
	g.peers.Result(h.Height(), h.DataRoot(), p, o)
	return err
}

// outcome classifies the error of one request. Errors that are neither a
// status nor a fault (a reset, a refused dial, an unsupported protocol, a
// time limit, INTERNAL) count as a Timeout: the peer is cooled down, not
// blamed.
func outcome(err error) peers.Outcome {
	switch {
	case err == nil:
		return peers.Success
	case errors.Is(err, shrex.ErrInvalidResponse):
		return peers.Invalid
	case errors.Is(err, shrex.ErrNotFound):
		return peers.NotFound
	case errors.Is(err, shrex.ErrRateLimited):
		return peers.RateLimited
	default:
		return peers.Timeout
	}
}
