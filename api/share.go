package api

import (
	"context"

	"github.com/datamesh/mesh-node/share"
)

// ShareModule is the "share" namespace of the JSON-RPC API: celestia-node's
// share module (SharesAvailable, GetShare, GetSamples, GetEDS, GetRow,
// GetNamespaceData, GetRange, with its parameters and JSON shapes), every
// method requiring the read permission. Its exported methods are exactly
// the RPC methods; Go callers without a token use Shares directly. Once the
// node halts on a bad-encoding proof (ModuleOptions.Halt), every method
// refuses the heights at and above the proven block with the halt's error,
// before it fetches anything.
type ShareModule struct {
	s    *Shares
	lim  *Limiter
	halt Halt
}

// shareMethods is the share module's table (see rpcTable).
var shareMethods = rpcTable{namespace: "share", methods: map[string]rpcMethod{
	"SharesAvailable":  {perm: PermRead},
	"GetShare":         {perm: PermRead},
	"GetSamples":       {perm: PermRead, cost: costHeavy},
	"GetEDS":           {perm: PermRead, cost: costEDS},
	"GetRow":           {perm: PermRead, cost: costHeavy},
	"GetNamespaceData": {perm: PermRead, cost: costHeavy},
	"GetRange":         {perm: PermRead, cost: costHeavy},
}}

func (*ShareModule) rpcTable() *rpcTable { return &shareMethods }

// NewShareModule returns the share module over s. opts.Limiter bounds its
// heavy calls (GetEDS, GetRow, GetSamples, GetNamespaceData, GetRange);
// opts.Halt refuses the heights a bad-encoding proof covers.
func NewShareModule(s *Shares, opts ModuleOptions) *ShareModule {
	return &ShareModule{s: s, lim: opts.Limiter, halt: checkHalt(opts.Halt)}
}

// SharesAvailable returns nil when the square at height is available
// (Shares.SharesAvailable).
func (m *ShareModule) SharesAvailable(ctx context.Context, height uint64) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	if err := haltErr(m.halt, height); err != nil {
		return err
	}
	return m.s.SharesAvailable(ctx, height)
}

// GetShare returns the share at (row, col) of the square at height
// (Shares.GetShare).
func (m *ShareModule) GetShare(ctx context.Context, height uint64, row, col int) (Share, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := haltErr(m.halt, height); err != nil {
		return nil, err
	}
	return m.s.GetShare(ctx, height, row, col)
}

// GetSamples returns the samples at indices of the square at height, with
// their proofs (Shares.GetSamples).
func (m *ShareModule) GetSamples(ctx context.Context, height uint64, indices []SampleCoords) ([]Sample, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	return m.s.GetSamples(ctx, height, indices)
}

// GetEDS returns the extended square at height (Shares.GetEDS). Its JSON
// is encoded once for the calls of that height in flight at once and held
// until their responses have been sent.
func (m *ShareModule) GetEDS(ctx context.Context, height uint64) (*ExtendedDataSquare, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	e, release, err := m.s.encodedEDS(ctx, height)
	if err != nil {
		return nil, err
	}
	defer untilWritten(ctx, release)()
	return e, nil
}

// GetRow returns row row of the square at height (Shares.GetRow).
func (m *ShareModule) GetRow(ctx context.Context, height uint64, row int) (Row, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return Row{}, err
	}
	defer done()
	return m.s.GetRow(ctx, height, row)
}

// GetNamespaceData returns the data of namespace in the square at height
// (Shares.GetNamespaceData).
func (m *ShareModule) GetNamespaceData(ctx context.Context, height uint64, namespace share.Namespace) (NamespaceData, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	return m.s.GetNamespaceData(ctx, height, namespace)
}

// GetRange returns the shares [from, to) of the original square at height
// with their proof to the data root (Shares.GetRange).
func (m *ShareModule) GetRange(ctx context.Context, height uint64, from, to int) (*GetRangeResult, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	return m.s.GetRange(ctx, height, from, to)
}
