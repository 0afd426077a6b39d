package dataset_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	mh "github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/share"
)

func commitment(i byte) []byte { return bytes.Repeat([]byte{i}, dataset.CommitmentSize) }

func sampleRefs(n int) []dataset.PartRef {
	refs := make([]dataset.PartRef, n)
	for i := range refs {
		refs[i] = dataset.PartRef{Height: uint64(10 + i), Commitment: commitment(byte(i))}
	}
	return refs
}

func TestManifestRoundTrip(t *testing.T) {
	root := rawCID(t, []byte("a dataset"))
	for _, n := range []int{1, 3, 1000} {
		refs := sampleRefs(n)
		data, c, err := dataset.ManifestFor(root, 12345, uint64(n+1), refs)
		if err != nil {
			t.Fatal(err)
		}
		if p := c.Prefix(); p.Version != 1 || p.Codec != cid.DagCBOR || p.MhType != mh.SHA2_256 {
			t.Fatalf("manifest CID %s", c)
		}
		m, got, err := dataset.DecodeManifest(data, len(data))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equals(c) || !m.Root.Equals(root) || m.Size != 12345 || m.Blocks != uint64(n+1) ||
			!slices.EqualFunc(m.Parts, refs, func(a, b dataset.PartRef) bool {
				return a.Height == b.Height && bytes.Equal(a.Commitment, b.Commitment)
			}) {
			t.Fatalf("decoded %+v (%s)", m, got)
		}
		// The manifest CAR is go-car readable: its header is the CARv1
		// header of its CID.
		header, err := dataset.CARHeader(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, header) {
			t.Fatal("the manifest CAR does not start with its CID's header")
		}
	}
}

// manifestBlock encodes the dag-cbor map build assembles, bypassing
// ManifestFor's checks.
func manifestBlock(t *testing.T, build func(ma datamodel.MapAssembler), entries int64) []byte {
	t.Helper()
	n, err := qp.BuildMap(basicnode.Prototype.Any, entries, build)
	if err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	if err := dagcbor.Encode(n, &block); err != nil {
		t.Fatal(err)
	}
	return block.Bytes()
}

// rawManifestCAR is the manifest CAR of manifestBlock's block.
func rawManifestCAR(t *testing.T, build func(ma datamodel.MapAssembler), entries int64) []byte {
	t.Helper()
	return carOf(t, cid.DagCBOR, manifestBlock(t, build, entries))
}

// carOf returns a CAR of one block with the given codec, header root the
// block's CID.
func carOf(t *testing.T, codec uint64, block []byte) []byte {
	t.Helper()
	c := cid.NewCidV1(codec, mustSum(t, block, mh.SHA2_256))
	header, err := dataset.CARHeader(c)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), header...)
	out = appendUvarint(out, uint64(c.ByteLen()+len(block)))
	out = append(out, c.Bytes()...)
	return append(out, block...)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func TestManifestForRefuses(t *testing.T) {
	root := rawCID(t, []byte("a dataset"))
	v0 := cid.NewCidV0(root.Hash())
	for name, tc := range map[string]struct {
		root   cid.Cid
		blocks uint64
		parts  []dataset.PartRef
	}{
		"no parts":         {root, 1, nil},
		"more parts":       {root, 1, sampleRefs(2)},
		"height 0":         {root, 1, []dataset.PartRef{{Height: 0, Commitment: commitment(1)}}},
		"huge height":      {root, 1, []dataset.PartRef{{Height: math.MaxUint64, Commitment: commitment(1)}}},
		"short commitment": {root, 1, []dataset.PartRef{{Height: 1, Commitment: commitment(1)[:31]}}},
		"CIDv0 root":       {v0, 1, sampleRefs(1)},
		"undefined root":   {cid.Undef, 1, sampleRefs(1)},
		"huge block count": {root, math.MaxUint64, sampleRefs(1)},
	} {
		if _, _, err := dataset.ManifestFor(tc.root, 1, tc.blocks, tc.parts); !errors.Is(err, dataset.ErrMalformedManifest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeManifestRefuses(t *testing.T) {
	root := rawCID(t, []byte("a dataset"))
	good, _, err := dataset.ManifestFor(root, 5, 2, sampleRefs(2))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	entries := func(extra bool, version int64, commitmentLen int) func(ma datamodel.MapAssembler) {
		return func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "version", qp.Int(version))
			qp.MapEntry(ma, "root", qp.Link(cidlink.Link{Cid: root}))
			qp.MapEntry(ma, "size", qp.Int(5))
			qp.MapEntry(ma, "blocks", qp.Int(2))
			qp.MapEntry(ma, "parts", qp.List(1, func(la datamodel.ListAssembler) {
				qp.ListEntry(la, qp.Map(2, func(ma datamodel.MapAssembler) {
					qp.MapEntry(ma, "height", qp.Int(7))
					qp.MapEntry(ma, "commitment", qp.Bytes(make([]byte, commitmentLen)))
				}))
			}))
			if extra {
				qp.MapEntry(ma, "x", qp.Int(1))
			}
		}
	}
	// The one valid hand-built manifest decodes: the cases below differ
	// from it in one way each.
	if _, _, err := dataset.DecodeManifest(rawManifestCAR(t, entries(false, 1, 32), 5), 4096); err != nil {
		t.Fatalf("hand-built manifest: %v", err)
	}
	// A non-canonical encoding of a valid manifest: the size 5 in two
	// bytes (0x18 0x05) instead of one.
	canonical := manifestBlock(t, entries(false, 1, 32), 5)
	sizeField := []byte{0x64, 's', 'i', 'z', 'e', 0x05}
	if bytes.Count(canonical, sizeField) != 1 {
		t.Fatal("size field not found")
	}
	longSize := bytes.Replace(canonical, sizeField, []byte{0x64, 's', 'i', 'z', 'e', 0x18, 0x05}, 1)
	for name, tc := range map[string]struct {
		data []byte
		max  int
		want error
	}{
		"over the limit":   {good, len(good) - 1, dataset.ErrTooLarge},
		"last byte":        {flip(len(good) - 1), len(good), dataset.ErrHashMismatch},
		"truncated":        {good[:len(good)-1], len(good), dataset.ErrMalformedCAR},
		"trailing byte":    {append(bytes.Clone(good), 0), len(good) + 1, dataset.ErrMalformedCAR},
		"empty":            {nil, 10, dataset.ErrMalformedCAR},
		"header only":      {good[:headerLen(t, good)], len(good), dataset.ErrMalformedCAR},
		"extra field":      {rawManifestCAR(t, entries(true, 1, 32), 6), 4096, dataset.ErrMalformedManifest},
		"version 2":        {rawManifestCAR(t, entries(false, 2, 32), 5), 4096, dataset.ErrMalformedManifest},
		"short commitment": {rawManifestCAR(t, entries(false, 1, 31), 5), 4096, dataset.ErrMalformedManifest},
		"not a map":        {carOf(t, cid.DagCBOR, []byte{0x01}), 4096, dataset.ErrMalformedManifest},
		"not CBOR":         {carOf(t, cid.DagCBOR, []byte{0xff, 0xff}), 4096, dataset.ErrMalformedManifest},
		"raw block":        {carOf(t, cid.Raw, []byte("x")), 4096, dataset.ErrUnsupportedCID},
		"a part":           {partOf(t), 4096, dataset.ErrUnsupportedCID},
		"root differs":     {withOtherHeader(t, good), 4096, dataset.ErrMalformedCAR},
		"long integer":     {carOf(t, cid.DagCBOR, longSize), 4096, dataset.ErrMalformedManifest},
	} {
		if _, _, err := dataset.DecodeManifest(tc.data, tc.max); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func headerLen(t *testing.T, car []byte) int {
	t.Helper()
	return int(car[0]) + 1 // headers are under 128 bytes: a one-byte varint
}

// partOf returns a dataset part of one raw block: a CAR, but no manifest.
func partOf(t *testing.T) []byte {
	t.Helper()
	return carOf(t, cid.Raw, []byte("data"))
}

// withOtherHeader replaces the CAR header of car by another CID's.
func withOtherHeader(t *testing.T, car []byte) []byte {
	t.Helper()
	other := cid.NewCidV1(cid.DagCBOR, mustSum(t, []byte("other"), mh.SHA2_256))
	h, err := dataset.CARHeader(other)
	if err != nil {
		t.Fatal(err)
	}
	return append(h, car[headerLen(t, car):]...)
}

func TestDefaultNamespace(t *testing.T) {
	root := rawCID(t, []byte("a dataset"))
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(root.Bytes())
	want, err := share.NewV0Namespace(sum[22:])
	if err != nil {
		t.Fatal(err)
	}
	if ns != want || ns.Version() != 0 || ns.ValidateForBlob() != nil {
		t.Fatalf("namespace %s, want %s", ns, want)
	}
	other, err := dataset.DefaultNamespace(rawCID(t, []byte("another")))
	if err != nil || other == ns {
		t.Fatalf("another root: %s %v", other, err)
	}
	if got, err := dataset.NamespaceFor(root, nil); err != nil || got != ns {
		t.Fatalf("NamespaceFor without override: %s %v", got, err)
	}
	mine, err := share.NewV0Namespace([]byte("mine"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dataset.NamespaceFor(root, &mine); err != nil || got != mine {
		t.Fatalf("override: %s %v", got, err)
	}
	reserved := share.TxNamespace
	if _, err := dataset.NamespaceFor(root, &reserved); !errors.Is(err, dataset.ErrInvalidNamespace) {
		t.Fatalf("a reserved override: %v", err)
	}
	if _, err := dataset.DefaultNamespace(cid.Undef); err == nil {
		t.Fatal("an undefined root has a namespace")
	}
}
