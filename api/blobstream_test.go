package api_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// blobstreamURL serves the blobstream module over the headers of c from
// height from up (a light node's store starts at its tail).
func blobstreamURL(t *testing.T, c *chain, from int) string {
	t.Helper()
	store := headertest.NewMemStore()
	if err := store.Append(testCtx(t), c.headers[from-1:]...); err != nil {
		t.Fatal(err)
	}
	m, err := api.NewBlobstreamModule(api.BlobstreamDeps{Headers: newHeaders(t, store, nil)}, api.ModuleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + api.StartServer(t, api.ServerOptions{Secret: testSecret}, api.Modules{Blobstream: m}).Addr()
}

// dataRootsOf reads the data roots of heights [start, end) from their data
// root transactions, and checks they are the DAH hashes and not
// CometBFT's DataHash.
func dataRootsOf(t *testing.T, c *chain, start, end int) [][32]byte {
	t.Helper()
	var roots [][32]byte
	for h := start; h < end; h++ {
		eh := c.headers[h-1]
		drt, err := header.UnmarshalDataRootTx(eh.DataRootTx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(drt.DataRoot, eh.DAH.Hash()) || bytes.Equal(drt.DataRoot, eh.RawHeader.DataHash) {
			t.Fatalf("height %d: data root %X, DAH %X, DataHash %X", h, drt.DataRoot, eh.DAH.Hash(), eh.RawHeader.DataHash)
		}
		roots = append(roots, [32]byte(drt.DataRoot))
	}
	return roots
}

// The blobstream module's tuple roots are blobstream.TupleRoot over the
// data roots of the data root transactions, in celestia-node's upper-case
// hex; its proofs verify with CometBFT's crypto/merkle against them, and
// not for another height's tuple.
func TestBlobstreamTupleRootsAndProofs(t *testing.T) {
	c := newChain(t, 12, 18)
	url := blobstreamURL(t, c, 1)
	tok := token(t, api.PermsFor(api.PermRead))
	for _, r := range [][2]int{{1, 2}, {1, 13}, {3, 8}, {5, 12}} {
		start, end := r[0], r[1]
		resp := callHTTP(t, url, tok, "blobstream.GetDataRootTupleRoot", json.RawMessage(fmt.Sprintf("[%d,%d]", start, end)))
		if resp.Error != nil {
			t.Fatalf("[%d,%d): %s", start, end, resp.Error.Message)
		}
		roots := dataRootsOf(t, c, start, end)
		want, err := blobstream.TupleRoot(uint64(start), roots)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.Result); got != `"`+strings.ToUpper(hex.EncodeToString(want))+`"` {
			t.Fatalf("[%d,%d): root %s, want %X", start, end, got, want)
		}
		for h := start; h < end; h++ {
			resp := callHTTP(t, url, tok, "blobstream.GetDataRootTupleInclusionProof", json.RawMessage(fmt.Sprintf("[%d,%d,%d]", h, start, end)))
			if resp.Error != nil {
				t.Fatalf("proof of %d in [%d,%d): %s", h, start, end, resp.Error.Message)
			}
			var p cmtmerkle.Proof
			if err := json.Unmarshal(resp.Result, &p); err != nil {
				t.Fatalf("CometBFT's Proof does not decode %s: %v", resp.Result, err)
			}
			tuple := blobstream.EncodeTuple(uint64(h), roots[h-start])
			if err := p.Verify(want, tuple); err != nil {
				t.Fatalf("proof of %d in [%d,%d): %v", h, start, end, err)
			}
			if end-start > 1 {
				other := blobstream.EncodeTuple(uint64(h), roots[(h-start+1)%(end-start)])
				if err := p.Verify(want, other); err == nil {
					t.Fatalf("proof of %d verifies another data root", h)
				}
			}
		}
	}
}

// Bad ranges answer celestia-node's error texts, unprefixed; a range
// below a light node's tail answers that the headers are not found.
func TestBlobstreamRangeErrors(t *testing.T) {
	c := newChain(t, 6, 19)
	url := blobstreamURL(t, c, 1)
	tok := token(t, api.PermsFor(api.PermRead))
	for _, tc := range []struct {
		method, params, want string
	}{
		{"blobstream.GetDataRootTupleRoot", "[0,3]", "height is equal to 0"},
		{"blobstream.GetDataRootTupleRoot", "[3,3]", "end block is smaller or equal to the start block"},
		{"blobstream.GetDataRootTupleRoot", "[1,10002]", "the query exceeds the limit of allowed blocks 10000"},
		{"blobstream.GetDataRootTupleRoot", "[2,9]", "end block 9 is higher than local chain height 6. Wait for the node until it syncs up to 9"},
		{"blobstream.GetDataRootTupleInclusionProof", "[6,1,6]", "height 6 should be in the end exclusive interval first_block 1 last_block 6"},
		{"blobstream.GetDataRootTupleInclusionProof", "[1,0,6]", "height is equal to 0"},
	} {
		resp := callHTTP(t, url, tok, tc.method, json.RawMessage(tc.params))
		if resp.Error == nil || resp.Error.Message != tc.want {
			t.Errorf("%s%s: %+v, want error %q", tc.method, tc.params, resp.Error, tc.want)
		}
	}
	// Without a token: refused.
	if status, _ := post(t, url, "", callBody("blobstream.GetDataRootTupleRoot", json.RawMessage("[1,2]"))); status != 401 {
		t.Errorf("without a token: HTTP %d, want 401", status)
	}

	light := blobstreamURL(t, c, 4)
	if resp := callHTTP(t, light, tok, "blobstream.GetDataRootTupleRoot", json.RawMessage("[2,6]")); resp.Error == nil ||
		!strings.Contains(resp.Error.Message, header.ErrNotFound.Error()) {
		t.Errorf("range below the tail: %+v", resp.Error)
	}
	if resp := callHTTP(t, light, tok, "blobstream.GetDataRootTupleRoot", json.RawMessage("[4,7]")); resp.Error != nil {
		t.Errorf("range from the tail: %s", resp.Error.Message)
	}
}
