package wasm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/execution/wasm"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newVM(t testing.TB, e wasm.Engine) *wasm.VM {
	t.Helper()
	return newVMConfig(t, wasm.Config{Engine: e})
}

func newVMConfig(t testing.TB, cfg wasm.Config) *wasm.VM {
	t.Helper()
	if cfg.Engine == wasm.Compiler && runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no wazero compiler on %s", runtime.GOARCH)
	}
	vm, err := wasm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := vm.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return vm
}

func deploy(t testing.TB, vm *wasm.VM, name string) wasm.Contract {
	t.Helper()
	c, err := vm.Deploy(context.Background(), readTestdata(t, name))
	if err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
	return c
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

const gasLimit = 1_000_000

var (
	alice = []byte("alice-address-0000000000000000000000000001")
	bob   = []byte("bob-address")
)

// tokenRun deploys the token, mints to alice, transfers to bob, reads both
// balances and tries an overdraft; it returns the gas of every call.
func tokenRun(t testing.TB, vm *wasm.VM) []uint64 {
	t.Helper()
	ctx := context.Background()
	tok := deploy(t, vm, "token.wasm")
	st := &wasm.MemStorage{}
	var gas []uint64
	call := func(method string, caller, input []byte) (wasm.Result, error) {
		r, err := vm.Call(ctx, wasm.Call{Code: tok.Code, Method: method, Input: input, Caller: caller, Storage: st, GasLimit: gasLimit})
		gas = append(gas, r.GasUsed)
		return r, err
	}
	balance := func(who []byte) uint64 {
		r, err := call("balance_of", alice, who)
		if err != nil {
			t.Fatalf("balance_of: %v", err)
		}
		if len(r.Output) != 8 {
			t.Fatalf("balance_of returned %d bytes", len(r.Output))
		}
		return binary.LittleEndian.Uint64(r.Output)
	}
	if _, err := call("init", alice, u64(1000)); err != nil {
		t.Fatalf("init: %v", err)
	}
	r, err := call("transfer", alice, append(u64(300), bob...))
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if len(r.Events) != 1 || !bytes.Equal(r.Events[0], append(u64(300), bob...)) {
		t.Fatalf("transfer events %q", r.Events)
	}
	if a, b := balance(alice), balance(bob); a != 700 || b != 300 {
		t.Fatalf("balances after transfer: alice %d bob %d, want 700 300", a, b)
	}
	entries := st.Len()
	_, err = call("transfer", bob, append(u64(301), alice...))
	var rev *wasm.RevertError
	if !errors.Is(err, wasm.ErrReverted) || !errors.As(err, &rev) || rev.Message != "insufficient balance" {
		t.Fatalf("overdraft: got %v, want a revert with insufficient balance", err)
	}
	if gas[len(gas)-1] == 0 || gas[len(gas)-1] >= gasLimit {
		t.Fatalf("reverted call charged %d", gas[len(gas)-1])
	}
	if _, err := call("transfer", alice, u64(1)); !errors.Is(err, wasm.ErrReverted) {
		t.Fatalf("transfer without recipient: %v", err)
	}
	if a, b := balance(alice), balance(bob); a != 700 || b != 300 || st.Len() != entries {
		t.Fatalf("balances after failed transfers: alice %d bob %d (%d entries, want %d)", a, b, st.Len(), entries)
	}
	return gas
}

func TestToken(t *testing.T) {
	gas := tokenRun(t, newVM(t, wasm.Interpreter))
	t.Logf("gas per call: %v", gas)
}

func TestGasIsDeterministic(t *testing.T) {
	want := tokenRun(t, newVM(t, wasm.Interpreter))
	if got := tokenRun(t, newVM(t, wasm.Interpreter)); !equal(got, want) {
		t.Fatalf("second interpreter runtime: gas %v, first %v", got, want)
	}
	if got := tokenRun(t, newVM(t, wasm.Compiler)); !equal(got, want) {
		t.Fatalf("compiler: gas %v, interpreter %v", got, want)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCounter(t *testing.T) {
	ctx := context.Background()
	vm := newVM(t, wasm.Interpreter)
	c := deploy(t, vm, "counter.wasm")
	st := &wasm.MemStorage{}
	var used uint64
	for want := uint64(1); want <= 3; want++ {
		r, err := vm.Call(ctx, wasm.Call{Code: c.Code, Method: "increment", Storage: st, GasLimit: gasLimit})
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint64(r.Output); got != want {
			t.Fatalf("increment returned %d, want %d", got, want)
		}
		used = r.GasUsed
	}
	// One unit of gas short: the call runs out of gas and its write is
	// discarded.
	r, err := vm.Call(ctx, wasm.Call{Code: c.Code, Method: "increment", Storage: st, GasLimit: used - 1})
	if !errors.Is(err, wasm.ErrOutOfGas) || r.GasUsed != used-1 {
		t.Fatalf("short of gas: %v, gas used %d of %d", err, r.GasUsed, used-1)
	}
	r, err = vm.Call(ctx, wasm.Call{Code: c.Code, Method: "get", Storage: st, GasLimit: gasLimit})
	if err != nil || binary.LittleEndian.Uint64(r.Output) != 3 {
		t.Fatalf("get after the failed increment: %v %x, want 3", err, r.Output)
	}
}

func TestInfiniteLoopRunsOutOfGas(t *testing.T) {
	vm := newVM(t, wasm.Interpreter)
	c := deploy(t, vm, "loop.wasm")
	st := &wasm.MemStorage{}
	for _, limit := range []uint64{600, 100_000, 10_000_000} {
		r, err := vm.Call(context.Background(), wasm.Call{Code: c.Code, Method: "run", Storage: st, GasLimit: limit})
		if !errors.Is(err, wasm.ErrOutOfGas) || r.GasUsed != limit {
			t.Fatalf("limit %d: %v, gas used %d", limit, err, r.GasUsed)
		}
	}
}

func TestMemoryGrowth(t *testing.T) {
	vm := newVM(t, wasm.Interpreter)
	c := deploy(t, vm, "grow.wasm")
	st := &wasm.MemStorage{}
	grow := func(method string, limit uint64) (wasm.Result, error) {
		return vm.Call(context.Background(), wasm.Call{Code: c.Code, Method: method, Storage: st, GasLimit: limit})
	}
	r, err := grow("grow_ok", gasLimit)
	if err != nil || binary.LittleEndian.Uint32(r.Output) != 1 {
		t.Fatalf("grow_ok: %v %x, want the old size 1", err, r.Output)
	}
	okGas := r.GasUsed
	r, err = grow("grow_too_far", gasLimit)
	if err != nil || int32(binary.LittleEndian.Uint32(r.Output)) != -1 {
		t.Fatalf("grow_too_far: %v %x, want -1", err, r.Output)
	}
	if r.GasUsed != okGas+99*wasm.GasPerPage {
		t.Fatalf("grow_too_far charged %d, grow_ok %d: want 99 pages more", r.GasUsed, okGas)
	}
	// Growth is charged before it happens: 100 pages need 100,000 gas.
	if _, err := grow("grow_too_far", 50_000); !errors.Is(err, wasm.ErrOutOfGas) {
		t.Fatalf("grow_too_far with 50k gas: %v, want out of gas", err)
	}
}

func TestCallErrors(t *testing.T) {
	ctx := context.Background()
	vm := newVM(t, wasm.Interpreter)
	tok := deploy(t, vm, "token.wasm")
	st := &wasm.MemStorage{}
	r, err := vm.Call(ctx, wasm.Call{Code: tok.Code, Method: "nope", Storage: st, GasLimit: gasLimit})
	if !errors.Is(err, wasm.ErrABI) || r.GasUsed == 0 {
		t.Fatalf("unknown method: %v (gas %d)", err, r.GasUsed)
	}
	if _, err := vm.Call(ctx, wasm.Call{Code: tok.Code, Method: "init", Storage: st, GasLimit: 10}); !errors.Is(err, wasm.ErrOutOfGas) {
		t.Fatalf("gas below the call base: %v", err)
	}
	if _, err := vm.Call(ctx, wasm.Call{Code: tok.Code, Method: "init", Storage: st, GasLimit: gasLimit, Caller: make([]byte, 65)}); !errors.Is(err, wasm.ErrABI) {
		t.Fatalf("long caller: %v", err)
	}
	raw := readTestdata(t, "token.wasm") // not instrumented
	if _, err := vm.Call(ctx, wasm.Call{Code: raw, Method: "init", Storage: st, GasLimit: gasLimit}); !errors.Is(err, wasm.ErrInvalid) {
		t.Fatalf("uninstrumented code: %v", err)
	}
	if _, err := vm.Call(ctx, wasm.Call{Code: []byte("junk"), Method: "init", Storage: st, GasLimit: gasLimit}); !errors.Is(err, wasm.ErrInvalid) {
		t.Fatalf("junk code: %v", err)
	}
	if st.Len() != 0 {
		t.Fatalf("failed calls wrote %d entries", st.Len())
	}
}

func TestRejections(t *testing.T) {
	for _, tc := range []struct {
		file string
		err  error
		msg  string
	}{
		{"reject_float.wasm", wasm.ErrOpcode, "opcode not allowed 0x43 (floating point)"},
		{"reject_import.wasm", wasm.ErrImport, `"mesh"."random"`},
		{"reject_simd.wasm", wasm.ErrOpcode, "0xfd (SIMD)"},
	} {
		err := wasm.Validate(readTestdata(t, tc.file))
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want %v containing %q", tc.file, err, tc.err, tc.msg)
		}
	}
	if err := wasm.Validate(readTestdata(t, "reject_float.wasm")); !strings.Contains(err.Error(), "function 0:") {
		t.Errorf("float rejection does not name the function: %v", err)
	}
}

// TestWATAssembles checks that the committed .wasm files are what their
// WAT assembles to (testdata/README.md).
func TestWATAssembles(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm not on PATH (apt-get install -y wabt); not checking testdata/*.wasm against the WAT")
	}
	wats, err := filepath.Glob("testdata/*.wat")
	if err != nil || len(wats) == 0 {
		t.Fatalf("no WAT files: %v", err)
	}
	for _, wat := range wats {
		out := filepath.Join(t.TempDir(), "out.wasm")
		if b, err := exec.Command("wat2wasm", wat, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", wat, err, b)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if want := readTestdata(t, strings.TrimSuffix(filepath.Base(wat), ".wat")+".wasm"); !bytes.Equal(got, want) {
			t.Errorf("%s assembles to other bytes than the committed .wasm; rebuild it (testdata/README.md)", wat)
		}
	}
}

func BenchmarkTokenTransfer(b *testing.B) {
	ctx := context.Background()
	vm := newVM(b, wasm.Interpreter)
	tok := deploy(b, vm, "token.wasm")
	st := &wasm.MemStorage{}
	if _, err := vm.Call(ctx, wasm.Call{Code: tok.Code, Method: "init", Caller: alice, Input: u64(1 << 40), Storage: st, GasLimit: gasLimit}); err != nil {
		b.Fatal(err)
	}
	in := append(u64(1), bob...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vm.Call(ctx, wasm.Call{Code: tok.Code, Method: "transfer", Caller: alice, Input: in, Storage: st, GasLimit: gasLimit}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentCallsAndEviction runs calls of two contracts from several
// goroutines through a cache of one compiled module, so entries are evicted
// while in use.
func TestConcurrentCallsAndEviction(t *testing.T) {
	ctx := context.Background()
	vm := newVMConfig(t, wasm.Config{CacheSize: 1})
	counter, tok := deploy(t, vm, "counter.wasm"), deploy(t, vm, "token.wasm")
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			st := &wasm.MemStorage{}
			for i := range 20 {
				code, method, in := counter.Code, "increment", []byte(nil)
				if (g+i)%2 == 1 {
					code, method, in = tok.Code, "balance_of", bob
				}
				if _, err := vm.Call(ctx, wasm.Call{Code: code, Method: method, Input: in, Storage: st, GasLimit: gasLimit}); err != nil {
					errs <- err
					return
				}
			}
			r, err := vm.Call(ctx, wasm.Call{Code: counter.Code, Method: "get", Storage: st, GasLimit: gasLimit})
			if err == nil && binary.LittleEndian.Uint64(r.Output) != 10 {
				err = errors.New("counter lost increments")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
