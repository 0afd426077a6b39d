package dataset

import (
	"crypto/sha256"
	"fmt"

	mdag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// The import parameters of the IPIP-499 unixfs-v1-2025 profile (boxo's
// io.UnixFS_v1_2025, kubo's `ipfs config profile apply unixfs-v1-2025`).
// Import hands them to boxo on every call; it never sets boxo's
// process-wide defaults (io.UnixFSProfile.ApplyGlobals).
const (
	// ChunkSize is the size of a file's leaves: files are cut into
	// 1,048,576-byte chunks (the last one shorter), each a raw block.
	ChunkSize = 1 << 20
	// MaxLinks is the most links a file's interior node has (the balanced
	// layout fills each node up to it).
	MaxLinks = 1024
	// HAMTShardingSize is the size, in bytes of the serialised dag-pb block,
	// above which a directory becomes a HAMT (sharded) directory; a directory
	// of exactly this size stays a basic one.
	HAMTShardingSize = 256 << 10
	// HAMTFanout is the width of a HAMT directory's nodes.
	HAMTFanout = 256
)

// MaxBlockSize is the largest block, in bytes of block data, that a part
// may hold and Pack accepts: bitswap's limit, the largest block a stock
// IPFS peer fetches. The profile's blocks are at most ChunkSize plus a few
// hundred bytes.
const MaxBlockSize = 2 << 20

// cidBuilder is the CID prefix of the profile's dag-pb nodes: CIDv1,
// sha2-256. Leaves take the same prefix with the raw codec.
var cidBuilder = cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}

// checkGlobals fails when another part of the process changed the one
// boxo default Import cannot pass per call: the field order of dag-pb
// nodes, which the profile pins to the canonical links-first order.
func checkGlobals() error {
	if mdag.DefaultPBNodeFieldOrder != mdag.PBNodeLinksFirst {
		return fmt.Errorf("%w: merkledag.DefaultPBNodeFieldOrder is not links-first (something called a profile's ApplyGlobals)", ErrProfile)
	}
	return nil
}

// checkDataCID checks that c is a CID a dataset DAG may hold: CIDv1,
// sha2-256 (32 bytes), codec dag-pb or raw.
func checkDataCID(c cid.Cid) error {
	if !c.Defined() {
		return fmt.Errorf("%w: undefined CID", ErrUnsupportedCID)
	}
	p := c.Prefix()
	if p.Version != 1 {
		return fmt.Errorf("%w: %s is CIDv%d, want CIDv1", ErrUnsupportedCID, c, p.Version)
	}
	if p.Codec != cid.DagProtobuf && p.Codec != cid.Raw {
		return fmt.Errorf("%w: %s has codec 0x%x, want dag-pb or raw", ErrUnsupportedCID, c, p.Codec)
	}
	return checkHash(c)
}

// checkHash checks that c's multihash is a 32-byte sha2-256.
func checkHash(c cid.Cid) error {
	p := c.Prefix()
	if p.MhType != mh.SHA2_256 || p.MhLength != sha256.Size {
		return fmt.Errorf("%w: %s has multihash 0x%x (%d bytes), want sha2-256", ErrUnsupportedCID, c, p.MhType, p.MhLength)
	}
	return nil
}

// verifyBlock checks that data hashes to c, whose multihash checkHash
// accepted.
func verifyBlock(c cid.Cid, data []byte) error {
	dec, err := mh.Decode(c.Hash())
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnsupportedCID, c, err)
	}
	sum := sha256.Sum256(data)
	if string(dec.Digest) != string(sum[:]) {
		return fmt.Errorf("%w: block %s", ErrHashMismatch, c)
	}
	return nil
}

// CheckBlock checks a block read back from storage: c is a dataset CID
// (ErrUnsupportedCID), data is at most MaxBlockSize bytes (ErrTooLarge)
// and hashes to c (ErrHashMismatch).
func CheckBlock(c cid.Cid, data []byte) error {
	if err := checkDataCID(c); err != nil {
		return err
	}
	if len(data) > MaxBlockSize {
		return fmt.Errorf("%w: block %s is %d bytes, the limit is %d", ErrTooLarge, c, len(data), MaxBlockSize)
	}
	return verifyBlock(c, data)
}
