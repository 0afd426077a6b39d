package meshrpc_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/meshrpc"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// chain starts a one-validator chain and commits a PayForBlobs of two
// blobs; it returns the validator and the blob transaction's height.
func chain(ctx context.Context, t *testing.T) (*coretest.Validator, int64, []byte) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	g := coretest.Genesis(t, "meshrpc-test", "alice")
	v := coretest.StartChain(ctx, t, g)
	k, _ := coretest.Key(t, "alice")
	ns, err := share.NewV0Namespace(bytes.Repeat([]byte{7}, share.NamespaceVersionZeroIDSize))
	if err != nil {
		t.Fatal(err)
	}
	raw := coretest.PFBTx(t, g.ChainID, k, 0, g.Params, []coretest.Blob{
		{Namespace: ns, Data: bytes.Repeat([]byte{1}, 20_000)}, {Namespace: ns, Data: []byte("small")}})
	h := coretest.Broadcast(ctx, t, v.Client(), raw)
	return v, h, raw
}

func marshal(t *testing.T, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blockBytes(t *testing.T, b *cmttypes.Block) []byte {
	t.Helper()
	pb, err := b.ToProto()
	if err != nil {
		t.Fatal(err)
	}
	return marshal(t, pb)
}

// The block route answers exactly the block, commit and validators that
// /block, /commit and /validators answer for the same height, for a
// block with blobs, the blocks around it and the store's head (whose
// commit is the seen one).
func TestBlockRouteMatchesJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, blobHeight, _ := chain(ctx, t)
	c := v.Client()
	coretest.WaitHeight(ctx, t, c, blobHeight+1)
	for _, h := range []int64{1, blobHeight, blobHeight + 1} {
		got, err := meshrpc.FetchBlock(ctx, http.DefaultClient, v.RPCAddr, h, 100)
		if err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		// Read the commit right after, while the head is likely still h
		// for the last one; a block committed between the two answers
		// replaces the seen commit by the canonical one, so compare the
		// signed block ID and height, which both share.
		rb, err := c.Block(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := c.Commit(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		rv, err := c.Validators(ctx, &h, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blockBytes(t, got.Block), blockBytes(t, rb.Block)) {
			t.Fatalf("height %d: the binary block differs from /block's", h)
		}
		if h == blobHeight && len(got.Block.Txs) == 0 {
			t.Fatalf("height %d: no transactions in the block", h)
		}
		if got.Commit.Height != h || !got.Commit.BlockID.Equals(rc.Commit.BlockID) || got.Commit.BlockID.Hash.String() != got.Block.Hash().String() {
			t.Fatalf("height %d: commit %v, /commit %v", h, got.Commit.BlockID, rc.Commit.BlockID)
		}
		if h < blobHeight+1 && !bytes.Equal(marshal(t, got.Commit.ToProto()), marshal(t, rc.Commit.ToProto())) {
			t.Fatalf("height %d: the canonical commit differs from /commit's", h)
		}
		if len(got.Validators) != len(rv.Validators) {
			t.Fatalf("height %d: %d validators, /validators %d", h, len(got.Validators), len(rv.Validators))
		}
		for i, val := range got.Validators {
			w := rv.Validators[i]
			if !bytes.Equal(val.Bytes(), w.Bytes()) || val.ProposerPriority != w.ProposerPriority {
				t.Fatalf("height %d: validator %d is %v, /validators %v", h, i, val, w)
			}
		}
		set, err := cmttypes.ValidatorSetFromExistingValidators(got.Validators)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(set.Hash(), got.Block.ValidatorsHash) {
			t.Fatalf("height %d: validator set hash is not the header's", h)
		}
	}
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// broadcast posts raw to the broadcast route and decodes its answer.
func broadcast(t *testing.T, rpc string, raw []byte) (*http.Response, meshrpc.BroadcastResult) {
	t.Helper()
	res, err := http.Post(rpc+meshrpc.BroadcastTxPath, "application/octet-stream", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var br meshrpc.BroadcastResult
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
		t.Fatal(err)
	}
	return res, br
}

// Broadcasting through the route and polling the tx route answer what
// broadcast_tx_sync and /tx answer, without the transaction's bytes.
func TestBroadcastAndTxRoutesMatchJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, blobHeight, blobTx := chain(ctx, t)
	c := v.Client()
	g := coretest.Genesis(t, "meshrpc-test", "alice")
	k, from := coretest.Key(t, "alice")
	_, to := coretest.Key(t, "bob")
	raw, err := tx.SignTx(tx.Body{ChainID: g.ChainID, Nonce: 1, Fee: tx.Fee{GasLimit: 200_000, GasPrice: g.Params.MinGasPrice},
		Msg: &tx.MsgSend{From: from, To: to, Amount: 5}}, k)
	if err != nil {
		t.Fatal(err)
	}
	res, br := broadcast(t, v.RPCAddr, raw)
	if res.StatusCode != http.StatusOK || br.Code != tx.CodeOK || !bytes.Equal(br.Hash, cmttypes.Tx(raw).Hash()) {
		t.Fatalf("broadcast: status %d, %+v", res.StatusCode, br)
	}
	// The same transaction again: CometBFT's cache refuses it on both paths.
	if _, err := c.BroadcastTxSync(ctx, raw); err == nil {
		t.Fatal("broadcast_tx_sync took a transaction twice")
	}
	res, err = http.Post(v.RPCAddr+meshrpc.BroadcastTxPath, "application/octet-stream", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("second broadcast: status %d, want 409", res.StatusCode)
	}
	for _, want := range [][]byte{blobTx, raw} {
		hash := cmttypes.Tx(want).Hash()
		var st meshrpc.TxStatus
		coretest.WaitUntil(ctx, t, "the transaction to be indexed", func() bool {
			res, body := get(t, v.RPCAddr+meshrpc.TxPath+"?hash="+hex.EncodeToString(hash))
			if res.StatusCode == http.StatusNotFound {
				var e meshrpc.Error
				if err := json.Unmarshal(body, &e); err != nil || !e.NotFound || res.Header.Get(meshrpc.VersionHeader) == "" {
					t.Fatalf("not found answer %q", body)
				}
				return false
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("tx: status %d %s", res.StatusCode, body)
			}
			if bytes.Contains(body, []byte(hex.EncodeToString(want[:min(len(want), 48)]))) || len(body) > 4096 {
				t.Fatalf("tx answer carries the transaction (%d bytes)", len(body))
			}
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatal(err)
			}
			return true
		})
		jr, err := c.Tx(ctx, hash, false)
		if err != nil {
			t.Fatal(err)
		}
		e := jr.TxResult
		if st.Height != jr.Height || st.Index != jr.Index || st.Code != e.Code || st.Log != e.Log || st.GasWanted != e.GasWanted ||
			st.GasUsed != e.GasUsed || st.Codespace != e.Codespace || !bytes.Equal(st.Data, e.Data) || !bytes.Equal(st.Hash, hash) {
			t.Fatalf("tx route %+v, /tx %+v at %d/%d", st, e, jr.Height, jr.Index)
		}
	}
	if blobHeight < 1 {
		t.Fatal("no blob height")
	}
}

// Bad requests get a clear error and the status that says why, garbage
// transactions CheckTx's refusal, and the node keeps serving: its JSON RPC
// and a websocket subscription to new blocks still work.
func TestRoutesRefuseBadRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, _, _ := chain(ctx, t)
	for _, tc := range []struct {
		path     string
		status   int
		notFound bool
		msg      string
	}{
		{meshrpc.BlockPath, http.StatusBadRequest, false, "not a positive integer"},
		{meshrpc.BlockPath + "?height=abc", http.StatusBadRequest, false, "not a positive integer"},
		{meshrpc.BlockPath + "?height=0", http.StatusBadRequest, false, "not a positive integer"},
		{meshrpc.BlockPath + "?height=-5", http.StatusBadRequest, false, "not a positive integer"},
		{meshrpc.BlockPath + "?height=99999999", http.StatusNotFound, true, "is not stored"},
		{meshrpc.TxPath + "?hash=zz", http.StatusBadRequest, false, "not 32 bytes in hex"},
		{meshrpc.TxPath + "?hash=" + strings.Repeat("ab", 31), http.StatusBadRequest, false, "not 32 bytes in hex"},
		{meshrpc.TxPath + "?hash=" + strings.Repeat("ab", 32), http.StatusNotFound, true, "not found"},
		{meshrpc.Prefix + "nope", http.StatusNotFound, false, "no route"},
		{meshrpc.BroadcastTxPath, http.StatusNotFound, false, "no route"}, // GET
	} {
		res, body := get(t, v.RPCAddr+tc.path)
		var e meshrpc.Error
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("%s: %q: %v", tc.path, body, err)
		}
		if res.StatusCode != tc.status || e.NotFound != tc.notFound || !strings.Contains(e.Error, tc.msg) || res.Header.Get(meshrpc.VersionHeader) != "1" {
			t.Fatalf("%s: %d %+v, want %d %q", tc.path, res.StatusCode, e, tc.status, tc.msg)
		}
	}
	post := func(body io.Reader, size int64) (*http.Response, meshrpc.Error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.RPCAddr+meshrpc.BroadcastTxPath, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e meshrpc.Error
		b, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(b, &e)
		return res, e
	}
	max := int64(v.Config.Mempool.MaxTxBytes)
	if res, e := post(bytes.NewReader(make([]byte, max+1)), max+1); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error, "max_tx_bytes") {
		t.Fatalf("oversized: %d %+v", res.StatusCode, e)
	}
	// Without a Content-Length the limit holds while reading.
	if res, e := post(io.MultiReader(bytes.NewReader(make([]byte, max)), strings.NewReader("x")), -1); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error, "max_tx_bytes") {
		t.Fatalf("oversized, chunked: %d %+v", res.StatusCode, e)
	}
	if res, e := post(http.NoBody, 0); res.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "empty") {
		t.Fatalf("empty: %d %+v", res.StatusCode, e)
	}
	if res, br := broadcast(t, v.RPCAddr, []byte("garbage")); res.StatusCode != http.StatusOK || br.Code == tx.CodeOK || br.Log == "" {
		t.Fatalf("garbage: %d %+v", res.StatusCode, br)
	}
	// A client that is not a mesh node's sees an ordinary 404 elsewhere.
	if res, _ := get(t, v.RPCAddr+"/mesh"); res.StatusCode != http.StatusNotFound || res.Header.Get(meshrpc.VersionHeader) != "" {
		t.Fatalf("/mesh: %d", res.StatusCode)
	}

	// The JSON RPC and its websocket still work.
	c := v.Client()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop() }()
	events, err := c.Subscribe(ctx, "meshrpc-test", cmttypes.EventQueryNewBlockHeader.String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if _, ok := ev.Data.(cmttypes.EventDataNewBlockHeader); !ok {
			t.Fatalf("event %T", ev.Data)
		}
	case <-ctx.Done():
		t.Fatal("no new block event over the websocket")
	}
	st, err := c.Status(ctx)
	if err != nil || st.NodeInfo.Other.RPCAddress != v.Config.RPC.ListenAddress {
		t.Fatalf("status: %v, rpc address %q, want %q", err, st.NodeInfo.Other.RPCAddress, v.Config.RPC.ListenAddress)
	}
}

// DecodeBlock refuses what is not a BlockResponse with ErrMalformed.
func TestDecodeBlockRefusesGarbage(t *testing.T) {
	for i, data := range [][]byte{
		nil,
		{0xff},
		{0x0a, 0x05, 1, 2},       // field 1 longer than the data
		{0x0a, 0x00, 0x12, 0x00}, // no validator set
		{0x0a, 0x00, 0x0a, 0x00}, // field 1 twice
		{0x0a, 0x01, 0xff, 0x12, 0x00, 0x1a, 0x00}, // a block that does not decode
	} {
		if _, err := meshrpc.DecodeBlock(data, 10); !errors.Is(err, meshrpc.ErrMalformed) {
			t.Fatalf("case %d: %v", i, err)
		}
	}
}

func FuzzDecodeBlock(f *testing.F) {
	f.Add([]byte{0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00})
	f.Add([]byte(strconv.Itoa(42)))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := meshrpc.DecodeBlock(data, 10)
		if err != nil && !errors.Is(err, meshrpc.ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
		if err == nil && (b.Block == nil || b.Commit == nil || len(b.Validators) == 0) {
			t.Fatal("nil parts without an error")
		}
	})
}
