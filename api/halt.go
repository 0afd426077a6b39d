package api

import (
	"context"
	"reflect"
)

// Halt is the node's halting rule as the modules need it: *fraud.Halt
// implements it. Once the node holds a valid proof that the block at
// height h is badly encoded, the modules refuse what depends on the data
// of heights h and above (share and blob reads, das.WaitCatchUp), and
// every new transaction and account query (blob.Submit, state.*), with
// the error Halt gives, which names the proof (height, header hash, row or
// column). header, p2p, node, fraud and das.SamplingStats keep answering,
// so an operator can see why.
//
// Err returns that error when height is at or above the proven block, nil
// otherwise; Any returns it once any block is proven; Halted returns a
// channel closed from then on. All are called concurrently.
type Halt interface {
	Err(height uint64) error
	Any() error
	Halted() <-chan struct{}
}

// checkHalt normalises a Halt given in options: a nil pointer in it is
// no Halt (it would panic on use).
func checkHalt(h Halt) Halt {
	if h == nil {
		return nil
	}
	if v := reflect.ValueOf(h); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return h
}

// haltErr is h.Err(height), nil without a Halt.
func haltErr(h Halt, height uint64) error {
	if h == nil {
		return nil
	}
	return h.Err(height)
}

// haltAny is h.Any(), nil without a Halt.
func haltAny(h Halt) error {
	if h == nil {
		return nil
	}
	return h.Any()
}

// haltedStream forwards the values of in, a subscription whose values
// each concern one height (height gives it) and come in increasing
// height order from next (0: the network head's), to the channel it
// returns, until a value's height is refused by h; then it calls cancel
// (which ends the subscription in) and closes the channel. Once h halts,
// it ends the subscription at once if the next height is refused, so
// that no more is fetched for it. It also ends when in closes or ctx
// ends. Without a Halt it returns in itself.
func haltedStream[T any](ctx context.Context, h Halt, next uint64, in <-chan T, height func(T) uint64, cancel context.CancelFunc) <-chan T {
	if h == nil {
		return in
	}
	out := make(chan T)
	go func() {
		defer close(out)
		defer cancel()
		halted := h.Halted()
		for {
			select {
			case <-halted:
				halted = nil // closed for good
				if next == 0 || h.Err(next) != nil {
					return
				}
			case v, ok := <-in:
				if !ok || h.Err(height(v)) != nil {
					return
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
				next = height(v) + 1
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
