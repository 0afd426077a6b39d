package tx_test

import (
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
)

// registerMsg signs a registration of a fixed EVM key for a fixed
// validator key on chain "mesh-test".
func registerMsg(t *testing.T) (*tx.MsgRegisterEVMAddress, ed25519.PrivateKey, *secp256k1.PrivateKey) {
	t.Helper()
	val := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	var seed [32]byte
	seed[31] = 9
	evm := secp256k1.PrivKeyFromBytes(seed[:])
	m, err := tx.NewMsgRegisterEVMAddress("mesh-test", val.Public().(ed25519.PublicKey),
		func(b []byte) ([]byte, error) { return ed25519.Sign(val, b), nil }, evm)
	if err != nil {
		t.Fatal(err)
	}
	return m, val, evm
}

func TestRegisterEVMAddressRoundTrip(t *testing.T) {
	m, _, evm := registerMsg(t)
	if m.EVMAddress != blobstream.AddressOf(evm.PubKey()) {
		t.Fatalf("address %s", m.EVMAddress)
	}
	body, raw := signedBody(t, m)
	got, err := tx.UnmarshalTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Body, body) {
		t.Fatalf("decoded %+v, want %+v", got.Body.Msg, m)
	}
	if err := got.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterEVMAddressRejects(t *testing.T) {
	other, _ := secp256k1.GeneratePrivateKey()
	for name, c := range map[string]struct {
		mutate func(m *tx.MsgRegisterEVMAddress)
		chain  string
		want   error
	}{
		"bad consensus signature": {func(m *tx.MsgRegisterEVMAddress) { m.ConsensusSig[0] ^= 1 }, "mesh-test", tx.ErrInvalidSignature},
		"bad EVM signature":       {func(m *tx.MsgRegisterEVMAddress) { m.EVMSig[40] ^= 1 }, "mesh-test", tx.ErrInvalidSignature},
		"other EVM address":       {func(m *tx.MsgRegisterEVMAddress) { m.EVMAddress = blobstream.AddressOf(other.PubKey()) }, "mesh-test", tx.ErrInvalidSignature},
		"other validator key":     {func(m *tx.MsgRegisterEVMAddress) { m.ValidatorPubKey[5] ^= 1 }, "mesh-test", tx.ErrInvalidSignature},
		"other chain":             {func(*tx.MsgRegisterEVMAddress) {}, "mesh-other", tx.ErrInvalidSignature},
		"short key":               {func(m *tx.MsgRegisterEVMAddress) { m.ValidatorPubKey = m.ValidatorPubKey[:31] }, "mesh-test", tx.ErrInvalidMsg},
		"zero address":            {func(m *tx.MsgRegisterEVMAddress) { m.EVMAddress = blobstream.Address{} }, "mesh-test", tx.ErrInvalidMsg},
		"short EVM signature":     {func(m *tx.MsgRegisterEVMAddress) { m.EVMSig = m.EVMSig[:64] }, "mesh-test", tx.ErrInvalidSignature},
	} {
		m, _, _ := registerMsg(t)
		c.mutate(m)
		if err := m.Verify(c.chain); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A body whose address field is not 20 bytes does not decode.
	m, _, _ := registerMsg(t)
	_, raw := signedBody(t, m)
	addr := m.EVMAddress[:]
	for i := range len(raw) - len(addr) {
		if string(raw[i:i+len(addr)]) == string(addr) {
			bad := append(append(append([]byte(nil), raw[:i-1]...), byte(len(addr)-1)), raw[i+1:]...)
			if _, err := tx.UnmarshalTx(bad); !errors.Is(err, tx.ErrMalformedTx) {
				t.Fatalf("a 19-byte address decoded: %v", err)
			}
			return
		}
	}
	t.Fatal("address not found in the encoding")
}
