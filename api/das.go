package api

import (
	"context"

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

// DASModule is the "das" RPC module (both methods read).
type DASModule struct {
	svc DASService
}

// dasMethods is the das module's table (see rpcTable).
var dasMethods = rpcTable{namespace: "das", methods: map[string]rpcMethod{
	"SamplingStats": {perm: PermRead},
	"WaitCatchUp":   {perm: PermRead},
}}

func (*DASModule) rpcTable() *rpcTable { return &dasMethods }

// NewDASModule returns the das module over svc.
func NewDASModule(svc DASService) *DASModule { return &DASModule{svc: svc} }

// SamplingStats (das.SamplingStats, read) returns the sampler's progress
// (celestia-node's SamplingStats fields and more).
func (m *DASModule) SamplingStats(ctx context.Context) (das.Stats, error) {
	if err := requirePerm(ctx, m); err != nil {
		return das.Stats{}, err
	}
	return m.svc.Stats(), nil
}

// WaitCatchUp (das.WaitCatchUp, read) returns once the sampler has caught
// up with the network head, or the call's context ends.
func (m *DASModule) WaitCatchUp(ctx context.Context) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	return m.svc.WaitCatchUp(ctx)
}
