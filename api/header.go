package api

import (
	"context"
	"errors"

	"github.com/datamesh/mesh-node/header"
)

// HeaderModule is the "header" namespace of the JSON-RPC API:
// celestia-node's header module (method names, parameters, results and
// errors), every method requiring the read permission. It is what the
// server registers; its exported methods are exactly the RPC methods.
// Go callers without a token use Headers directly.
type HeaderModule struct {
	h *Headers
}

// headerMethods is the header module's table (see rpcTable).
var headerMethods = rpcTable{namespace: "header", methods: map[string]rpcMethod{
	"LocalHead":        {perm: PermRead},
	"NetworkHead":      {perm: PermRead},
	"GetByHeight":      {perm: PermRead},
	"GetByHash":        {perm: PermRead},
	"GetRangeByHeight": {perm: PermRead},
	"WaitForHeight":    {perm: PermRead},
	"SyncState":        {perm: PermRead},
	"SyncWait":         {perm: PermRead},
	"Tail":             {perm: PermRead},
	"Subscribe":        {perm: PermRead},
}}

func (*HeaderModule) rpcTable() *rpcTable { return &headerMethods }

// NewHeaderModule returns the header module over h.
func NewHeaderModule(h *Headers) *HeaderModule {
	return &HeaderModule{h: h}
}

// LocalHead returns the node's stored head.
func (m *HeaderModule) LocalHead(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.LocalHead(ctx)
}

// NetworkHead returns the network head (Headers.NetworkHead).
func (m *HeaderModule) NetworkHead(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.NetworkHead(ctx)
}

// GetByHeight returns the header at height (Headers.GetByHeight).
func (m *HeaderModule) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.GetByHeight(ctx, height)
}

// GetByHash returns the header of hash (Headers.GetByHash).
func (m *HeaderModule) GetByHash(ctx context.Context, hash Hash) (*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.GetByHash(ctx, hash)
}

// GetRangeByHeight returns the headers above from below to
// (Headers.GetRangeByHeight). from is any extended header's JSON,
// celestia-node's or mesh-node's, read as a HeaderRef: it must name the
// node's header at its height (Headers.Resolve), from which the range
// starts.
func (m *HeaderModule) GetRangeByHeight(ctx context.Context, from *HeaderRef, to uint64) ([]*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if from == nil {
		return nil, errors.New("api: GetRangeByHeight needs the header to start from")
	}
	start, err := m.h.Resolve(ctx, *from)
	if err != nil {
		return nil, err
	}
	return m.h.GetRangeByHeight(ctx, start, to)
}

// WaitForHeight waits for the header at height (Headers.WaitForHeight).
func (m *HeaderModule) WaitForHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.WaitForHeight(ctx, height)
}

// SyncState returns the sync state (Headers.SyncState).
func (m *HeaderModule) SyncState(ctx context.Context) (SyncState, error) {
	if err := requirePerm(ctx, m); err != nil {
		return SyncState{}, err
	}
	return m.h.SyncState(ctx)
}

// SyncWait returns once the node is synced (Headers.SyncWait).
func (m *HeaderModule) SyncWait(ctx context.Context) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	return m.h.SyncWait(ctx)
}

// Tail returns the oldest header the node stores (Headers.Tail): headers
// below it, and their data, are not served.
func (m *HeaderModule) Tail(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.Tail(ctx)
}

// Subscribe streams new headers in height order until ctx ends
// (Headers.Subscribe); over JSON-RPC it needs a WebSocket connection.
func (m *HeaderModule) Subscribe(ctx context.Context) (<-chan *header.ExtendedHeader, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.h.Subscribe(ctx)
}
