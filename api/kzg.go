package api

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// KZGCommitments is kzg.Commit's answer: the codec data is laid out with
// and, for each of its chunks in order, the KZG commitment and versioned
// hash that a PayForBlobs with KZG carries for a blob of that data. The
// shapes are blob.GetKZG's without the proofs: {"codec": "op-stack-v0",
// "chunks": [{"commitment": base64, "versioned_hash": "0x…"}, …]}.
type KZGCommitments struct {
	Codec  string               `json:"codec"`
	Chunks []KZGChunkCommitment `json:"chunks"`
}

// KZGChunkCommitment is one chunk's KZG commitment and its EIP-4844
// versioned hash.
type KZGChunkCommitment struct {
	Commitment    blob.KZGPoint `json:"commitment"`
	VersionedHash blob.Hex32    `json:"versioned_hash"`
}

// KZGModule is the "kzg" RPC module (mesh-node only): computations over
// data the caller sends, which read no chain data and submit nothing.
// Commit needs read, the weakest permission a method can need: it reveals
// nothing the caller did not send and changes nothing, but it costs CPU,
// which the Limiter bounds (it is heavy). A halted node still serves it:
// a commitment depends only on the caller's bytes, not on the blocks a
// bad-encoding proof makes untrustworthy.
type KZGModule struct {
	lim     *Limiter
	maxData int
}

// kzgMethods is the kzg module's table (see rpcTable).
var kzgMethods = rpcTable{namespace: "kzg", methods: map[string]rpcMethod{
	"Commit": {perm: PermRead, cost: costHeavy},
}}

func (*KZGModule) rpcTable() *rpcTable { return &kzgMethods }

// NewKZGModule returns the kzg module. opts.Limiter bounds its Commit
// calls; opts.Halt is unused (see KZGModule).
func NewKZGModule(opts ModuleOptions) *KZGModule {
	return newKZGModule(opts, share.MaxBlobSize)
}

// newKZGModule is NewKZGModule refusing data over maxData bytes.
func newKZGModule(opts ModuleOptions, maxData int) *KZGModule {
	return &KZGModule{lim: opts.Limiter, maxData: maxData}
}

// Commit (kzg.Commit, read; not in celestia-node) returns the KZG
// commitments and versioned hashes of data's chunks, those blob.Submit
// with "kzg": true signs into the PayForBlobs for a blob of data and
// blob.GetKZG returns once it is included, without submitting anything.
// They are kzg.Commit's (package kzg), one per kzg.MaxChunkSize bytes.
//
// data must hold 1 to share.MaxBlobSize bytes, the sizes a blob can have:
// empty (or null) data is refused with an error wrapping
// share.ErrEmptyBlob, larger data with one wrapping share.ErrBlobTooLarge,
// before anything is computed. (A chain's max_blob_size may be lower; this
// module does not know it, and the server's request size bounds data
// first unless raised.) The chunks are committed one at a time, and the
// call stops between two of them with ctx's error once ctx ends. The first
// KZG call of a process also loads the trusted setup (a few seconds).
func (m *KZGModule) Commit(ctx context.Context, data []byte) (*KZGCommitments, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("api: kzg.Commit: %w (a blob holds at least one byte)", share.ErrEmptyBlob)
	case len(data) > m.maxData:
		return nil, fmt.Errorf("api: kzg.Commit: %w: %d bytes, a blob holds at most %d", share.ErrBlobTooLarge, len(data), m.maxData)
	}
	out := &KZGCommitments{Codec: blob.KZGCodec, Chunks: make([]KZGChunkCommitment, 0, kzg.ChunkCount(len(data)))}
	// Chunk i of data is the blob of data's i-th piece of MaxChunkSize
	// bytes on its own (package kzg), so committing piece by piece gives
	// kzg.Commit(data) with a chance to stop in between.
	for rest := data; len(rest) > 0; rest = rest[min(len(rest), kzg.MaxChunkSize):] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cs, err := kzg.Commit(rest[:min(len(rest), kzg.MaxChunkSize)])
		if err != nil {
			return nil, fmt.Errorf("api: kzg.Commit: %w", err)
		}
		for _, c := range cs {
			out.Chunks = append(out.Chunks, KZGChunkCommitment{Commitment: blob.KZGPoint(c.Commitment), VersionedHash: c.VersionedHash})
		}
	}
	return out, nil
}
