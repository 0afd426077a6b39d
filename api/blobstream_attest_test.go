package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header/headertest"
)

// coreRecords answers the blobstream module's attestation queries from a
// map, as a core node would; tests alter records to make it lie.
type coreRecords map[uint64]*tx.Attestation

var errNoRecord = errors.New("state: blobstream: no such record")

func (c coreRecords) Attestation(_ context.Context, nonce uint64) (*tx.Attestation, error) {
	if a, ok := c[nonce]; ok {
		return a, nil
	}
	return nil, errNoRecord
}

func (c coreRecords) DataCommitment(_ context.Context, height uint64) (*tx.Attestation, error) {
	for _, a := range c {
		if a.Kind == tx.AttestationDataCommitment && a.BeginBlock <= height && height < a.EndBlock {
			return a, nil
		}
	}
	return nil, errNoRecord
}

func (c coreRecords) Valset(_ context.Context, nonce uint64) (*tx.Attestation, error) {
	for n := nonce; n > 0; n-- {
		if a, ok := c[n]; ok && a.Kind == tx.AttestationValset {
			return a, nil
		}
	}
	return nil, errNoRecord
}

func (c coreRecords) LatestAttestationNonces(context.Context) (tx.BlobstreamNonces, error) {
	return tx.BlobstreamNonces{Latest: uint64(len(c)), LatestAttested: uint64(len(c))}, nil
}

// attestedChain returns the records of a chain whose valset 1 is three
// validators of power 10 and whose nonce 2 is the data commitment of
// heights [1, 5) of c, signed by the first two (the threshold, 20).
func attestedChain(t *testing.T, c *chain) coreRecords {
	t.Helper()
	vs := &tx.Attestation{Nonce: 1, Kind: tx.AttestationValset, PowerThreshold: blobstream.PowerThreshold(30)}
	var keys []*secp256k1.PrivateKey
	for range 3 {
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		vs.Validators = append(vs.Validators, tx.ValsetMember{PubKey: make([]byte, 32), EVMAddress: blobstream.AddressOf(k.PubKey()), Power: 10})
	}
	root, err := blobstream.TupleRoot(1, dataRootsOf(t, c, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	dc := &tx.Attestation{Nonce: 2, Kind: tx.AttestationDataCommitment, BeginBlock: 1, EndBlock: 5, TupleRoot: root,
		SignerNonce: 1, Signatures: make([]blobstream.Signature, 3), CreatedHeight: 5, IncludedHeight: 7}
	for i := range 2 {
		if dc.Signatures[i], err = blobstream.Sign(keys[i], dc.Digest()); err != nil {
			t.Fatal(err)
		}
	}
	return coreRecords{1: vs, 2: dc}
}

// blobstreamWithCore serves the blobstream module over c's headers and
// records (nil: no core connection).
func blobstreamWithCore(t *testing.T, c *chain, records api.Attestations) string {
	t.Helper()
	store := headertest.NewMemStore()
	if err := store.Append(testCtx(t), c.headers...); err != nil {
		t.Fatal(err)
	}
	m, err := api.NewBlobstreamModule(api.BlobstreamDeps{Headers: newHeaders(t, store, nil), Attestations: records}, api.ModuleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + api.StartServer(t, api.ServerOptions{Secret: testSecret}, api.Modules{Blobstream: m}).Addr()
}

// The attestation methods serve what verifies, and refuse what a lying core
// node answers: signatures that do not recover to the valset, a threshold
// that is not two thirds of the power, a tuple root other than the node's
// headers'. Without a core connection they say how to get one.
func TestBlobstreamAttestationsChecked(t *testing.T) {
	c := newChain(t, 8, 31)
	tok := token(t, api.PermsFor(api.PermRead))
	call := func(url, method, params string) (json.RawMessage, string) {
		resp := callHTTP(t, url, tok, "blobstream."+method, json.RawMessage(params))
		if resp.Error != nil {
			return nil, resp.Error.Message
		}
		return resp.Result, ""
	}
	ns := `"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAGV4YW1wbGU="`

	honest := attestedChain(t, c)
	url := blobstreamWithCore(t, c, honest)
	for _, m := range []string{"GetAttestation", "GetAttestationByHeight"} {
		res, msg := call(url, m, "[2]")
		var a tx.Attestation
		if msg != "" || json.Unmarshal(res, &a) != nil || a.Nonce != 2 || len(a.Signatures) != 3 {
			t.Fatalf("%s: %s %s", m, res, msg)
		}
	}
	if res, msg := call(url, "GetValset", "[2]"); msg != "" || !strings.Contains(string(res), `"power_threshold":20`) {
		t.Fatalf("GetValset: %s %s", res, msg)
	}
	if res, msg := call(url, "GetLatestAttestationNonce", "[]"); msg != "" || string(res) != `{"latest_nonce":2,"latest_attested_nonce":2}` {
		t.Fatalf("GetLatestAttestationNonce: %s %s", res, msg)
	}
	// A range other than the attested one is refused, naming it.
	if _, msg := call(url, "GetSharesProof", fmt.Sprintf(`[2,%s,"AQID",1,4]`, ns)); msg != "api: blobstream: no attestation covers [1, 4): height 2 is in the data commitment of [1, 5) (nonce 2)" {
		t.Fatalf("GetSharesProof over [1, 4): %q", msg)
	}

	lies := map[string]func(r coreRecords){
		"a flipped signature": func(r coreRecords) { r[2].Signatures[0].R[4] ^= 1 },
		"too few signers":     func(r coreRecords) { r[2].Signatures[1] = blobstream.Signature{} },
		"a low threshold":     func(r coreRecords) { r[1].PowerThreshold = 10 },
		"another member":      func(r coreRecords) { r[1].Validators[0].EVMAddress[0] ^= 1 },
		"another tuple root":  func(r coreRecords) { r[2].TupleRoot[0] ^= 1 }, // the signatures then fail too
	}
	for name, lie := range lies {
		r := attestedChain(t, c)
		lie(r)
		url := blobstreamWithCore(t, c, r)
		if _, msg := call(url, "GetAttestationByHeight", "[3]"); !strings.Contains(msg, "does not verify") {
			t.Errorf("%s: GetAttestationByHeight: %q, want a verification error", name, msg)
		}
	}
	// A tuple root the valset signed that is not the one of the node's
	// headers: the signatures verify, the shares proof is refused.
	r := attestedChain(t, newChain(t, 8, 32))
	url = blobstreamWithCore(t, c, r)
	if _, msg := call(url, "GetAttestation", "[2]"); msg != "" {
		t.Fatalf("GetAttestation of another chain's root: %q", msg)
	}
	if _, msg := call(url, "GetSharesProof", fmt.Sprintf(`[2,%s,"AQID",1,5]`, ns)); !strings.Contains(msg, "this node's headers give") {
		t.Fatalf("GetSharesProof under another tuple root: %q", msg)
	}

	url = blobstreamWithCore(t, c, nil)
	for _, m := range []string{"GetAttestation", "GetAttestationByHeight", "GetValset"} {
		if _, msg := call(url, m, "[1]"); msg != api.ErrNoAttestations.Error() {
			t.Errorf("%s without core: %q", m, msg)
		}
	}
}
