package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// BlobService is what the blob module serves: package blob's service.
type BlobService interface {
	// Submit pays for blobs in one transaction and returns the height it
	// was included at.
	Submit(ctx context.Context, blobs []*blob.Blob, cfg *state.TxConfig) (uint64, error)
	// Get returns the blob of namespace ns with commitment c at height.
	Get(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.Blob, error)
	// GetAll returns every blob of the namespaces at height.
	GetAll(ctx context.Context, height uint64, nss []share.Namespace) ([]*blob.Blob, error)
	// GetProof returns the inclusion proof of the blob.
	GetProof(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.Proof, error)
	// GetCommitmentProof returns the proof of the blob's commitment to
	// the data root.
	GetCommitmentProof(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.CommitmentProof, error)
	// Included reports whether proof proves the blob at height.
	Included(ctx context.Context, height uint64, ns share.Namespace, proof *blob.Proof, c blob.Commitment) (bool, error)
	// Subscribe sends the blobs of ns at each height from fromHeight (0:
	// the next height) until ctx ends, then closes the channel.
	Subscribe(ctx context.Context, ns share.Namespace, fromHeight uint64) (<-chan *blob.SubscriptionResponse, error)
	// GetByCommitment returns the blob with commitment c and its height.
	GetByCommitment(ctx context.Context, c blob.Commitment) (*blob.CommitmentResult, error)
	// GetKZG returns the blob's KZG commitments and blob proofs, checked.
	GetKZG(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.KZGInfo, error)
	// OpenKZG opens a chunk of the blob at z.
	OpenKZG(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment, chunk int, z [32]byte) (*blob.KZGOpening, error)
	// GetKZGCells returns cells of a chunk's EIP-7594 extension with
	// their proofs, checked.
	GetKZGCells(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment, chunk int, indices []uint64) (*blob.KZGCells, error)
}

// BlobModule is the "blob" RPC module: celestia-node's blob methods with
// their permissions (Submit write, the rest read). Once the node halts on
// a bad-encoding proof (ModuleOptions.Halt), Submit is refused, the reads
// refuse the heights at and above the proven block, and subscriptions end
// before them, each with (or, for a subscription, at) the halt's error.
type BlobModule struct {
	svc  BlobService
	lim  *Limiter
	halt Halt
}

// blobMethods is the blob module's table (see rpcTable).
var blobMethods = rpcTable{namespace: "blob", methods: map[string]rpcMethod{
	"Submit":             {perm: PermWrite},
	"Get":                {perm: PermRead, cost: costHeavy},
	"GetAll":             {perm: PermRead, cost: costHeavy},
	"GetProof":           {perm: PermRead, cost: costHeavy},
	"GetCommitmentProof": {perm: PermRead, cost: costHeavy},
	"Included":           {perm: PermRead},
	"Subscribe":          {perm: PermRead},
	"SubscribeFrom":      {perm: PermRead},
	"GetByCommitment":    {perm: PermRead},
	"GetKZG":             {perm: PermRead, cost: costHeavy},
	"OpenKZG":            {perm: PermRead, cost: costHeavy},
	"GetKZGCells":        {perm: PermRead, cost: costHeavy},
}}

func (*BlobModule) rpcTable() *rpcTable { return &blobMethods }

// NewBlobModule returns the blob module over svc. opts.Limiter bounds its
// heavy calls (Get, GetAll, GetProof, GetCommitmentProof and the KZG
// reads); opts.Halt
// refuses what a bad-encoding proof stops.
func NewBlobModule(svc BlobService, opts ModuleOptions) *BlobModule {
	return &BlobModule{svc: svc, lim: opts.Limiter, halt: checkHalt(opts.Halt)}
}

// notFound returns blob.ErrBlobNotFound itself for any error wrapping it,
// so the JSON-RPC message is exactly celestia-node's "blob: not found",
// which clients compare against.
func notFound(err error) error {
	if errors.Is(err, blob.ErrBlobNotFound) {
		return blob.ErrBlobNotFound
	}
	return err
}

// Submit (blob.Submit, write) submits blobs in one PayForBlobs transaction
// with options (null: the defaults) and returns its height. The options
// are state.TxConfig's JSON, decoded as encoding/json does (unknown fields
// ignored): celestia-node's fields, and DataMesh's "kzg", which signs the
// blobs' EIP-4844 KZG commitments and proofs into the transaction.
func (m *BlobModule) Submit(ctx context.Context, blobs []*blob.Blob, options *state.TxConfig) (uint64, error) {
	if err := requirePerm(ctx, m); err != nil {
		return 0, err
	}
	if err := haltAny(m.halt); err != nil {
		return 0, err
	}
	if blobs == nil {
		// The server decoded them ahead of go-jsonrpc (predecodeSubmit).
		blobs = preSubmitted(ctx)
	}
	if len(blobs) == 0 {
		return 0, fmt.Errorf("%w: no blobs to submit", blob.ErrInvalidBlob)
	}
	for i, b := range blobs {
		if b == nil {
			return 0, fmt.Errorf("%w: blob %d is null", blob.ErrInvalidBlob, i)
		}
	}
	return m.svc.Submit(ctx, blobs, options)
}

// Get (blob.Get, read) returns the blob of namespace with commitment at
// height; "blob: not found" if there is none.
func (m *BlobModule) Get(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment) (*blob.Blob, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	b, err := m.svc.Get(ctx, height, namespace, commitment)
	return b, notFound(err)
}

// GetAll (blob.GetAll, read) returns the blobs of the namespaces at
// height.
func (m *BlobModule) GetAll(ctx context.Context, height uint64, namespaces []share.Namespace) ([]*blob.Blob, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	bs, err := m.svc.GetAll(ctx, height, namespaces)
	return bs, notFound(err)
}

// GetProof (blob.GetProof, read) returns the inclusion proof of the blob
// of namespace with commitment at height.
func (m *BlobModule) GetProof(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment) (*blob.Proof, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	p, err := m.svc.GetProof(ctx, height, namespace, commitment)
	return p, notFound(err)
}

// GetCommitmentProof (blob.GetCommitmentProof, read) returns the proof
// that commitment, of the blob of namespace at height, is in the square
// under the header's data root (for Blobstream); "blob: not found" if
// there is no such blob.
func (m *BlobModule) GetCommitmentProof(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment) (*blob.CommitmentProof, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	p, err := m.svc.GetCommitmentProof(ctx, height, namespace, commitment)
	return p, notFound(err)
}

// Included (blob.Included, read) reports whether proof proves the blob of
// namespace with commitment at height.
func (m *BlobModule) Included(ctx context.Context, height uint64, namespace share.Namespace, proof *blob.Proof, commitment blob.Commitment) (bool, error) {
	if err := requirePerm(ctx, m); err != nil {
		return false, err
	}
	if err := haltErr(m.halt, height); err != nil {
		return false, err
	}
	if proof == nil {
		return false, fmt.Errorf("api: blob.Included: proof is null")
	}
	ok, err := m.svc.Included(ctx, height, namespace, proof, commitment)
	return ok, notFound(err)
}

// Subscribe (blob.Subscribe, read; WebSocket only) streams the blobs of
// namespace at every new height, from the next one, until the caller
// cancels or the connection closes. A halted node refuses it (the next
// height is above the proven block), and a subscription ends when the
// node halts.
func (m *BlobModule) Subscribe(ctx context.Context, namespace share.Namespace) (<-chan *blob.SubscriptionResponse, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.subscribe(ctx, namespace, 0)
}

// subscribe is the blob subscription from fromHeight (0: the next
// height), ended before the first height the halt refuses.
func (m *BlobModule) subscribe(ctx context.Context, namespace share.Namespace, fromHeight uint64) (<-chan *blob.SubscriptionResponse, error) {
	if m.halt == nil {
		return m.svc.Subscribe(ctx, namespace, fromHeight)
	}
	// The next height of a subscription from the head is above any block
	// the node has a proof of (it holds the block's header).
	if err := m.halt.Any(); err != nil && (fromHeight == 0 || m.halt.Err(fromHeight) != nil) {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	in, err := m.svc.Subscribe(sctx, namespace, fromHeight)
	if err != nil {
		cancel()
		return nil, err
	}
	return haltedStream(ctx, m.halt, fromHeight, in, func(r *blob.SubscriptionResponse) uint64 { return r.Height }, cancel), nil
}

// SubscribeFrom (blob.SubscribeFrom, read; WebSocket only; not in
// celestia-node) is Subscribe resuming at fromHeight: a client that lost
// its connection passes the height after the last one it received.
// go-jsonrpc needs every parameter, so this cannot be an optional third
// parameter of Subscribe. On a halted node it streams the heights below
// the proven block, then ends; from the block on it is refused.
func (m *BlobModule) SubscribeFrom(ctx context.Context, namespace share.Namespace, fromHeight uint64) (<-chan *blob.SubscriptionResponse, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.subscribe(ctx, namespace, fromHeight)
}

// GetByCommitment (blob.GetByCommitment, read; not in celestia-node)
// returns the blob with commitment and the height it was included at;
// "blob: not found" if the node has not seen it. On a halted node a blob
// at or above the proven block is refused with the halt's error.
func (m *BlobModule) GetByCommitment(ctx context.Context, commitment blob.Commitment) (*blob.CommitmentResult, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	r, err := m.svc.GetByCommitment(ctx, commitment)
	if err != nil {
		return nil, notFound(err)
	}
	if r != nil {
		if err := haltErr(m.halt, r.Height); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// GetKZG (blob.GetKZG, read; not in celestia-node) returns the EIP-4844
// KZG commitments, versioned hashes and blob proofs of the blob of
// namespace with commitment at height, as its PayForBlobs carries them,
// checked against the blob's bytes; "blob: not found" if there is no such
// blob, blob.ErrNoKZG's message if it was paid for without KZG.
func (m *BlobModule) GetKZG(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment) (*blob.KZGInfo, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	info, err := m.svc.GetKZG(ctx, height, namespace, commitment)
	return info, notFound(err)
}

// OpenKZG (blob.OpenKZG, read; not in celestia-node) opens chunk chunk
// (from 0) of the blob of namespace with commitment at height at the
// point z (0x-hex, a canonical BLS12-381 field element): the value y, its
// KZG proof, and the input of Ethereum's point-evaluation precompile.
func (m *BlobModule) OpenKZG(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment, chunk int, z blob.Hex32) (*blob.KZGOpening, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	o, err := m.svc.OpenKZG(ctx, height, namespace, commitment, chunk, z)
	return o, notFound(err)
}

// GetKZGCells (blob.GetKZGCells, read; not in celestia-node) returns the
// cells at indices of the EIP-7594 extension of chunk chunk of the blob of
// namespace with commitment at height, with their cell proofs against the
// chunk's KZG commitment.
func (m *BlobModule) GetKZGCells(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment, chunk int, indices []uint64) (*blob.KZGCells, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	cells, err := m.svc.GetKZGCells(ctx, height, namespace, commitment, chunk, indices)
	return cells, notFound(err)
}
