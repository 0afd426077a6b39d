package blob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

const kzgChain = "kzg-read-test"

var nsC = mustNS("rollup-c")

// kzgSquare is the data of the KZG test square: blobs of 1, 130,044 and
// 130,045 bytes paid for with KZG in one PayForBlobs, one without KZG, a
// PayForBlobs with KZG for its second blob only, the same blob paid for
// twice (first without KZG, then with it, as a PayForBlobs' second blob),
// and one whose proofs are another blob's.
var (
	dataOne    = []byte{0x5a}
	dataFull   = pattern(kzg.MaxChunkSize, 11)
	dataTwo    = pattern(kzg.MaxChunkSize+1, 12)
	dataNoKZG  = pattern(500, 13)
	dataFirst  = pattern(300, 14) // second PFB, without KZG
	dataSecond = pattern(301, 15) // second PFB, with KZG
	dataTwice  = pattern(2000, 16)
	dataOther  = pattern(40, 17)
	dataWrong  = pattern(700, 18)
	dataWrong2 = pattern(900, 19)
)

// kzgFixture is a service over a chain whose square at customHeight holds
// the KZG test blobs.
func kzgFixture(t *testing.T) *fixture {
	t.Helper()
	swapProofs := func(m *tx.MsgPayForBlobs) {
		m.KZG[0].Proofs, m.KZG[1].Proofs = m.KZG[1].Proofs, m.KZG[0].Proofs
	}
	txs := [][]byte{
		kzgBlobTx(t, kzgChain, "alice", 0, nil,
			kzgBlob{nsA, dataOne, true}, kzgBlob{nsA, dataFull, true}, kzgBlob{nsB, dataTwo, true}),
		kzgBlobTx(t, kzgChain, "alice", 1, nil, kzgBlob{nsA, dataNoKZG, false}),
		kzgBlobTx(t, kzgChain, "alice", 2, nil, kzgBlob{nsC, dataFirst, false}, kzgBlob{nsC, dataSecond, true}),
		kzgBlobTx(t, kzgChain, "bob", 0, nil, kzgBlob{nsB, dataTwice, false}),
		kzgBlobTx(t, kzgChain, "carol", 0, nil, kzgBlob{nsA, dataOther, true}, kzgBlob{nsB, dataTwice, true}),
		kzgBlobTx(t, kzgChain, "dave", 0, swapProofs, kzgBlob{nsC, dataWrong, true}, kzgBlob{nsC, dataWrong2, true}),
	}
	return newFixtureWith(t, 2, 2, edstest.BuildEDS(t, txs, share.SquareSizeUpperBound))
}

func commitmentOf(t *testing.T, ns share.Namespace, data []byte) blob.Commitment {
	t.Helper()
	b, err := blob.New(ns, data)
	if err != nil {
		t.Fatal(err)
	}
	return b.Commitment
}

// wantKZG checks info against the commitments go-eth-kzg computes for the
// codec's output of data.
func wantKZG(t *testing.T, info *blob.KZGInfo, data []byte) {
	t.Helper()
	chunks, err := kzg.Chunks(data)
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "op-stack-v0" || len(info.Chunks) != len(chunks) || len(chunks) != tx.KZGChunkCount(len(data)) {
		t.Fatalf("%d bytes: codec %q, %d chunks, want op-stack-v0 and %d", len(data), info.Codec, len(info.Chunks), len(chunks))
	}
	for i, c := range chunks {
		want, err := kzg.BlobToCommitment(c)
		if err != nil {
			t.Fatal(err)
		}
		got := info.Chunks[i]
		if kzg.Commitment(got.Commitment) != want {
			t.Fatalf("%d bytes: chunk %d: commitment %x, want %x", len(data), i, got.Commitment, want)
		}
		if got.VersionedHash != kzg.VersionedHash(want) || got.VersionedHash[0] != 0x01 {
			t.Fatalf("%d bytes: chunk %d: versioned hash %x", len(data), i, got.VersionedHash)
		}
		if err := kzg.VerifyBlobProof(c, want, kzg.Proof(got.Proof)); err != nil {
			t.Fatalf("%d bytes: chunk %d: proof: %v", len(data), i, err)
		}
	}
}

func TestGetKZG(t *testing.T) {
	f := kzgFixture(t)
	ctx := ctxT(t)
	for _, c := range []struct {
		ns   share.Namespace
		data []byte
	}{{nsA, dataOne}, {nsA, dataFull}, {nsB, dataTwo}, {nsC, dataSecond}, {nsA, dataOther}, {nsB, dataTwice}} {
		info, err := f.svc.GetKZG(ctx, customHeight, c.ns, commitmentOf(t, c.ns, c.data))
		if err != nil {
			t.Fatalf("%d bytes in %s: %v", len(c.data), c.ns, err)
		}
		wantKZG(t, info, c.data)
	}

	// Paid for without KZG, alone or beside a blob with.
	for _, c := range []struct {
		ns   share.Namespace
		data []byte
	}{{nsA, dataNoKZG}, {nsC, dataFirst}} {
		if _, err := f.svc.GetKZG(ctx, customHeight, c.ns, commitmentOf(t, c.ns, c.data)); !errors.Is(err, blob.ErrNoKZG) {
			t.Fatalf("%d bytes without KZG: %v, want ErrNoKZG", len(c.data), err)
		}
	}
	// Proofs that do not open the blob's bytes are never returned.
	for _, d := range [][]byte{dataWrong, dataWrong2} {
		if _, err := f.svc.GetKZG(ctx, customHeight, nsC, commitmentOf(t, nsC, d)); !errors.Is(err, kzg.ErrVerify) {
			t.Fatalf("swapped proofs: %v, want kzg.ErrVerify", err)
		}
	}
	if _, err := f.svc.GetKZG(ctx, customHeight, nsA, commitmentOf(t, nsA, []byte("absent"))); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Fatalf("absent blob: %v", err)
	}
	if _, err := f.svc.GetKZG(ctx, 99, nsA, commitmentOf(t, nsA, dataOne)); err == nil {
		t.Fatal("GetKZG at a height without header succeeded")
	}
}

// The same blob paid for by two PayForBlobs in one square: its first copy
// in square order without KZG, its second with KZG as the second blob of
// its PayForBlobs. Each copy is mapped to its PayForBlobs by share index,
// and the copy with KZG answers.
func TestGetKZGSameBlobTwice(t *testing.T) {
	ctx := ctxT(t)
	for _, firstHasKZG := range []bool{false, true} {
		txs := [][]byte{
			kzgBlobTx(t, kzgChain, "alice", 0, nil, kzgBlob{nsB, dataTwice, firstHasKZG}),
			kzgBlobTx(t, kzgChain, "bob", 0, nil, kzgBlob{nsA, dataOther, true}, kzgBlob{nsB, dataTwice, !firstHasKZG}),
		}
		f := newFixtureWith(t, 2, 2, edstest.BuildEDS(t, txs, share.SquareSizeUpperBound))
		c := commitmentOf(t, nsB, dataTwice)
		all, err := f.svc.GetAll(ctx, customHeight, []share.Namespace{nsB})
		if err != nil || len(all) != 2 || !bytes.Equal(all[0].Commitment, c) || !bytes.Equal(all[1].Commitment, c) {
			t.Fatalf("the square does not hold the blob twice: %d blobs, %v", len(all), err)
		}
		info, err := f.svc.GetKZG(ctx, customHeight, nsB, c)
		if err != nil {
			t.Fatalf("first copy with KZG %v: %v", firstHasKZG, err)
		}
		wantKZG(t, info, dataTwice)
	}
	// Neither copy with KZG.
	txs := [][]byte{
		kzgBlobTx(t, kzgChain, "alice", 0, nil, kzgBlob{nsB, dataTwice, false}),
		kzgBlobTx(t, kzgChain, "bob", 0, nil, kzgBlob{nsA, dataOther, true}, kzgBlob{nsB, dataTwice, false}),
	}
	f := newFixtureWith(t, 2, 2, edstest.BuildEDS(t, txs, share.SquareSizeUpperBound))
	if _, err := f.svc.GetKZG(ctx, customHeight, nsB, commitmentOf(t, nsB, dataTwice)); !errors.Is(err, blob.ErrNoKZG) {
		t.Fatalf("neither copy with KZG: %v, want ErrNoKZG", err)
	}
}

// randomZ returns a canonical field element: 32 random bytes with the top
// byte below the modulus's (0x73).
func randomZ(rng *rand.Rand) [32]byte {
	var z [32]byte
	for i := range z {
		z[i] = byte(rng.Uint32())
	}
	z[0] %= 0x73
	return z
}

// domainPoint returns the point at which an EIP-4844 blob's field element i
// is its polynomial's value: ω^brp(i), ω = 7^((r-1)/4096) the primitive
// 4,096th root of unity of the consensus specs and brp the reversal of
// 12 bits.
func domainPoint(i int) [32]byte {
	r, _ := new(big.Int).SetString("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", 16)
	e := new(big.Int).Div(new(big.Int).Sub(r, big.NewInt(1)), big.NewInt(4096))
	omega := new(big.Int).Exp(big.NewInt(7), e, r)
	brp := bits.Reverse16(uint16(i)) >> 4
	var z [32]byte
	new(big.Int).Exp(omega, big.NewInt(int64(brp)), r).FillBytes(z[:])
	return z
}

// At the domain point of field element i, the opening's y is element i of
// the chunk's encoding: a contract reads the blob's bytes from y.
func TestOpenKZGAtBlobElements(t *testing.T) {
	f := kzgFixture(t)
	ctx := ctxT(t)
	chunks, _ := kzg.Chunks(dataTwo)
	for _, c := range []struct{ chunk, element int }{{0, 0}, {0, 1}, {0, 5}, {0, 4095}, {1, 0}, {1, 300}} {
		o, err := f.svc.OpenKZG(ctx, customHeight, nsB, commitmentOf(t, nsB, dataTwo), c.chunk, domainPoint(c.element))
		if err != nil {
			t.Fatal(err)
		}
		if want := chunks[c.chunk][32*c.element : 32*c.element+32]; !bytes.Equal(o.Y[:], want) {
			t.Fatalf("chunk %d, element %d: y %x, want %x", c.chunk, c.element, o.Y, want)
		}
	}
	if z := domainPoint(0); z != [32]byte{31: 1} {
		t.Fatalf("element 0 is not at z = 1: %x", z)
	}
}

func TestOpenKZG(t *testing.T) {
	f := kzgFixture(t)
	ctx := ctxT(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		ns   share.Namespace
		data []byte
	}{{nsA, dataOne}, {nsA, dataFull}, {nsB, dataTwo}} {
		com := commitmentOf(t, c.ns, c.data)
		chunks, _ := kzg.Chunks(c.data)
		for chunk, cb := range chunks {
			z := randomZ(rng)
			o, err := f.svc.OpenKZG(ctx, customHeight, c.ns, com, chunk, z)
			if err != nil {
				t.Fatalf("%d bytes, chunk %d: %v", len(c.data), chunk, err)
			}
			want, _ := kzg.BlobToCommitment(cb)
			if o.Z != z || kzg.Commitment(o.Commitment) != want || o.VersionedHash != kzg.VersionedHash(want) {
				t.Fatalf("%d bytes, chunk %d: opening %+v", len(c.data), chunk, o)
			}
			if err := kzg.VerifyProof(want, z, o.Y, kzg.Proof(o.Proof)); err != nil {
				t.Fatalf("%d bytes, chunk %d: the opening does not verify: %v", len(c.data), chunk, err)
			}
			// The precompile input, byte by byte: versioned_hash ‖ z ‖ y ‖
			// commitment ‖ proof.
			in := o.PrecompileInput
			if len(in) != 192 {
				t.Fatalf("precompile input of %d bytes", len(in))
			}
			vh := kzg.VersionedHash(want)
			for i, part := range [][]byte{vh[:], z[:], o.Y[:], want[:], o.Proof[:]} {
				off := []int{0, 32, 64, 96, 144}[i]
				if !bytes.Equal(in[off:off+len(part)], part) {
					t.Fatalf("precompile input part %d at %d differs", i, off)
				}
			}
			// A wrong y does not verify.
			y := o.Y
			y[31] ^= 1
			if err := kzg.VerifyProof(want, z, y, kzg.Proof(o.Proof)); !errors.Is(err, kzg.ErrVerify) {
				t.Fatalf("a changed y: %v", err)
			}
		}
	}

	com := commitmentOf(t, nsA, dataOne)
	// The largest canonical z opens; the modulus and above are refused
	// before anything is fetched.
	top := [32]byte{0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
		0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00}
	if _, err := f.svc.OpenKZG(ctx, customHeight, nsA, com, 0, top); err != nil {
		t.Fatalf("z = r-1: %v", err)
	}
	modulus := top
	modulus[31] = 1
	var ones [32]byte
	for i := range ones {
		ones[i] = 0xff
	}
	for _, z := range [][32]byte{modulus, ones} {
		if _, err := f.svc.OpenKZG(ctx, customHeight, nsA, com, 0, z); !errors.Is(err, blob.ErrInvalidKZGRequest) {
			t.Fatalf("z = %x: %v, want ErrInvalidKZGRequest", z, err)
		}
		if _, err := f.svc.OpenKZG(ctx, 99, nsA, com, 0, z); !errors.Is(err, blob.ErrInvalidKZGRequest) {
			t.Fatalf("z = %x at a missing height: %v, want ErrInvalidKZGRequest first", z, err)
		}
	}
	for _, chunk := range []int{-1, 1} {
		if _, err := f.svc.OpenKZG(ctx, customHeight, nsA, com, chunk, randomZ(rng)); !errors.Is(err, blob.ErrInvalidKZGRequest) {
			t.Fatalf("chunk %d of 1: %v", chunk, err)
		}
	}
	if _, err := f.svc.OpenKZG(ctx, customHeight, nsB, commitmentOf(t, nsB, dataTwo), 2, randomZ(rng)); !errors.Is(err, blob.ErrInvalidKZGRequest) {
		t.Fatalf("chunk 2 of 2: %v", err)
	}
	if _, err := f.svc.OpenKZG(ctx, customHeight, nsA, commitmentOf(t, nsA, dataNoKZG), 0, randomZ(rng)); !errors.Is(err, blob.ErrNoKZG) {
		t.Fatalf("OpenKZG without KZG: %v", err)
	}
	if _, err := f.svc.OpenKZG(ctx, customHeight, nsC, commitmentOf(t, nsC, dataWrong), 0, randomZ(rng)); !errors.Is(err, kzg.ErrVerify) {
		t.Fatalf("OpenKZG of swapped proofs: %v", err)
	}
}

func TestKZGJSON(t *testing.T) {
	f := kzgFixture(t)
	ctx := context.Background()
	info, err := f.svc.GetKZG(ctx, customHeight, nsB, commitmentOf(t, nsB, dataTwo))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Codec  string
		Chunks []map[string]string
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if shape.Codec != "op-stack-v0" || len(shape.Chunks) != 2 {
		t.Fatalf("shape: %s", raw)
	}
	for _, c := range shape.Chunks {
		if len(c) != 3 || len(c["commitment"]) != 64 || len(c["proof"]) != 64 || len(c["versioned_hash"]) != 66 || c["versioned_hash"][:4] != "0x01" {
			t.Fatalf("chunk shape: %v", c)
		}
	}
	var back blob.KZGInfo
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Codec != info.Codec || len(back.Chunks) != len(info.Chunks) || back.Chunks[1] != info.Chunks[1] {
		t.Fatal("KZGInfo does not round-trip")
	}

	o, err := f.svc.OpenKZG(ctx, customHeight, nsA, commitmentOf(t, nsA, dataOne), 0, [32]byte{31: 7})
	if err != nil {
		t.Fatal(err)
	}
	if raw, err = json.Marshal(o); err != nil {
		t.Fatal(err)
	}
	var oshape map[string]string
	if err := json.Unmarshal(raw, &oshape); err != nil {
		t.Fatal(err)
	}
	for key, n := range map[string]int{"z": 66, "y": 66, "versioned_hash": 66, "precompile_input": 2 + 384, "commitment": 64, "proof": 64} {
		if len(oshape[key]) != n {
			t.Fatalf("%s is %q, want %d characters", key, oshape[key], n)
		}
	}
	if len(oshape) != 6 || oshape["z"] != "0x0000000000000000000000000000000000000000000000000000000000000007" {
		t.Fatalf("opening shape: %s", raw)
	}
	var oback blob.KZGOpening
	if err := json.Unmarshal(raw, &oback); err != nil || oback != *o {
		t.Fatalf("KZGOpening does not round-trip: %v", err)
	}
}

func TestKZGJSONTypes(t *testing.T) {
	h := blob.Hex32{0: 0xab, 31: 0x01}
	raw, err := json.Marshal(h)
	if err != nil || string(raw) != `"0xab00000000000000000000000000000000000000000000000000000000000001"` {
		t.Fatalf("Hex32: %s %v", raw, err)
	}
	var back blob.Hex32
	if err := json.Unmarshal(raw, &back); err != nil || back != h {
		t.Fatalf("Hex32 round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`"0XAB00000000000000000000000000000000000000000000000000000000000001"`), &back); err != nil || back != h {
		t.Fatalf("upper case: %v", err)
	}
	for _, bad := range []string{
		`"ab00000000000000000000000000000000000000000000000000000000000001"`,     // no 0x
		`"0xab000000000000000000000000000000000000000000000000000000000001"`,     // 31 bytes
		`"0xab0000000000000000000000000000000000000000000000000000000000000100"`, // 33 bytes
		`"0xzz00000000000000000000000000000000000000000000000000000000000001"`,   // not hex
		`7`, `null`, `"0x"`, `""`,
	} {
		var x blob.Hex32
		if err := json.Unmarshal([]byte(bad), &x); err == nil && bad != `null` {
			t.Errorf("Hex32 accepted %s", bad)
		}
	}

	var p blob.PrecompileInput
	for i := range p {
		p[i] = byte(i)
	}
	raw, _ = json.Marshal(p)
	var pback blob.PrecompileInput
	if err := json.Unmarshal(raw, &pback); err != nil || pback != p || len(raw) != 2+2+384 {
		t.Fatalf("PrecompileInput round trip: %s %v", raw, err)
	}
	if err := json.Unmarshal([]byte(`"0x00"`), &pback); err == nil {
		t.Error("PrecompileInput accepted 1 byte")
	}

	k := blob.KZGPoint{0: 0xc0, 47: 9}
	raw, _ = json.Marshal(k)
	var kback blob.KZGPoint
	if err := json.Unmarshal(raw, &kback); err != nil || kback != k || len(raw) != 2+64 {
		t.Fatalf("KZGPoint round trip: %s %v", raw, err)
	}
	for _, bad := range []string{`"AAAA"`, `"` + string(bytes.Repeat([]byte("A"), 68)) + `"`, `"!!"`, `[1,2]`} {
		if err := json.Unmarshal([]byte(bad), &kback); err == nil {
			t.Errorf("KZGPoint accepted %s", bad)
		}
	}

	var cell blob.CellData
	cell[0], cell[kzg.CellSize-1] = 1, 2
	raw, _ = json.Marshal(struct{ C blob.CellData }{cell})
	var cback struct{ C blob.CellData }
	if err := json.Unmarshal(raw, &cback); err != nil || cback.C != cell {
		t.Fatalf("CellData round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"C":"AAAA"}`), &cback); err == nil {
		t.Error("CellData accepted 3 bytes")
	}
}
