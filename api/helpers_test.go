package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// exampleNS is the namespace "example" (version 0) in base64, as clients
// send it.
const exampleNS = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAGV4YW1wbGU="

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// fakeBlob records its calls; the blob service is tested in package blob.
type fakeBlob struct {
	mu         sync.Mutex
	height     uint64
	namespaces []share.Namespace
	from       uint64
	cfg        *state.TxConfig // Submit's options
	submitted  []*blob.Blob    // Submit's blobs
	// subscription: sent, then the channel stays open until ctx ends
	sent []*blob.SubscriptionResponse
}

func (f *fakeBlob) Submit(_ context.Context, blobs []*blob.Blob, cfg *state.TxConfig) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg, f.submitted = cfg, blobs
	return uint64(len(blobs)), nil
}

func (f *fakeBlob) Get(context.Context, uint64, share.Namespace, blob.Commitment) (*blob.Blob, error) {
	return nil, fmt.Errorf("blob: get at 7: %w", blob.ErrBlobNotFound)
}

func (f *fakeBlob) GetAll(_ context.Context, height uint64, nss []share.Namespace) ([]*blob.Blob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.height, f.namespaces = height, nss
	b, err := blob.New(nss[0], []byte("hello"))
	if err != nil {
		return nil, err
	}
	return []*blob.Blob{b}, nil
}

func (f *fakeBlob) GetProof(context.Context, uint64, share.Namespace, blob.Commitment) (*blob.Proof, error) {
	return &blob.Proof{}, nil
}

func (f *fakeBlob) GetCommitmentProof(context.Context, uint64, share.Namespace, blob.Commitment) (*blob.CommitmentProof, error) {
	return &blob.CommitmentProof{}, nil
}

func (f *fakeBlob) Included(context.Context, uint64, share.Namespace, *blob.Proof, blob.Commitment) (bool, error) {
	return true, nil
}

func (f *fakeBlob) Subscribe(ctx context.Context, _ share.Namespace, from uint64) (<-chan *blob.SubscriptionResponse, error) {
	f.mu.Lock()
	f.from = from
	sent := f.sent
	f.mu.Unlock()
	ch := make(chan *blob.SubscriptionResponse)
	go func() {
		defer close(ch)
		for _, r := range sent {
			select {
			case ch <- r:
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	}()
	return ch, nil
}

func (f *fakeBlob) GetByCommitment(context.Context, blob.Commitment) (*blob.CommitmentResult, error) {
	return nil, blob.ErrBlobNotFound
}

func (f *fakeBlob) GetKZG(context.Context, uint64, share.Namespace, blob.Commitment) (*blob.KZGInfo, error) {
	return &blob.KZGInfo{Codec: blob.KZGCodec, Chunks: []blob.KZGChunk{{Commitment: blob.KZGPoint{0: 0xc0}, VersionedHash: blob.Hex32{0: 1}}}}, nil
}

// OpenKZG answers z back, as the service does.
func (f *fakeBlob) OpenKZG(_ context.Context, _ uint64, _ share.Namespace, _ blob.Commitment, _ int, z [32]byte) (*blob.KZGOpening, error) {
	return &blob.KZGOpening{Z: z}, nil
}

// GetKZGCells answers the indices asked, with cells of their number.
func (f *fakeBlob) GetKZGCells(_ context.Context, _ uint64, _ share.Namespace, _ blob.Commitment, _ int, indices []uint64) (*blob.KZGCells, error) {
	out := &blob.KZGCells{}
	for _, i := range indices {
		out.Cells = append(out.Cells, blob.KZGCell{Index: i, Cell: blob.CellData{0: byte(i)}})
	}
	return out, nil
}

type fakeState struct{ addr tx.Address }

func (f *fakeState) AccountAddress(context.Context) (tx.Address, error) { return f.addr, nil }
func (f *fakeState) Balance(context.Context) (*state.Coin, error) {
	return &state.Coin{Denom: state.Denom, Amount: 12345}, nil
}
func (f *fakeState) BalanceForAddress(context.Context, tx.Address) (*state.Coin, error) {
	return &state.Coin{Denom: state.Denom, Amount: 1}, nil
}
func (f *fakeState) Transfer(context.Context, tx.Address, state.Int, *state.TxConfig) (*state.TxResponse, error) {
	return &state.TxResponse{Height: 3}, nil
}
func (f *fakeState) SubmitPayForBlob(_ context.Context, bs []*share.Blob, _ *state.TxConfig) (*state.TxResponse, error) {
	return &state.TxResponse{Height: int64(len(bs))}, nil
}
func (f *fakeState) Params(context.Context) (tx.Params, error) { return tx.DefaultParams(), nil }

type fakeDAS struct{ panicStats bool }

func (f *fakeDAS) Stats() das.Stats {
	if f.panicStats {
		panic("boom")
	}
	return das.Stats{SampledChainHead: 9, NetworkHead: 10}
}
func (f *fakeDAS) WaitCatchUp(ctx context.Context) error { return nil }

type fakeBlocker struct {
	mu      sync.Mutex
	blocked []peer.ID
}

func (f *fakeBlocker) BlockPeer(id peer.ID, _ error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked = append(f.blocked, id)
}
func (f *fakeBlocker) UnblockPeer(peer.ID) {}
func (f *fakeBlocker) BlockedPeers() []p2p.BlockedPeer {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []p2p.BlockedPeer
	for _, id := range f.blocked {
		out = append(out, p2p.BlockedPeer{ID: id})
	}
	return out
}

// env is a running server over fakes.
type env struct {
	srv   *api.Server
	blob  *fakeBlob
	state *fakeState
	das   *fakeDAS
	host  peer.ID
	http  string
	ws    string
}

func newEnv(t testing.TB, opts api.ServerOptions) *env {
	t.Helper()
	e := &env{blob: &fakeBlob{}, state: &fakeState{addr: tx.Address{1, 2, 3}}, das: &fakeDAS{}}
	h := p2ptest.Host(t)
	e.host = h.ID()
	node, err := api.NewNodeModule(api.NodeOptions{Type: api.NodeBridge, Version: "v0.2.2", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	// The p2p module's other sources are tested in p2p_test.go; here
	// their methods fail (after the permission check).
	p2pMod, err := api.NewP2PModule(api.P2PDeps{Host: h, Network: "api-test", Blocker: &fakeBlocker{}})
	if err != nil {
		t.Fatal(err)
	}
	mods := api.Modules{
		Blob:  api.NewBlobModule(e.blob, api.ModuleOptions{}),
		DAS:   api.NewDASModule(e.das, api.ModuleOptions{}),
		State: api.NewStateModule(e.state, api.ModuleOptions{}),
		P2P:   p2pMod,
		Node:  node,
	}
	if opts.Secret == nil && !opts.SkipAuth {
		opts.Secret = testSecret
	}
	e.srv = api.StartServer(t, opts, mods)
	e.http = "http://" + e.srv.Addr()
	e.ws = "ws://" + e.srv.Addr()
	return e
}

func token(t testing.TB, perms []api.Permission) string {
	t.Helper()
	tok, err := api.NewToken(testSecret, perms, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rpcResp is a JSON-RPC response as it is on the wire.
type rpcResp struct {
	ID     any             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// post sends body with token ("" for none) and returns the status and the
// response body.
func post(t *testing.T, url, tok string, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func callBody(method string, params json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	return b
}

// callHTTP calls method over HTTP and decodes the response.
func callHTTP(t *testing.T, url, tok, method string, params json.RawMessage) rpcResp {
	t.Helper()
	status, body := post(t, url, tok, callBody(method, params))
	var r rpcResp
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: status %d, body %q: %v", method, status, body, err)
	}
	return r
}

// dialWS opens a raw WebSocket with tok ("" for none).
func dialWS(ctx context.Context, url, tok string) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	if tok != "" {
		hdr.Set("Authorization", "Bearer "+tok)
	}
	return websocket.DefaultDialer.DialContext(ctx, url, hdr)
}

// callWS calls method over a raw WebSocket and returns the response to it.
func callWS(t *testing.T, url, tok, method string, params json.RawMessage) rpcResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := dialWS(ctx, url, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, callBody(method, params)); err != nil {
		t.Fatal(err)
	}
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		var r rpcResp
		if err := json.Unmarshal(msg, &r); err != nil {
			t.Fatal(err)
		}
		if id, ok := r.ID.(float64); ok && id == 1 {
			return r
		}
	}
}
