package api

import (
	"context"
	"sync"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// edsFlights shares a square and its JSON between the share.GetEDS calls
// of one height in flight at once: the first fetches and encodes it, the
// others wait for that, and the JSON (45 MB at k = 128) is held once
// however many calls send it. An entry lives while a call holds it; none
// is kept after.
type edsFlights struct {
	mu sync.Mutex
	m  map[edsKey]*edsFlight
}

// edsKey names a square: its height and data root (headers at a height do
// not change, but a key that cannot collide costs nothing).
type edsKey struct {
	height   uint64
	dataRoot string
}

type edsFlight struct {
	done    chan struct{} // closed when sq, json and err are set
	sq      *eds.ExtendedDataSquare
	json    []byte
	err     error
	refs    int                // calls holding the entry (guarded by edsFlights.mu)
	cancel  context.CancelFunc // ends the fetch
	dropped bool               // removed from the map (guarded by edsFlights.mu)
}

// get returns h's square and JSON, fetched with fetch and encoded once for
// every concurrent caller, and the function that lets the entry go (call
// it once the JSON has been sent). The fetch runs until it ends or every
// caller waiting for it has gone; a failed fetch is not shared with later
// calls.
func (f *edsFlights) get(ctx context.Context, h *header.ExtendedHeader,
	fetch func(context.Context, *header.ExtendedHeader) (*eds.ExtendedDataSquare, error),
) (*eds.ExtendedDataSquare, []byte, func(), error) {
	key := edsKey{height: h.Height(), dataRoot: string(h.DAH.Hash())}
	f.mu.Lock()
	if f.m == nil {
		f.m = map[edsKey]*edsFlight{}
	}
	fl := f.m[key]
	if fl == nil {
		// The fetch outlives the first caller if others wait for it.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		fl = &edsFlight{done: make(chan struct{}), cancel: cancel}
		f.m[key] = fl
		go func() {
			defer cancel()
			sq, err := fetch(fctx, h)
			var js []byte
			if err == nil {
				js, err = encodeEDS(fctx, sq)
			}
			fl.sq, fl.json, fl.err = sq, js, err
			close(fl.done)
			if err != nil {
				f.mu.Lock()
				f.drop(key, fl)
				f.mu.Unlock()
			}
		}()
	}
	fl.refs++
	f.mu.Unlock()

	var once sync.Once
	release := func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			fl.refs--
			if fl.refs == 0 {
				f.drop(key, fl)
				fl.cancel()
			}
		})
	}
	select {
	case <-fl.done:
	case <-ctx.Done():
		release()
		return nil, nil, nil, ctx.Err()
	}
	if fl.err != nil {
		release()
		return nil, nil, nil, fl.err
	}
	return fl.sq, fl.json, release, nil
}

// drop removes fl from the map if it is still there. f.mu is held.
func (f *edsFlights) drop(key edsKey, fl *edsFlight) {
	if !fl.dropped && f.m[key] == fl {
		delete(f.m, key)
	}
	fl.dropped = true
}
