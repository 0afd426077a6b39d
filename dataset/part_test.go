package dataset_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset"
)

// checkExport checks the concatenation property against go-car and the
// summary against the export.
func checkExport(t *testing.T, bs blockstore.Blockstore, root cid.Cid, parts []dataset.Part, sum dataset.Summary) {
	t.Helper()
	want := goCarExport(t, bs, root)
	got := joinParts(t, root, parts)
	if !bytes.Equal(got, want) {
		t.Fatalf("header + parts' sections (%d bytes) differ from go-car's export (%d bytes)", len(got), len(want))
	}
	if sum.CARSize != uint64(len(want)) || !sum.Root.Equals(root) {
		t.Fatalf("summary %+v, export %d bytes", sum, len(want))
	}
}

// TestRoundTripFiles imports files of the sizes the issue names, packs
// them at the devnet's limit and at the smallest limit a leaf fits in,
// decodes the parts into a fresh store and reads the file back with
// boxo's UnixFS reader.
func TestRoundTripFiles(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, mib, mib + 1, 5 * mib} {
		data := randBytes(uint64(n)+100, n)
		bs := newStore()
		root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		header, err := dataset.CARHeader(root)
		if err != nil {
			t.Fatal(err)
		}
		// A leaf's section is its CID (36 bytes), its data and a 3-byte length.
		tight := len(header) + 3 + 36 + mib
		for _, maxPart := range []int{devnetMaxBlob, tight} {
			t.Run(fmt.Sprintf("%dB/max%d", n, maxPart), func(t *testing.T) {
				parts, sum := packAll(t, bs, root, maxPart)
				wantBlocks := 1
				if n > mib {
					wantBlocks = 1 + (n+mib-1)/mib
				}
				if sum.Blocks != uint64(wantBlocks) {
					t.Fatalf("%d blocks, want %d", sum.Blocks, wantBlocks)
				}
				checkExport(t, bs, root, parts, sum)
				got := readFile(t, unpack(t, root, parts, maxPart), root)
				if !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes, want %d", len(got), len(data))
				}
			})
		}
	}
}

// TestRoundTripDirectory packs the directory of writeTree (with a block
// twice in it) and the sharded directory of 4,000 files, and checks them
// against go-car and after decoding.
func TestRoundTripDirectory(t *testing.T) {
	ctx := context.Background()
	dir, files := writeTree(t)
	for name, path := range map[string]string{"tree": dir, "hamt": manyFiles(t, 4000)} {
		t.Run(name, func(t *testing.T) {
			bs := newStore()
			root, err := dataset.Import(ctx, bs, path)
			if err != nil {
				t.Fatal(err)
			}
			parts, sum := packAll(t, bs, root, devnetMaxBlob)
			checkExport(t, bs, root, parts, sum)
			back := unpack(t, root, parts, devnetMaxBlob)
			// The decoded store holds the whole DAG: it packs the same again.
			again, _ := packAll(t, back, root, devnetMaxBlob)
			if !bytes.Equal(joinParts(t, root, again), joinParts(t, root, parts)) {
				t.Fatal("the decoded DAG packs differently")
			}
			if name == "tree" {
				// a.txt and z-copy.txt are one block: one section.
				copyCID := rawCID(t, files["a.txt"])
				n := 0
				for _, p := range parts {
					bl, err := dataset.DecodePart(p.Data, root, devnetMaxBlob)
					if err != nil {
						t.Fatal(err)
					}
					for _, b := range bl {
						if b.Cid.Equals(copyCID) {
							n++
						}
					}
				}
				if n != 1 {
					t.Fatalf("the repeated block is in the parts %d times", n)
				}
			}
		})
	}
}

// TestPackRepeatedLeaves packs a file whose chunks are all the same: one
// leaf block, once.
func TestPackRepeatedLeaves(t *testing.T) {
	bs := newStore()
	root, err := dataset.ImportReader(context.Background(), bs, bytes.NewReader(make([]byte, 5*mib)))
	if err != nil {
		t.Fatal(err)
	}
	parts, sum := packAll(t, bs, root, devnetMaxBlob)
	if sum.Blocks != 2 {
		t.Fatalf("%d blocks, want the root and one leaf", sum.Blocks)
	}
	var size uint64
	for _, p := range parts {
		bl, err := dataset.DecodePart(p.Data, root, devnetMaxBlob)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bl {
			size += uint64(len(b.Data))
		}
	}
	if sum.Size != size || size <= mib {
		t.Fatalf("summary size %d, blocks' data %d", sum.Size, size)
	}
	checkExport(t, bs, root, parts, sum)
}

// TestPackLimits sweeps the part size over a DAG of many small blocks:
// every part fits, holds whole blocks, and is full (the next part's first
// block did not fit in it).
func TestPackLimits(t *testing.T) {
	ctx := context.Background()
	bs := newStore()
	root, err := dataset.Import(ctx, bs, manyFiles(t, 300))
	if err != nil {
		t.Fatal(err)
	}
	header, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	var largest int
	_, err = dataset.Pack(ctx, bs, root, devnetMaxBlob, func(p dataset.Part) error {
		bl, err := dataset.DecodePart(p.Data, root, devnetMaxBlob)
		for _, b := range bl {
			largest = max(largest, sectionLen(b.Cid, len(b.Data)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := goCarExport(t, bs, root)
	for _, maxPart := range []int{len(header) + largest, len(header) + largest + 1, 30000, 65536, 200000} {
		parts, sum := packAll(t, bs, root, maxPart)
		checkExport(t, bs, root, parts, sum)
		if !bytes.Equal(joinParts(t, root, parts), want) {
			t.Fatal("export differs")
		}
		for i := 0; i+1 < len(parts); i++ {
			next, err := dataset.DecodePart(parts[i+1].Data, root, maxPart)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts[i].Data)+sectionLen(next[0].Cid, len(next[0].Data)) <= maxPart {
				t.Fatalf("max %d: part %d has room for the next part's first block", maxPart, i)
			}
		}
	}
	// One byte short of the largest block alone: refused.
	_, err = dataset.Pack(ctx, bs, root, len(header)+largest-1, func(dataset.Part) error { return nil })
	if !errors.Is(err, dataset.ErrBlockTooLarge) {
		t.Fatalf("a limit below the largest block: %v", err)
	}
	// A limit the header alone fills.
	if _, err := dataset.Pack(ctx, bs, root, len(header), func(dataset.Part) error { return nil }); !errors.Is(err, dataset.ErrBlockTooLarge) {
		t.Fatalf("a limit of the header's size: %v", err)
	}
	// emit's error stops Pack.
	stop := errors.New("stop")
	if _, err := dataset.Pack(ctx, bs, root, 30000, func(dataset.Part) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("emit's error: %v", err)
	}
}

func sectionLen(c cid.Cid, n int) int {
	l := c.ByteLen() + n
	return len(binary.AppendUvarint(nil, uint64(l))) + l
}

func TestPackMissingBlock(t *testing.T) {
	ctx := context.Background()
	bs := newStore()
	root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(randBytes(3, 2*mib+1)))
	if err != nil {
		t.Fatal(err)
	}
	leaf := rawCID(t, randBytes(3, 2*mib+1)[mib:2*mib])
	if err := bs.DeleteBlock(ctx, leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Pack(ctx, bs, root, devnetMaxBlob, func(dataset.Part) error { return nil }); !errors.Is(err, dataset.ErrMissingBlock) {
		t.Fatalf("got %v", err)
	}
	// A store that answers with other bytes than asked.
	liar := newStore()
	fake, err := blocks.NewBlockWithCid([]byte("not the block"), root)
	if err != nil {
		t.Fatal(err)
	}
	if err := liar.Put(ctx, fake); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Pack(ctx, liar, root, devnetMaxBlob, func(dataset.Part) error { return nil }); !errors.Is(err, dataset.ErrHashMismatch) {
		t.Fatalf("got %v", err)
	}
}

// smallPart returns the parts of a small directory DAG, several blocks
// each.
func smallParts(t *testing.T) (cid.Cid, []dataset.Part) {
	t.Helper()
	bs := newStore()
	root, err := dataset.Import(context.Background(), bs, manyFiles(t, 20))
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := packAll(t, bs, root, 2000)
	if len(parts) < 2 || parts[0].Blocks < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	return root, parts
}

// TestDecodePartRefuses checks that tampered and malformed parts are
// refused with the error the contract names.
func TestDecodePartRefuses(t *testing.T) {
	root, parts := smallParts(t)
	good := parts[0].Data
	header, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.DecodePart(good, root, len(good)); err != nil {
		t.Fatalf("the good part: %v", err)
	}
	blocksOf, err := dataset.DecodePart(good, root, len(good))
	if err != nil {
		t.Fatal(err)
	}
	first := blocksOf[0]
	last := blocksOf[len(blocksOf)-1]

	other := rawCID(t, []byte("another dataset"))
	otherHeader, err := dataset.CARHeader(other)
	if err != nil {
		t.Fatal(err)
	}
	v0 := cid.NewCidV0(first.Cid.Hash())
	rawv1 := cid.NewCidV1(cid.Raw, mustSum(t, []byte("x"), mh.SHA2_256))
	blake := cid.NewCidV1(cid.Raw, mustSum(t, []byte("x"), mh.BLAKE2B_MIN+31))
	cbor := cid.NewCidV1(cid.DagCBOR, mustSum(t, []byte("x"), mh.SHA2_256))
	withSection := func(c cid.Cid, data []byte) []byte {
		out := append([]byte(nil), header...)
		l := c.ByteLen() + len(data)
		out = binary.AppendUvarint(out, uint64(l))
		out = append(out, c.Bytes()...)
		return append(out, data...)
	}

	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	for name, tc := range map[string]struct {
		part []byte
		root cid.Cid
		max  int
		want error
	}{
		"block data flipped":    {flip(first.Offset), root, len(good), dataset.ErrHashMismatch},
		"last byte flipped":     {flip(len(good) - 1), root, len(good), dataset.ErrHashMismatch},
		"cid flipped":           {flip(last.Offset - 1), root, len(good), dataset.ErrHashMismatch},
		"over the limit":        {good, root, len(good) - 1, dataset.ErrTooLarge},
		"other root":            {good, other, len(good), dataset.ErrWrongRoot},
		"other root's header":   {append(bytes.Clone(otherHeader), good[len(header):]...), root, 4096, dataset.ErrWrongRoot},
		"header flipped":        {flip(3), root, len(good), dataset.ErrMalformedCAR},
		"header only":           {header, root, len(good), dataset.ErrMalformedCAR},
		"empty":                 {nil, root, len(good), dataset.ErrMalformedCAR},
		"truncated":             {good[:len(good)-1], root, len(good), dataset.ErrMalformedCAR},
		"trailing byte":         {append(bytes.Clone(good), 0), root, len(good) + 1, dataset.ErrMalformedCAR},
		"trailing garbage":      {append(bytes.Clone(good), 5, 1, 2), root, len(good) + 3, dataset.ErrMalformedCAR},
		"block twice":           {append(bytes.Clone(good), good[len(header):]...), root, 2 * len(good), dataset.ErrMalformedCAR},
		"CIDv0 block":           {withSection(v0, first.Data), root, 4096, dataset.ErrUnsupportedCID},
		"blake2b block":         {withSection(blake, []byte("x")), root, 4096, dataset.ErrUnsupportedCID},
		"dag-cbor block":        {withSection(cbor, []byte("x")), root, 4096, dataset.ErrUnsupportedCID},
		"raw block, wrong data": {withSection(rawv1, []byte("y")), root, 4096, dataset.ErrHashMismatch},
		"undefined root":        {good, cid.Undef, len(good), dataset.ErrUnsupportedCID},
		"oversized block":       {withSection(rawCID(t, make([]byte, dataset.MaxBlockSize+1)), make([]byte, dataset.MaxBlockSize+1)), root, 3 * mib, dataset.ErrTooLarge},
	} {
		got, err := dataset.DecodePart(tc.part, tc.root, tc.max)
		if !errors.Is(err, tc.want) || got != nil {
			t.Errorf("%s: got (%d blocks, %v), want %v", name, len(got), err, tc.want)
		}
	}
	// A raw block with the right data decodes even though it is no
	// block of this DAG: a part proves its blocks, not their place.
	if _, err := dataset.DecodePart(withSection(rawv1, []byte("x")), root, 4096); err != nil {
		t.Fatalf("a raw block: %v", err)
	}
}

func mustSum(t *testing.T, data []byte, code uint64) mh.Multihash {
	t.Helper()
	h, err := mh.Sum(data, code, -1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDecodeAnyPart decodes parts without being told their root: each
// part of a dataset gives the dataset's root and the blocks DecodePart
// gives, and what DecodePart refuses for the part's own root it refuses
// too, with the same error.
func TestDecodeAnyPart(t *testing.T) {
	root, parts := smallParts(t)
	for _, p := range parts {
		if !dataset.LooksLikeCAR(p.Data) {
			t.Fatalf("part %d does not look like a CAR", p.Index)
		}
		want, err := dataset.DecodePart(p.Data, root, len(p.Data))
		if err != nil {
			t.Fatal(err)
		}
		gotRoot, got, err := dataset.DecodeAnyPart(p.Data, len(p.Data))
		if err != nil {
			t.Fatalf("part %d: %v", p.Index, err)
		}
		if !gotRoot.Equals(root) || len(got) != len(want) {
			t.Fatalf("part %d: root %s, %d blocks; want %s, %d", p.Index, gotRoot, len(got), root, len(want))
		}
		for i := range got {
			if !got[i].Cid.Equals(want[i].Cid) || got[i].Offset != want[i].Offset || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("part %d, block %d differs from DecodePart's", p.Index, i)
			}
		}
	}

	good := parts[0].Data
	blocksOf, _ := dataset.DecodePart(good, root, len(good))
	header, _ := dataset.CARHeader(root)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	manifest, _, err := dataset.ManifestFor(root, 1000, 30, sampleRefs(3))
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, dataset.MaxBlockSize+1)
	oversized := binary.AppendUvarint(bytes.Clone(header), uint64(36+len(big)))
	oversized = append(append(oversized, rawCID(t, big).Bytes()...), big...)
	for name, tc := range map[string]struct {
		part []byte
		max  int
		want error
	}{
		"block data flipped": {flip(blocksOf[0].Offset), len(good), dataset.ErrHashMismatch},
		"over the limit":     {good, len(good) - 1, dataset.ErrTooLarge},
		"header flipped":     {flip(3), len(good), dataset.ErrMalformedCAR},
		"header only":        {header, len(good), dataset.ErrMalformedCAR},
		"empty":              {nil, len(good), dataset.ErrMalformedCAR},
		"truncated":          {good[:len(good)-1], len(good), dataset.ErrMalformedCAR},
		"a manifest":         {manifest, len(manifest), dataset.ErrUnsupportedCID},
		"oversized block":    {oversized, 3 * mib, dataset.ErrTooLarge},
	} {
		gotRoot, got, err := dataset.DecodeAnyPart(tc.part, tc.max)
		if !errors.Is(err, tc.want) || got != nil || gotRoot.Defined() {
			t.Errorf("%s: got (%s, %d blocks, %v), want %v", name, gotRoot, len(got), err, tc.want)
		}
	}
}

// TestLooksLikeCAR: parts and manifests look like CARs; other blob data
// (text, zeros, a header with its map byte changed) does not, and nothing
// shorter than a header's start panics.
func TestLooksLikeCAR(t *testing.T) {
	root, parts := smallParts(t)
	manifest, _, err := dataset.ManifestFor(root, 1000, 30, sampleRefs(3))
	if err != nil {
		t.Fatal(err)
	}
	if !dataset.LooksLikeCAR(parts[0].Data) || !dataset.LooksLikeCAR(manifest) {
		t.Fatal("a part or a manifest does not look like a CAR")
	}
	changed := bytes.Clone(parts[0].Data)
	changed[1] = 0xa3
	for _, data := range [][]byte{nil, {0x3a}, []byte("hello, world"), make([]byte, 512), changed, parts[0].Data[:7], {0x80, 0xa2, 'e', 'r', 'o', 'o', 't', 's'}} {
		if dataset.LooksLikeCAR(data) {
			t.Errorf("%q looks like a CAR", data)
		}
	}
}
