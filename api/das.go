package api

import (
	"context"
	"errors"

	"github.com/datamesh/mesh-node/das"
)

// DASService is what the das module serves: a *das.DASer.
type DASService interface {
	// Stats returns the sampler's progress.
	Stats() das.Stats
	// WaitCatchUp returns once the sampler has caught up with the network
	// head known when it was called.
	WaitCatchUp(ctx context.Context) error
}

// DASModule is the "das" RPC module (both methods read). Once the node
// halts on a bad-encoding proof (ModuleOptions.Halt), WaitCatchUp is
// refused with the halt's error (the sampler will not reach the head),
// while SamplingStats keeps answering and names the proof.
type DASModule struct {
	svc  DASService
	halt Halt
}

// dasMethods is the das module's table (see rpcTable).
var dasMethods = rpcTable{namespace: "das", methods: map[string]rpcMethod{
	"SamplingStats": {perm: PermRead},
	"WaitCatchUp":   {perm: PermRead},
}}

func (*DASModule) rpcTable() *rpcTable { return &dasMethods }

// NewDASModule returns the das module over svc, halting with the Halt of
// opts (at most one; its Limiter is unused: das has no heavy call).
func NewDASModule(svc DASService, opts ModuleOptions) *DASModule {
	return &DASModule{svc: svc, halt: checkHalt(opts.Halt)}
}

// SamplingStats (das.SamplingStats, read) returns the sampler's progress
// (celestia-node's SamplingStats fields and more).
func (m *DASModule) SamplingStats(ctx context.Context) (das.Stats, error) {
	if err := requirePerm(ctx, m); err != nil {
		return das.Stats{}, err
	}
	return m.svc.Stats(), nil
}

// WaitCatchUp (das.WaitCatchUp, read) returns once the sampler has caught
// up with the network head, or the call's context ends. On a halted node
// it returns the halt's error, also when the node halts while it waits.
func (m *DASModule) WaitCatchUp(ctx context.Context) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	if err := haltAny(m.halt); err != nil {
		return err
	}
	err := m.svc.WaitCatchUp(ctx)
	if errors.Is(err, das.ErrBadEncoding) {
		if herr := haltAny(m.halt); herr != nil {
			return herr
		}
	}
	return err
}
