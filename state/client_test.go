package state_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

const chainID = "state-test"

// genesisBalance is what each funded keyring key holds at genesis.
const genesisBalance = 1e12

// chain is a one-validator chain whose genesis funds keyring keys.
type chain struct {
	v      *coretest.Validator
	rpc    *rpchttp.HTTP
	kr     keyring.Keyring
	keys   map[string]keyring.Key
	client *state.Client // default key: the first funded key
}

// startChain adds the keys funded (funded at genesis) and unfunded to a
// new keyring, starts a chain and a client whose default key is funded[0].
func startChain(ctx context.Context, t *testing.T, funded, unfunded []string) *chain {
	t.Helper()
	return startChainWith(ctx, t, tx.DefaultParams(), funded, unfunded)
}

// startChainWith is startChain with the chain's parameters p.
func startChainWith(ctx context.Context, t *testing.T, p tx.Params, funded, unfunded []string) *chain {
	t.Helper()
	kr := keyring.New(t.TempDir())
	g := coretest.Genesis(t, chainID, "authority")
	g.Params = p
	keys := map[string]keyring.Key{}
	for i, name := range append(append([]string{}, funded...), unfunded...) {
		k, err := kr.Add(name)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
		if i < len(funded) {
			g.Accounts = append(g.Accounts, app.GenesisAccount{Address: k.Address, Balance: genesisBalance})
		}
	}
	v := coretest.StartChain(ctx, t, g)
	c, err := state.New(state.Options{RPC: v.RPCAddr, Keyring: kr, DefaultKey: funded[0], Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &chain{v: v, rpc: v.Client(), kr: kr, keys: keys, client: c}
}

// account queries an account's balance and nonce from the node.
func (c *chain) account(ctx context.Context, t *testing.T, addr tx.Address) tx.AccountInfo {
	t.Helper()
	return coretest.Account(ctx, t, c.rpc, addr)
}

// checkIncluded checks the shape of a successful TxResponse and that the
// node has the transaction at its height.
func (c *chain) checkIncluded(ctx context.Context, t *testing.T, res *state.TxResponse) {
	t.Helper()
	if res.Height < 1 || res.Code != 0 || res.GasUsed <= 0 || res.GasWanted < res.GasUsed {
		t.Fatalf("response %+v", res)
	}
	hash, err := hex.DecodeString(res.TxHash)
	if err != nil || len(hash) != 32 || res.TxHash != strings.ToUpper(res.TxHash) {
		t.Fatalf("txhash %q: want 64 upper-case hex digits", res.TxHash)
	}
	r, err := c.rpc.Tx(ctx, hash, false)
	if err != nil || r.Height != res.Height {
		t.Fatalf("node's record of %s: %+v %v, want height %d", res.TxHash, r, err, res.Height)
	}
}

// checkNothingSent checks that refused submissions reached nothing: the
// mempool is empty, and addr has nonce 0 and its genesis balance.
func (c *chain) checkNothingSent(ctx context.Context, t *testing.T, addr tx.Address) {
	t.Helper()
	if n, err := c.rpc.NumUnconfirmedTxs(ctx); err != nil || n.Total != 0 {
		t.Fatalf("mempool after the refusals: %+v, %v; want empty", n, err)
	}
	if acc := c.account(ctx, t, addr); acc.Nonce != 0 || acc.Balance != genesisBalance {
		t.Fatalf("account after the refusals: %+v, want nonce 0 and the genesis balance", acc)
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newBlob(t *testing.T, id string, data []byte) *share.Blob {
	t.Helper()
	ns, err := share.NewV0Namespace([]byte(id))
	if err != nil {
		t.Fatal(err)
	}
	b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Params answers the chain's genesis parameters, not the defaults.
func TestParams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	p := tx.DefaultParams()
	p.MaxBlobSize = 1 << 20
	p.MinGasPrice = 3
	c := startChainWith(ctx, t, p, []string{"alice"}, nil)
	if got, err := c.client.Params(ctx); err != nil || got != p {
		t.Fatalf("Params = %+v, %v; want %+v", got, err, p)
	}
}

func TestTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"alice"}, []string{"bob"})
	alice, bob := c.keys["alice"], c.keys["bob"]
	p := tx.DefaultParams()

	if a, err := c.client.AccountAddress(ctx); err != nil || a != alice.Address {
		t.Fatalf("AccountAddress = %s, %v; want %s", a, err, alice.Address)
	}
	if b, err := c.client.Balance(ctx); err != nil || *b != (state.Coin{Denom: state.Denom, Amount: genesisBalance}) {
		t.Fatalf("Balance = %+v, %v", b, err)
	}

	res, err := c.client.Transfer(ctx, bob.Address, 1_000_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.checkIncluded(ctx, t, res)
	if res.GasUsed != int64(p.FixedGas) || res.GasWanted != int64(p.FixedGas) {
		t.Fatalf("gas wanted %d used %d, want %d", res.GasWanted, res.GasUsed, p.FixedGas)
	}
	if b, err := c.client.BalanceForAddress(ctx, bob.Address); err != nil || b.Amount != 1_000_000 || b.Denom != state.Denom {
		t.Fatalf("bob's balance %+v, %v; want 1000000", b, err)
	}
	want := state.Int(genesisBalance - 1_000_000 - p.FixedGas*p.MinGasPrice)
	if b, err := c.client.Balance(ctx); err != nil || b.Amount != want {
		t.Fatalf("alice's balance %+v, %v; want %d", b, err, want)
	}

	// A gas price of 1.2 is rounded up to 2; a larger gas limit is kept.
	res, err = c.client.Transfer(ctx, bob.Address, 1, &state.TxConfig{GasPrice: 1.2, IsGasPriceSet: true, Gas: p.FixedGas + 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.GasWanted != int64(p.FixedGas+10) {
		t.Fatalf("gas wanted %d, want %d", res.GasWanted, p.FixedGas+10)
	}
	want -= state.Int(1 + p.FixedGas*2)
	if b, err := c.client.Balance(ctx); err != nil || b.Amount != want {
		t.Fatalf("alice's balance %+v, %v; want %d", b, err, want)
	}

	// Bob signs by key name and by address.
	if _, err := c.client.Transfer(ctx, alice.Address, 1, &state.TxConfig{KeyName: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.Transfer(ctx, alice.Address, 1, &state.TxConfig{SignerAddress: bob.Address.String()}); err != nil {
		t.Fatal(err)
	}
	if acc := c.account(ctx, t, bob.Address); acc.Nonce != 2 {
		t.Fatalf("bob's nonce %d, want 2", acc.Nonce)
	}

	// The chain refuses a transfer beyond the balance.
	_, err = c.client.Transfer(ctx, alice.Address, 1e9, &state.TxConfig{KeyName: "bob"})
	var txErr *state.TxError
	if !errors.Is(err, state.ErrTxFailed) || !errors.As(err, &txErr) || txErr.Code != tx.CodeInsufficientFunds ||
		txErr.Height != 0 || !strings.Contains(txErr.Log, "insufficient funds") {
		t.Fatalf("overdraft: %v, want a CheckTx TxError with code %d", err, tx.CodeInsufficientFunds)
	}
}

func TestSubmitPayForBlob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"rollup"}, nil)
	blobs := []*share.Blob{
		newBlob(t, "ns-one", bytes.Repeat([]byte{1}, 700)),
		newBlob(t, "ns-two", []byte("second blob")),
	}
	res, err := c.client.SubmitPayForBlob(ctx, blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.checkIncluded(ctx, t, res)
	p := tx.DefaultParams()
	if want := int64(p.FixedGas + p.GasPerBlobByte*(700+11)); res.GasUsed != want {
		t.Fatalf("gas used %d, want %d", res.GasUsed, want)
	}
	// The block holds the BlobTx with both blobs, and its square is right.
	txs := coretest.CheckDataRoot(ctx, t, c.rpc, res.Height, p.MaxSquareSize)
	found := false
	for _, tx := range txs {
		btx, isBlob, err := share.UnmarshalBlobTx(tx)
		if !isBlob || err != nil || len(btx.Blobs) != 2 {
			continue
		}
		for i, b := range btx.Blobs {
			if b.Namespace() != blobs[i].Namespace() || !bytes.Equal(b.Data(), blobs[i].Data()) {
				t.Fatalf("blob %d in the block differs", i)
			}
		}
		found = true
	}
	if !found {
		t.Fatalf("block %d does not hold the blob tx", res.Height)
	}
}

// A blob over the chain's max_blob_size (here a genesis of 1000 bytes) is
// refused with ErrBlobTooLarge before it is signed: nothing reaches the
// chain, and the next submission uses the same nonce. A blob of exactly
// the limit is included.
func TestSubmitPayForBlobSizeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	p := tx.DefaultParams()
	p.MaxBlobSize = 1000
	c := startChainWith(ctx, t, p, []string{"rollup"}, nil)
	addr := c.keys["rollup"].Address

	for _, blobs := range [][]*share.Blob{
		{newBlob(t, "big", bytes.Repeat([]byte{1}, 1001))},
		{newBlob(t, "small", []byte("fits")), newBlob(t, "big", bytes.Repeat([]byte{1}, 1001))},
	} {
		res, err := c.client.SubmitPayForBlob(ctx, blobs, nil)
		if !errors.Is(err, state.ErrBlobTooLarge) {
			t.Fatalf("%d blobs, the last of 1001 bytes: %+v, %v; want ErrBlobTooLarge", len(blobs), res, err)
		}
		want := fmt.Sprintf("blob: over size limit: blob %d is 1001 bytes, the chain's max_blob_size is 1000", len(blobs)-1)
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q, want it to contain %q", err, want)
		}
	}
	c.checkNothingSent(ctx, t, addr)

	res, err := c.client.SubmitPayForBlob(ctx, []*share.Blob{newBlob(t, "limit", bytes.Repeat([]byte{2}, 1000))}, nil)
	if err != nil {
		t.Fatalf("a blob of max_blob_size: %v", err)
	}
	c.checkIncluded(ctx, t, res)
	if acc := c.account(ctx, t, addr); acc.Nonce != 1 {
		t.Fatalf("account after one submission: %+v, want nonce 1", acc)
	}
}

// A rollup submits in parallel with one key: every submission is included,
// each in its own transaction.
func TestConcurrentSubmissions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"rollup"}, nil)
	const n = 8
	var wg sync.WaitGroup
	results := make([]*state.TxResponse, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			b := newBlob(t, fmt.Sprint("par-", i), bytes.Repeat([]byte{byte(i)}, 100+i))
			results[i], errs[i] = c.client.SubmitPayForBlob(ctx, []*share.Blob{b}, nil)
		})
	}
	wg.Wait()
	hashes := map[string]bool{}
	minH, maxH := int64(1<<62), int64(0)
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		c.checkIncluded(ctx, t, results[i])
		hashes[results[i].TxHash] = true
		minH, maxH = min(minH, results[i].Height), max(maxH, results[i].Height)
	}
	if len(hashes) != n {
		t.Fatalf("%d distinct tx hashes, want %d", len(hashes), n)
	}
	// Submissions pipeline: none waits for another's inclusion, so they
	// share a few blocks rather than taking one block each.
	if maxH-minH >= n/2 {
		t.Fatalf("included in blocks %d to %d: the submissions were serialized", minH, maxH)
	}
	if acc := c.account(ctx, t, c.keys["rollup"].Address); acc.Nonce != n {
		t.Fatalf("nonce %d, want %d", acc.Nonce, n)
	}
}

// A transaction signed elsewhere with the client's key makes its local
// nonce stale: the rejected submission is re-signed with the nonce the
// chain expects.
func TestNonceRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"alice"}, nil)
	alice := c.keys["alice"]
	if _, err := c.client.Transfer(ctx, alice.Address, 1, nil); err != nil {
		t.Fatal(err)
	}
	p := tx.DefaultParams()
	ns := newBlob(t, "elsewhere", []byte("x")).Namespace()
	raw := coretest.PFBTx(t, chainID, alice.Priv, 1, p, []coretest.Blob{{Namespace: ns, Data: []byte("elsewhere")}})
	coretest.Broadcast(ctx, t, c.rpc, raw)
	res, err := c.client.Transfer(ctx, alice.Address, 1, nil)
	if err != nil {
		t.Fatalf("transfer after an outside transaction: %v", err)
	}
	c.checkIncluded(ctx, t, res)
	if acc := c.account(ctx, t, alice.Address); acc.Nonce != 3 {
		t.Fatalf("nonce %d, want 3", acc.Nonce)
	}
}

// Options refused before anything is broadcast.
func TestRefusedOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"alice"}, []string{"bob"})
	alice := c.keys["alice"]
	blob := []*share.Blob{newBlob(t, "refused", []byte("data"))}
	stranger, err := tx.AddressFromBytes(bytes.Repeat([]byte{7}, tx.AddressSize))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cfg    *state.TxConfig
		blobs  []*share.Blob
		target error
	}{
		{"max gas price below the minimum", &state.TxConfig{MaxGasPrice: 0.5}, blob, state.ErrGasPriceTooHigh},
		{"gas price above the maximum", &state.TxConfig{GasPrice: 3.5, IsGasPriceSet: true, MaxGasPrice: 3.9}, blob, state.ErrGasPriceTooHigh},
		{"negative gas price", &state.TxConfig{GasPrice: -1, IsGasPriceSet: true}, blob, state.ErrInvalidTx},
		{"unknown key name", &state.TxConfig{KeyName: "carol"}, blob, keyring.ErrNotFound},
		{"signer address without a key", &state.TxConfig{SignerAddress: stranger.String()}, blob, keyring.ErrNotFound},
		{"fee granter", &state.TxConfig{FeeGranterAddress: alice.Address.String()}, blob, state.ErrUnsupported},
		{"no blobs", nil, nil, state.ErrInvalidTx},
		{"nil blob", nil, []*share.Blob{nil}, state.ErrInvalidTx},
	} {
		if _, err := c.client.SubmitPayForBlob(ctx, tc.blobs, tc.cfg); !errors.Is(err, tc.target) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.target)
		}
	}
	if _, err := c.client.Transfer(ctx, alice.Address, 0, nil); !errors.Is(err, state.ErrInvalidTx) {
		t.Errorf("transfer of 0: %v", err)
	}
	if _, err := c.client.Transfer(ctx, alice.Address, 1, &state.TxConfig{KeyName: "alice", SignerAddress: c.keys["bob"].Address.String()}); err == nil {
		t.Error("a key name and a signer address of different keys were accepted")
	}
	// Nothing reached the chain: after another block, the nonce is 0 and
	// the mempool is empty.
	coretest.WaitHeight(ctx, t, c.rpc, coretest.Height(ctx, t, c.rpc)+1)
	if acc := c.account(ctx, t, alice.Address); acc.Nonce != 0 || acc.Balance != genesisBalance {
		t.Fatalf("alice after refused submissions: %+v", acc)
	}
	if n, err := c.rpc.NumUnconfirmedTxs(ctx); err != nil || n.Total != 0 {
		t.Fatalf("mempool: %+v %v", n, err)
	}
}

func TestNewAndStop(t *testing.T) {
	kr := keyring.New(t.TempDir())
	if _, err := kr.Add("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := state.New(state.Options{RPC: "http://127.0.0.1:1", Keyring: kr, DefaultKey: "bob"}); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("New with a missing default key: %v", err)
	}
	if _, err := state.New(state.Options{RPC: "http://127.0.0.1:1", Keyring: kr}); err == nil {
		t.Fatal("New without a default key succeeded")
	}
	// New does no I/O: nothing listens at this address.
	c, err := state.New(state.Options{RPC: fmt.Sprintf("http://127.0.0.1:%d", coretest.FreePort(t)), Keyring: kr, DefaultKey: "alice", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Balance(ctx); err == nil || errors.Is(err, state.ErrStopped) {
		t.Fatalf("Balance from a node that is not there: %v", err)
	}
	for range 2 {
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Transfer(ctx, tx.Address{}, 1, nil); !errors.Is(err, state.ErrStopped) {
		t.Fatalf("Transfer after Stop: %v", err)
	}
	if _, err := c.Balance(ctx); !errors.Is(err, state.ErrStopped) {
		t.Fatalf("Balance after Stop: %v", err)
	}
}

func TestJSON(t *testing.T) {
	for _, in := range []string{`"1000"`, `1000`} {
		var i state.Int
		if err := json.Unmarshal([]byte(in), &i); err != nil || i != 1000 {
			t.Fatalf("decode %s: %d %v", in, i, err)
		}
	}
	for _, bad := range []string{`"-1"`, `1.5`, `"abc"`, `"18446744073709551616"`} {
		var i state.Int
		if err := json.Unmarshal([]byte(bad), &i); err == nil {
			t.Errorf("decode %s: accepted as %d", bad, i)
		}
	}
	c := state.Coin{Denom: state.Denom, Amount: 18446744073709551615}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"denom":"umesh","amount":"18446744073709551615"}`; string(b) != want {
		t.Fatalf("coin JSON %s, want %s", b, want)
	}
	var back state.Coin
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	var fromNumber state.Coin
	if err := json.Unmarshal([]byte(`{"denom":"umesh","amount":1000}`), &fromNumber); err != nil || fromNumber.Amount != 1000 {
		t.Fatalf("coin with a numeric amount: %+v %v", fromNumber, err)
	}
}
