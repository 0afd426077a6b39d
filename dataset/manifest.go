package dataset

import (
	"bytes"
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	mh "github.com/multiformats/go-multihash"
)

// ManifestVersion is the version a manifest carries (its "version" field).
const ManifestVersion = 1

// CommitmentSize is the length of a part's commitment: a blob's share
// commitment, a SHA-256 Merkle root.
const CommitmentSize = 32

// PartRef locates a posted part: the height of the block whose square holds
// its blob and the blob's share commitment.
type PartRef struct {
	Height     uint64
	Commitment []byte
}

// Manifest ties a dataset's parts together. It is the dag-cbor map
//
//	{"root": <dataset root CID>, "size": <sum of the blocks' data lengths>,
//	 "blocks": <number of blocks>, "version": 1,
//	 "parts": [{"height": <height>, "commitment": <32 bytes>}, ...]}
//
// in canonical dag-cbor (keys by length, then bytewise), parts in order.
type Manifest struct {
	Root   cid.Cid
	Size   uint64
	Blocks uint64
	Parts  []PartRef
}

// manifestCIDPrefix is the manifest block's CID prefix: CIDv1, dag-cbor,
// sha2-256.
var manifestCIDPrefix = cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: mh.SHA2_256, MhLength: -1}

// ManifestFor returns the manifest CAR of a dataset, once its parts are
// posted: a CARv1 whose single block is the dag-cbor Manifest of root,
// size and blocks (Pack's Summary) and parts (in Pack's order), and whose
// header root is that block's CID (returned too). root must be a dataset
// CID, parts non-empty with at most blocks entries, each at a height from
// 1 with a CommitmentSize-byte commitment, and every number at most
// math.MaxInt64 (ErrMalformedManifest otherwise).
func ManifestFor(root cid.Cid, size, blocks uint64, parts []PartRef) ([]byte, cid.Cid, error) {
	m := Manifest{Root: root, Size: size, Blocks: blocks, Parts: parts}
	if err := m.validate(); err != nil {
		return nil, cid.Undef, err
	}
	block, err := m.encode()
	if err != nil {
		return nil, cid.Undef, err
	}
	c, err := manifestCIDPrefix.Sum(block)
	if err != nil {
		return nil, cid.Undef, fmt.Errorf("dataset: manifest: %w", err)
	}
	header, err := CARHeader(c)
	if err != nil {
		return nil, cid.Undef, err
	}
	out := make([]byte, 0, len(header)+sectionSize(c, len(block)))
	out = append(out, header...)
	return appendSection(out, c, block), c, nil
}

func (m Manifest) validate() error {
	if err := checkDataCID(m.Root); err != nil {
		return fmt.Errorf("%w: root: %w", ErrMalformedManifest, err)
	}
	if len(m.Parts) == 0 {
		return fmt.Errorf("%w: no parts", ErrMalformedManifest)
	}
	if uint64(len(m.Parts)) > m.Blocks {
		return fmt.Errorf("%w: %d parts for %d blocks", ErrMalformedManifest, len(m.Parts), m.Blocks)
	}
	if m.Size > math.MaxInt64 || m.Blocks > math.MaxInt64 {
		return fmt.Errorf("%w: size or block count over 2^63-1", ErrMalformedManifest)
	}
	for i, p := range m.Parts {
		if p.Height == 0 || p.Height > math.MaxInt64 {
			return fmt.Errorf("%w: part %d: height %d", ErrMalformedManifest, i, p.Height)
		}
		if len(p.Commitment) != CommitmentSize {
			return fmt.Errorf("%w: part %d: commitment is %d bytes, want %d", ErrMalformedManifest, i, len(p.Commitment), CommitmentSize)
		}
	}
	return nil
}

// encode returns the manifest's dag-cbor block; m is valid.
func (m Manifest) encode() ([]byte, error) {
	n, err := qp.BuildMap(basicnode.Prototype.Any, 5, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "version", qp.Int(ManifestVersion))
		qp.MapEntry(ma, "root", qp.Link(cidlink.Link{Cid: m.Root}))
		qp.MapEntry(ma, "size", qp.Int(int64(m.Size)))
		qp.MapEntry(ma, "blocks", qp.Int(int64(m.Blocks)))
		qp.MapEntry(ma, "parts", qp.List(int64(len(m.Parts)), func(la datamodel.ListAssembler) {
			for _, p := range m.Parts {
				qp.ListEntry(la, qp.Map(2, func(ma datamodel.MapAssembler) {
					qp.MapEntry(ma, "height", qp.Int(int64(p.Height)))
					qp.MapEntry(ma, "commitment", qp.Bytes(p.Commitment))
				}))
			}
		}))
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: manifest: %w", err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		return nil, fmt.Errorf("dataset: manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeManifest decodes a manifest CAR, untrusted, and returns the
// manifest and its CID (the CAR's root). It accepts exactly what
// ManifestFor writes and returns an error, never panics, for anything
// else: data longer than maxSize (ErrTooLarge); a CAR that is not one
// canonical header and one section, the block the header names
// (ErrMalformedCAR); a block CID that is not CIDv1 dag-cbor sha2-256
// (ErrUnsupportedCID) or that the block does not hash to (ErrHashMismatch);
// a block that is not a valid manifest in canonical dag-cbor
// (ErrMalformedManifest). It does not check the manifest against the
// chain: that its parts exist and hold the dataset is the caller's to
// verify.
func DecodeManifest(data []byte, maxSize int) (Manifest, cid.Cid, error) {
	if len(data) > maxSize {
		return Manifest{}, cid.Undef, fmt.Errorf("%w: manifest is %d bytes, the limit is %d", ErrTooLarge, len(data), maxSize)
	}
	root, off, err := readHeader(data)
	if err != nil {
		return Manifest{}, cid.Undef, err
	}
	if off == len(data) {
		return Manifest{}, cid.Undef, fmt.Errorf("%w: manifest CAR has no block", ErrMalformedCAR)
	}
	c, dataOff, next, err := readSection(data, off)
	if err != nil {
		return Manifest{}, cid.Undef, err
	}
	if next != len(data) {
		return Manifest{}, cid.Undef, fmt.Errorf("%w: %d bytes after the manifest block", ErrMalformedCAR, len(data)-next)
	}
	if !c.Equals(root) {
		return Manifest{}, cid.Undef, fmt.Errorf("%w: header names %s, the block is %s", ErrMalformedCAR, root, c)
	}
	if p := c.Prefix(); p.Version != 1 || p.Codec != cid.DagCBOR {
		return Manifest{}, cid.Undef, fmt.Errorf("%w: manifest CID %s is not CIDv1 dag-cbor", ErrUnsupportedCID, c)
	}
	if err := checkHash(c); err != nil {
		return Manifest{}, cid.Undef, err
	}
	block := data[dataOff:next]
	if err := verifyBlock(c, block); err != nil {
		return Manifest{}, cid.Undef, err
	}
	m, err := parseManifest(block)
	if err != nil {
		return Manifest{}, cid.Undef, err
	}
	if err := m.validate(); err != nil {
		return Manifest{}, cid.Undef, err
	}
	// One encoding per manifest: what decodes must be what ManifestFor
	// writes (canonical integers, no extra fields).
	again, err := m.encode()
	if err != nil {
		return Manifest{}, cid.Undef, err
	}
	if !bytes.Equal(again, block) {
		return Manifest{}, cid.Undef, fmt.Errorf("%w: not the canonical encoding", ErrMalformedManifest)
	}
	return m, c, nil
}

// parseManifest reads the fields of a manifest block; validate checks
// their values.
func parseManifest(block []byte) (Manifest, error) {
	nb := basicnode.Prototype.Any.NewBuilder()
	opts := dagcbor.DecodeOptions{AllowLinks: true, AllocationBudget: int64(len(block)) * 8, MaxDepth: 4}
	if err := opts.Decode(nb, bytes.NewReader(block)); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrMalformedManifest, err)
	}
	n := nb.Build()
	if n.Kind() != datamodel.Kind_Map || n.Length() != 5 {
		return Manifest{}, fmt.Errorf("%w: not a map of 5 fields", ErrMalformedManifest)
	}
	var m Manifest
	version, err := uintField(n, "version")
	if err != nil {
		return Manifest{}, err
	}
	if version != ManifestVersion {
		return Manifest{}, fmt.Errorf("%w: version %d, want %d", ErrMalformedManifest, version, ManifestVersion)
	}
	rootNode, err := n.LookupByString("root")
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: no root", ErrMalformedManifest)
	}
	lnk, err := rootNode.AsLink()
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: root is not a link", ErrMalformedManifest)
	}
	cl, ok := lnk.(cidlink.Link)
	if !ok {
		return Manifest{}, fmt.Errorf("%w: root is not a CID", ErrMalformedManifest)
	}
	m.Root = cl.Cid
	if m.Size, err = uintField(n, "size"); err != nil {
		return Manifest{}, err
	}
	if m.Blocks, err = uintField(n, "blocks"); err != nil {
		return Manifest{}, err
	}
	parts, err := n.LookupByString("parts")
	if err != nil || parts.Kind() != datamodel.Kind_List {
		return Manifest{}, fmt.Errorf("%w: no parts list", ErrMalformedManifest)
	}
	m.Parts = make([]PartRef, 0, parts.Length())
	it := parts.ListIterator()
	for !it.Done() {
		i, p, err := it.Next()
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: parts: %v", ErrMalformedManifest, err)
		}
		if p.Kind() != datamodel.Kind_Map || p.Length() != 2 {
			return Manifest{}, fmt.Errorf("%w: part %d is not a map of 2 fields", ErrMalformedManifest, i)
		}
		var ref PartRef
		if ref.Height, err = uintField(p, "height"); err != nil {
			return Manifest{}, err
		}
		cn, err := p.LookupByString("commitment")
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: part %d has no commitment", ErrMalformedManifest, i)
		}
		if ref.Commitment, err = cn.AsBytes(); err != nil {
			return Manifest{}, fmt.Errorf("%w: part %d: commitment is not bytes", ErrMalformedManifest, i)
		}
		m.Parts = append(m.Parts, ref)
	}
	return m, nil
}

// uintField returns the non-negative integer field key of map n.
func uintField(n datamodel.Node, key string) (uint64, error) {
	f, err := n.LookupByString(key)
	if err != nil {
		return 0, fmt.Errorf("%w: no %s", ErrMalformedManifest, key)
	}
	v, err := f.AsInt()
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: %s is not a non-negative integer", ErrMalformedManifest, key)
	}
	return uint64(v), nil
}
