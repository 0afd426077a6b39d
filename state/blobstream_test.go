package state_test

import (
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/state"
)

// The Blobstream queries answer the application's records, typed, and
// RegisterEVMAddress changes the validator's address: the chain makes a
// new valset that carries it. A registration signed for another chain is
// refused by the chain, a *TxError.
func TestBlobstreamQueriesAndRegistration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	p := tx.DefaultParams()
	p.DataCommitmentWindow = 3
	c := startChainWith(ctx, t, p, []string{"alice"}, nil)
	genesisAddr := blobstream.AddressOf(c.v.BlobstreamKey.PubKey())

	// Nonce 1 is the genesis valset: the one validator, its genesis address.
	vs, err := c.client.Valset(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if vs.Nonce != 1 || len(vs.Validators) != 1 || vs.Validators[0].EVMAddress != genesisAddr || vs.PowerThreshold == 0 {
		t.Fatalf("valset 1: %+v, want the validator with %s", vs, genesisAddr)
	}
	// Wait for the first data commitment, [1, 4), to be attested.
	coretest.WaitUntil(ctx, t, "an attested data commitment", func() bool {
		n, err := c.client.LatestAttestationNonces(ctx)
		return err == nil && n.LatestAttested >= 2
	})
	dc, err := c.client.DataCommitment(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Kind != tx.AttestationDataCommitment || dc.BeginBlock != 1 || dc.EndBlock != 4 || len(dc.Signatures) != 1 {
		t.Fatalf("data commitment of height 2: %+v", dc)
	}
	byNonce, err := c.client.Attestation(ctx, dc.Nonce)
	if err != nil || byNonce.EndBlock != dc.EndBlock {
		t.Fatalf("attestation %d: %+v, %v; want %+v", dc.Nonce, byNonce, err, dc)
	}
	signer, err := c.client.Valset(ctx, dc.SignerNonce)
	if err != nil {
		t.Fatal(err)
	}
	if err := blobstream.VerifySignatures(signer.EVMValidators(), dc.Signatures, dc.Digest(), signer.PowerThreshold); err != nil {
		t.Fatalf("the data commitment's signatures: %v", err)
	}
	if _, err := c.client.Attestation(ctx, 1<<40); !errors.Is(err, state.ErrNotAttested) {
		t.Fatalf("attestation 2^40: %v, want ErrNotAttested", err)
	}
	if _, err := c.client.DataCommitment(ctx, 1<<40); !errors.Is(err, state.ErrNotAttested) {
		t.Fatalf("data commitment of height 2^40: %v, want ErrNotAttested", err)
	}

	// Register a new address for the validator.
	pub := c.v.PV.Key.PubKey.Bytes()
	key, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := tx.NewMsgRegisterEVMAddress("another-chain", pub, c.v.PV.Key.PrivKey.Sign, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RegisterEVMAddress(ctx, wrong, nil); !errors.Is(err, state.ErrTxFailed) {
		t.Fatalf("a registration for another chain: %v, want ErrTxFailed", err)
	}
	msg, err := tx.NewMsgRegisterEVMAddress(chainID, pub, c.v.PV.Key.PrivKey.Sign, key)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.client.RegisterEVMAddress(ctx, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.checkIncluded(ctx, t, res)
	info, err := c.client.EVMAddress(ctx, c.v.PV.Key.PubKey.Address().String())
	if err != nil {
		t.Fatal(err)
	}
	if info.EVMAddress != msg.EVMAddress {
		t.Fatalf("registered address %s, want %s", info.EVMAddress, msg.EVMAddress)
	}
	coretest.WaitUntil(ctx, t, "a valset with the new address", func() bool {
		n, err := c.client.LatestAttestationNonces(ctx)
		if err != nil {
			return false
		}
		vs, err := c.client.Valset(ctx, n.Latest)
		return err == nil && len(vs.Validators) == 1 && vs.Validators[0].EVMAddress == msg.EVMAddress
	})
}
