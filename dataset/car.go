package dataset

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-varint"
)

// maxHeaderSize bounds the CARv1 header a decoder reads: one root CID
// and a version take under 100 bytes.
const maxHeaderSize = 256

// CARHeader returns the CARv1 header with root as its only root, as
// go-car and `ipfs dag export root` write it: the varint length, then the
// dag-cbor map {"roots": [root], "version": 1}. Every part of a dataset
// starts with it, so this header followed by the parts' bytes after it,
// part after part, is the export of the dataset's DAG.
func CARHeader(root cid.Cid) ([]byte, error) {
	if !root.Defined() {
		return nil, fmt.Errorf("%w: undefined root", ErrUnsupportedCID)
	}
	n, err := qp.BuildMap(basicnode.Prototype.Any, 2, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "roots", qp.List(1, func(la datamodel.ListAssembler) {
			qp.ListEntry(la, qp.Link(cidlink.Link{Cid: root}))
		}))
		qp.MapEntry(ma, "version", qp.Int(1))
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: CAR header: %w", err)
	}
	var body bytes.Buffer
	if err := dagcbor.Encode(n, &body); err != nil {
		return nil, fmt.Errorf("dataset: CAR header: %w", err)
	}
	return append(varint.ToUvarint(uint64(body.Len())), body.Bytes()...), nil
}

// carHeaderStart is what every canonical CARv1 header holds after its
// length varint: a dag-cbor map of two entries whose first key is "roots".
var carHeaderStart = []byte{0xa2, 0x65, 'r', 'o', 'o', 't', 's'}

// LooksLikeCAR reports, without decoding or allocating, whether data
// starts like a CAR header CARHeader writes: a one-byte length varint
// within the header size limit, then a dag-cbor map whose first key is
// "roots". It is the cheap test an indexer runs on every blob before it
// decodes one as a part or a manifest; true does not mean the data is
// valid.
func LooksLikeCAR(data []byte) bool {
	if len(data) < 1+len(carHeaderStart) || data[0] == 0 || data[0] >= 0x80 {
		return false
	}
	return int(data[0]) <= len(data)-1 && bytes.Equal(data[1:1+len(carHeaderStart)], carHeaderStart)
}

// readHeader reads the CARv1 header at the start of data and returns its
// root and length. The header must be the one CARHeader writes for that
// root, byte for byte.
func readHeader(data []byte) (cid.Cid, int, error) {
	l, n, err := varint.FromUvarint(data)
	if err != nil {
		return cid.Undef, 0, fmt.Errorf("%w: header length: %v", ErrMalformedCAR, err)
	}
	if l == 0 || l > maxHeaderSize || l > uint64(len(data)-n) {
		return cid.Undef, 0, fmt.Errorf("%w: header length %d (%d bytes follow, the limit is %d)", ErrMalformedCAR, l, len(data)-n, maxHeaderSize)
	}
	end := n + int(l)
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := (dagcbor.DecodeOptions{AllowLinks: true}).Decode(nb, bytes.NewReader(data[n:end])); err != nil {
		return cid.Undef, 0, fmt.Errorf("%w: header: %v", ErrMalformedCAR, err)
	}
	roots, err := nb.Build().LookupByString("roots")
	if err != nil {
		return cid.Undef, 0, fmt.Errorf("%w: header has no roots", ErrMalformedCAR)
	}
	if roots.Length() != 1 {
		return cid.Undef, 0, fmt.Errorf("%w: header has %d roots, want 1", ErrMalformedCAR, roots.Length())
	}
	first, err := roots.LookupByIndex(0)
	if err != nil {
		return cid.Undef, 0, fmt.Errorf("%w: header root: %v", ErrMalformedCAR, err)
	}
	lnk, err := first.AsLink()
	if err != nil {
		return cid.Undef, 0, fmt.Errorf("%w: header root is not a link", ErrMalformedCAR)
	}
	cl, ok := lnk.(cidlink.Link)
	if !ok || !cl.Cid.Defined() {
		return cid.Undef, 0, fmt.Errorf("%w: header root is not a CID", ErrMalformedCAR)
	}
	want, err := CARHeader(cl.Cid)
	if err != nil {
		return cid.Undef, 0, err
	}
	if !bytes.Equal(want, data[:end]) {
		return cid.Undef, 0, fmt.Errorf("%w: header is not the canonical CARv1 header of %s", ErrMalformedCAR, cl.Cid)
	}
	return cl.Cid, end, nil
}

// sectionSize is the length of the CAR section of a block of dataLen
// bytes under c: the varint length, the CID, the data.
func sectionSize(c cid.Cid, dataLen int) int {
	n := c.ByteLen() + dataLen
	return varint.UvarintSize(uint64(n)) + n
}

// appendSection appends the CAR section of the block (c, data) to buf.
func appendSection(buf []byte, c cid.Cid, data []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(c.ByteLen()+len(data)))
	buf = append(buf, c.Bytes()...)
	return append(buf, data...)
}

// readSection reads the CAR section at data[off:]: it returns the block's
// CID, the offset of its data in data and the offset of the next section.
// It checks the section's framing only (no hash, no CID rules).
func readSection(data []byte, off int) (c cid.Cid, dataOff, next int, err error) {
	l, n, err := varint.FromUvarint(data[off:])
	if err != nil {
		return cid.Undef, 0, 0, fmt.Errorf("%w: section at %d: length: %v", ErrMalformedCAR, off, err)
	}
	rest := len(data) - off - n
	if l == 0 || l > uint64(rest) {
		return cid.Undef, 0, 0, fmt.Errorf("%w: section at %d: length %d, %d bytes follow", ErrMalformedCAR, off, l, rest)
	}
	start, end := off+n, off+n+int(l)
	cn, c, err := cid.CidFromBytes(data[start:end])
	if err != nil {
		return cid.Undef, 0, 0, fmt.Errorf("%w: section at %d: CID: %v", ErrMalformedCAR, off, err)
	}
	return c, start + cn, end, nil
}
