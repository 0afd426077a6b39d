package blobstream_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/datamesh/mesh-node/blobstream"
)

// Go-ethereum is the oracle here: its crypto, accounts.TextHash (EIP-191)
// and abi encoder are what an Ethereum contract's ecrecover and abi.encode
// agree with.

func key(t *testing.T, seed byte) *secp256k1.PrivateKey {
	t.Helper()
	b := bytes.Repeat([]byte{seed}, 32)
	return secp256k1.PrivKeyFromBytes(b)
}

func TestDomainSeparatorsAreTheContracts(t *testing.T) {
	// celestiaorg/blobstream-contracts src/Constants.sol.
	for _, c := range []struct {
		got  [32]byte
		want string
	}{
		{blobstream.ValsetDomainSeparator, "636865636b706f696e7400000000000000000000000000000000000000000000"},
		{blobstream.DataCommitmentDomainSeparator, "7472616e73616374696f6e426174636800000000000000000000000000000000"},
	} {
		if hex.EncodeToString(c.got[:]) != c.want {
			t.Errorf("domain separator %x, want %s", c.got, c.want)
		}
	}
}

func TestDigestsMatchABIEncode(t *testing.T) {
	b32, _ := abi.NewType("bytes32", "", nil)
	u256, _ := abi.NewType("uint256", "", nil)
	root := [32]byte{0xde, 0xad, 31: 0x01}
	packed, err := abi.Arguments{{Type: b32}, {Type: u256}, {Type: b32}}.Pack(
		blobstream.DataCommitmentDomainSeparator, new(big.Int).SetUint64(7), root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := blobstream.DataCommitmentDigest(7, root), crypto.Keccak256Hash(packed); got != [32]byte(want) {
		t.Fatalf("DataCommitmentDigest = %x, keccak256(abi.encode(…)) = %x", got, want)
	}

	valsT, err := abi.NewType("tuple[]", "", []abi.ArgumentMarshaling{{Name: "addr", Type: "address"}, {Name: "power", Type: "uint256"}})
	if err != nil {
		t.Fatal(err)
	}
	type val struct {
		Addr  common.Address
		Power *big.Int
	}
	for n := 0; n <= 4; n++ {
		var ours []blobstream.Validator
		var theirs []val
		for i := range n {
			a := blobstream.AddressOf(key(t, byte(i+1)).PubKey())
			ours = append(ours, blobstream.Validator{Address: a, Power: uint64(100 * (i + 1))})
			theirs = append(theirs, val{common.Address(a), big.NewInt(int64(100 * (i + 1)))})
		}
		packed, err := abi.Arguments{{Type: valsT}}.Pack(theirs)
		if err != nil {
			t.Fatal(err)
		}
		vh := blobstream.ValsetHash(ours)
		if want := crypto.Keccak256Hash(packed); vh != [32]byte(want) {
			t.Fatalf("%d validators: ValsetHash = %x, keccak256(abi.encode(vals)) = %x", n, vh, want)
		}
		packed, err = abi.Arguments{{Type: b32}, {Type: u256}, {Type: u256}, {Type: b32}}.Pack(
			blobstream.ValsetDomainSeparator, big.NewInt(3), big.NewInt(667), vh)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := blobstream.ValsetDigest(3, 667, vh), crypto.Keccak256Hash(packed); got != [32]byte(want) {
			t.Fatalf("ValsetDigest = %x, want %x", got, want)
		}
	}
}

func TestSignaturesInteroperateWithGoEthereum(t *testing.T) {
	digest := blobstream.DataCommitmentDigest(1, [32]byte{1})
	for seed := byte(1); seed <= 20; seed++ {
		k := key(t, seed)
		gk, err := crypto.ToECDSA(k.Serialize())
		if err != nil {
			t.Fatal(err)
		}
		addr := blobstream.AddressOf(k.PubKey())
		if addr != blobstream.Address(crypto.PubkeyToAddress(gk.PublicKey)) {
			t.Fatalf("AddressOf = %s, go-ethereum %s", addr, crypto.PubkeyToAddress(gk.PublicKey))
		}
		// Ours signs, go-ethereum recovers (ecrecover of the EIP-191 hash).
		sig, err := blobstream.Sign(k, digest)
		if err != nil {
			t.Fatal(err)
		}
		raw := sig.Bytes()
		raw[64] -= 27
		pub, err := crypto.SigToPub(accounts.TextHash(digest[:]), raw)
		if err != nil || crypto.PubkeyToAddress(*pub) != common.Address(addr) {
			t.Fatalf("go-ethereum recovers %v, %v from our signature; want %s", pub, err, addr)
		}
		// Go-ethereum signs, ours recovers.
		gs, err := crypto.Sign(accounts.TextHash(digest[:]), gk)
		if err != nil {
			t.Fatal(err)
		}
		gs[64] += 27
		s, err := blobstream.SignatureFromBytes(gs)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := blobstream.Recover(digest, s); err != nil || got != addr {
			t.Fatalf("Recover of go-ethereum's signature = %s, %v; want %s", got, err, addr)
		}
		// Another digest recovers someone else.
		if got, err := blobstream.Recover(blobstream.DataCommitmentDigest(2, [32]byte{1}), s); err == nil && got == addr {
			t.Fatal("a signature recovers its signer over another digest")
		}
	}
}

func TestRecoverRefusesWhatOpenZeppelinRefuses(t *testing.T) {
	digest := blobstream.DataCommitmentDigest(9, [32]byte{9})
	sig, err := blobstream.Sign(key(t, 3), digest)
	if err != nil {
		t.Fatal(err)
	}
	// The malleable twin (n − s, v flipped) recovers the same key with
	// ecrecover, but ECDSA.recover refuses an upper-half s.
	var s secp256k1.ModNScalar
	s.SetBytes(&sig.S)
	s.Negate()
	twin := sig
	twin.S = s.Bytes()
	twin.V = 55 - sig.V
	if _, err := blobstream.Recover(digest, twin); !errors.Is(err, blobstream.ErrSignature) {
		t.Errorf("high-s twin: %v, want ErrSignature", err)
	}
	bad := sig
	bad.V = 0
	if _, err := blobstream.Recover(digest, bad); !errors.Is(err, blobstream.ErrSignature) {
		t.Errorf("v = 0: %v", err)
	}
	bad = sig
	bad.R = [32]byte{}
	if _, err := blobstream.Recover(digest, bad); !errors.Is(err, blobstream.ErrSignature) {
		t.Errorf("r = 0: %v", err)
	}
}

func TestVerifySignatures(t *testing.T) {
	digest := blobstream.DataCommitmentDigest(4, [32]byte{4})
	var vals []blobstream.Validator
	var sigs []blobstream.Signature
	var total uint64
	for i := range 4 {
		k := key(t, byte(10+i))
		vals = append(vals, blobstream.Validator{Address: blobstream.AddressOf(k.PubKey()), Power: 10})
		s, err := blobstream.Sign(k, digest)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
		total += 10
	}
	th := blobstream.PowerThreshold(total) // 27 of 40
	if th != 27 {
		t.Fatalf("PowerThreshold(40) = %d, want 27", th)
	}
	if err := blobstream.VerifySignatures(vals, sigs, digest, th); err != nil {
		t.Fatalf("all four: %v", err)
	}
	three := append([]blobstream.Signature(nil), sigs...)
	three[1] = blobstream.Signature{}
	if err := blobstream.VerifySignatures(vals, three, digest, th); err != nil {
		t.Fatalf("three of four: %v", err)
	}
	two := append([]blobstream.Signature(nil), three...)
	two[3] = blobstream.Signature{}
	if err := blobstream.VerifySignatures(vals, two, digest, th); !errors.Is(err, blobstream.ErrSignature) {
		t.Fatalf("two of four: %v, want ErrSignature", err)
	}
	swapped := append([]blobstream.Signature(nil), sigs...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if err := blobstream.VerifySignatures(vals, swapped, digest, th); !errors.Is(err, blobstream.ErrSignature) {
		t.Fatalf("swapped signatures: %v, want ErrSignature", err)
	}
	if err := blobstream.VerifySignatures(vals, sigs[:3], digest, th); !errors.Is(err, blobstream.ErrSignature) {
		t.Fatalf("fewer signatures than validators: %v", err)
	}
	for total, want := range map[uint64]uint64{0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 100: 67, 1<<64 - 1: 12297829382473034410} {
		if got := blobstream.PowerThreshold(total); got != want {
			t.Errorf("PowerThreshold(%d) = %d, want %d", total, got, want)
		}
	}
}

func TestAddressAndSignatureJSON(t *testing.T) {
	sig, err := blobstream.Sign(key(t, 5), [32]byte{5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sig.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back blobstream.Signature
	if err := back.UnmarshalJSON(b); err != nil || back != sig {
		t.Fatalf("signature JSON %s round trip: %v, %v", b, back, err)
	}
	a := blobstream.AddressOf(key(t, 5).PubKey())
	b, _ = a.MarshalJSON()
	var ab blobstream.Address
	if err := ab.UnmarshalJSON(b); err != nil || ab != a {
		t.Fatalf("address JSON %s: %v", b, err)
	}
	for _, bad := range []string{`"0x12"`, `"0xzz00000000000000000000000000000000000000"`, `7`} {
		if err := ab.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("address %s accepted", bad)
		}
	}
}
