package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// ErrBusy is wrapped by the error of a heavy call refused because too many
// calls of its method are in flight (for every caller, or for its token).
// Its message says "busy" and when to retry; nothing was done.
var ErrBusy = errors.New("api: busy")

// Defaults of HeavyOptions.
const (
	DefaultHeavyCalls          = 8
	DefaultEDSCalls            = 4
	DefaultHeavyCallsPerCaller = 2
	DefaultBusyWait            = time.Second
	// DefaultFreeMemoryInterval is the least time between two returns of
	// freed heap to the OS after share.GetEDS calls.
	DefaultFreeMemoryInterval = 10 * time.Second
)

// cost is what a method's calls count against in a Limiter; each module's
// table (rpcTable) gives its methods' costs. The heavy methods may read,
// extend or reconstruct a whole square through the share getter, and
// answer up to a whole square (share.GetEDS: (2k)² shares, 45 MB of JSON
// at k = 128) or a namespace's data. share.GetShare and
// share.SharesAvailable answer a share or nothing and are not bounded.
type cost uint8

const (
	// costFree calls are not bounded.
	costFree cost = iota
	// costHeavy calls are bounded by HeavyOptions.HeavyCalls, per method.
	costHeavy
	// costEDS calls (share.GetEDS) are bounded by HeavyOptions.EDSCalls;
	// once none is in flight, freed heap is returned to the OS.
	costEDS
)

// HeavyOptions configure a Limiter. Zero values take the defaults.
type HeavyOptions struct {
	// EDSCalls bounds the share.GetEDS calls in flight at once (default
	// DefaultEDSCalls); HeavyCalls those of each other heavy method
	// (default DefaultHeavyCalls).
	EDSCalls   int
	HeavyCalls int
	// PerCaller bounds the calls of one heavy method in flight at once for
	// one token (or, without a token, one remote address) (default
	// DefaultHeavyCallsPerCaller), so that one client cannot take every
	// slot.
	PerCaller int
	// Wait is how long a call waits for a slot before it is refused with
	// ErrBusy (default DefaultBusyWait; negative: not at all).
	Wait time.Duration
	// FreeMemoryInterval is the least time between two
	// debug.FreeOSMemory calls, made once no heavy call is in flight after
	// a share.GetEDS (default DefaultFreeMemoryInterval; negative: never).
	FreeMemoryInterval time.Duration
}

// Limiter bounds the calls of the API's heavy methods in flight, per
// method and per caller. A call holds its slot until its response has
// been written (the server's request context ends then), so the memory of
// encoding and sending a large answer is bounded too. Past a bound a call
// waits up to HeavyOptions.Wait for a slot, then fails with ErrBusy. A nil
// *Limiter bounds nothing. It is safe for concurrent use.
type Limiter struct {
	opts HeavyOptions

	mu       sync.Mutex
	methods  map[string]int    // calls in flight by method
	callers  map[[2]string]int // by (method, caller)
	changed  chan struct{}     // closed and replaced when a slot frees
	inFlight int               // every heavy call
	dirty    bool              // a GetEDS ended since the last free
	lastFree time.Time         // of debug.FreeOSMemory
	timer    *time.Timer       // a pending free, or nil
	freeOS   func()            // debug.FreeOSMemory; tests count calls
}

// NewLimiter returns a limiter with opts, refusing negative bounds.
func NewLimiter(opts HeavyOptions) (*Limiter, error) {
	if opts.EDSCalls < 0 || opts.HeavyCalls < 0 || opts.PerCaller < 0 {
		return nil, fmt.Errorf("api: heavy call limits %d, %d, %d per caller: none may be negative",
			opts.EDSCalls, opts.HeavyCalls, opts.PerCaller)
	}
	if opts.EDSCalls == 0 {
		opts.EDSCalls = DefaultEDSCalls
	}
	if opts.HeavyCalls == 0 {
		opts.HeavyCalls = DefaultHeavyCalls
	}
	if opts.PerCaller == 0 {
		opts.PerCaller = DefaultHeavyCallsPerCaller
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultBusyWait
	}
	if opts.FreeMemoryInterval == 0 {
		opts.FreeMemoryInterval = DefaultFreeMemoryInterval
	}
	return &Limiter{
		opts:    opts,
		methods: map[string]int{},
		callers: map[[2]string]int{},
		changed: make(chan struct{}),
		freeOS:  debug.FreeOSMemory,
	}, nil
}

// limit returns the bound of the calls of a method of cost mc for everyone
// and for one caller.
func (l *Limiter) limit(mc cost) (all, one int) {
	all = l.opts.HeavyCalls
	if mc == costEDS {
		all = l.opts.EDSCalls
	}
	return all, min(all, l.opts.PerCaller)
}

// busyError says why a call was refused and when to retry.
func (l *Limiter) busyError(method string, n int, perCaller bool) error {
	retry := max(l.opts.Wait, time.Second)
	if perCaller {
		return fmt.Errorf("%w: %d %s calls in flight for this token, its limit; retry in %s", ErrBusy, n, method, retry)
	}
	return fmt.Errorf("%w: %d %s calls in flight, the limit; retry in %s", ErrBusy, n, method, retry)
}

// acquire takes a slot of method, of cost mc, for ctx's caller, waiting up
// to opts.Wait, and returns the function that frees it (idempotent). It
// fails with ErrBusy, or ctx's error if ctx ends first.
func (l *Limiter) acquire(ctx context.Context, method string, mc cost) (func(), error) {
	caller := callerOf(ctx)
	key := [2]string{method, caller}
	all, one := l.limit(mc)
	var deadline <-chan time.Time
	if l.opts.Wait > 0 {
		t := time.NewTimer(l.opts.Wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		l.mu.Lock()
		n, c := l.methods[method], l.callers[key]
		if n < all && c < one {
			l.methods[method]++
			l.callers[key]++
			l.inFlight++
			l.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { l.release(method, key, mc) }) }, nil
		}
		changed := l.changed
		l.mu.Unlock()
		busy := func() error {
			if c >= one {
				return l.busyError(method, c, true)
			}
			return l.busyError(method, n, false)
		}
		if deadline == nil {
			return nil, busy()
		}
		select {
		case <-changed:
		case <-deadline:
			return nil, busy()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release frees a slot of method, of cost mc, held by key's caller and
// wakes waiters.
func (l *Limiter) release(method string, key [2]string, mc cost) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.methods[method]--
	if l.methods[method] == 0 {
		delete(l.methods, method)
	}
	l.callers[key]--
	if l.callers[key] == 0 {
		delete(l.callers, key)
	}
	l.inFlight--
	close(l.changed)
	l.changed = make(chan struct{})
	if mc == costEDS {
		l.dirty = true
	}
	if l.inFlight == 0 && l.dirty {
		l.scheduleFree()
	}
}

// scheduleFree arranges for freed heap to be returned to the OS once the
// interval since the last return has passed, off the request path: after
// a spike of GetEDS calls the runtime would otherwise keep the memory for
// minutes. l.mu is held.
func (l *Limiter) scheduleFree() {
	if l.opts.FreeMemoryInterval < 0 || l.timer != nil {
		return
	}
	delay := max(0, time.Until(l.lastFree.Add(l.opts.FreeMemoryInterval)))
	l.timer = time.AfterFunc(delay, l.freeNow)
}

// freeNow returns freed heap to the OS unless heavy calls started again
// (their end schedules another).
func (l *Limiter) freeNow() {
	l.mu.Lock()
	l.timer = nil
	if l.inFlight > 0 {
		l.mu.Unlock()
		return
	}
	l.dirty = false
	l.lastFree = time.Now()
	free := l.freeOS
	l.mu.Unlock()
	free()
}

// enterAt is requirePerm for the methods that may be heavy, all of which
// read the block at height: it checks that ctx's caller holds the
// permission m's table gives the method that called it; when the table
// gives that method a cost and l is not nil, it takes a slot of l for the
// call, named namespace.method (share.GetEDS); and it refuses the call with
// the halting rule's error (see Halt) when h holds a proof of that block or
// a lower one. It returns the function the method defers. When ctx is the
// server's request context (it names a caller), the slot is held until ctx
// ends, which is once the response has been written (HTTP), or the call's
// response has been sent (WebSocket), or the client has gone: the deferred
// function does nothing. Otherwise the slot is freed when the method
// returns. A nil l bounds nothing.
func enterAt(ctx context.Context, m rpcModule, l *Limiter, h Halt, height uint64) (func(), error) {
	done, err := enterFrom(ctx, m, l)
	if err != nil {
		return nil, err
	}
	if err := haltErr(h, height); err != nil {
		done()
		return nil, err
	}
	return done, nil
}

// enter is enterAt for a method that reads no block (kzg.Commit): the
// permission and the slot, with no halting rule to apply.
func enter(ctx context.Context, m rpcModule, l *Limiter) (func(), error) {
	return enterFrom(ctx, m, l)
}

// enterFrom is the authorisation and slot of enterAt and enter, which
// must call it directly: authorize finds the method two calls up.
func enterFrom(ctx context.Context, m rpcModule, l *Limiter) (func(), error) {
	name, e, err := authorize(ctx, m, 2)
	if err != nil {
		return nil, err
	}
	if l == nil || e.cost == costFree {
		return func() {}, nil
	}
	release, err := l.acquire(ctx, m.rpcTable().namespace+"."+name, e.cost)
	if err != nil {
		return nil, err
	}
	return untilWritten(ctx, release), nil
}

// untilWritten returns the function a method defers to run release: a
// no-op when ctx is the server's request context, whose end runs release
// instead (see enterAt).
func untilWritten(ctx context.Context, release func()) func() {
	if _, ok := ctx.Value(callerKey{}).(string); !ok {
		return release
	}
	context.AfterFunc(ctx, release)
	return func() {}
}

type callerKey struct{}

// WithCaller returns ctx naming the caller id, which Limiter bounds per
// caller; the server sets it for each request (a hash of its token, or its
// remote address without one) and ends ctx once the response is written.
func WithCaller(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, callerKey{}, id)
}

// callerOf returns ctx's caller, "" for none.
func callerOf(ctx context.Context) string {
	id, _ := ctx.Value(callerKey{}).(string)
	return id
}

// callerID names the client of r for per-caller limits: its bearer token
// (hashed) when auth is on, else its remote host.
func callerID(r *http.Request, skipAuth bool) string {
	if !skipAuth {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			tok = r.URL.Query().Get("token")
		}
		if tok != "" {
			sum := sha256.Sum256([]byte(tok))
			return "token:" + hex.EncodeToString(sum[:8])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// ModuleOptions configure the share, blob, das, state and kzg modules.
// The zero value bounds nothing and never halts.
type ModuleOptions struct {
	// Limiter bounds the module's heavy calls (shared by the modules of
	// one server); nil bounds nothing. The das and state modules have no
	// heavy calls.
	Limiter *Limiter
	// Halt is the node's halting rule (see Halt); nil never halts. The
	// kzg module, which reads no chain data, does not use it.
	Halt Halt
}
