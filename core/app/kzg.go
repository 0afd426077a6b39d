package app

import (
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// The KZG proofs of PayForBlobs are checked apart from Execute: Execute
// checks their shape and charges their gas, which is cheap, while the
// pairing check costs about a millisecond a chunk and is worth doing once
// for many chunks. Validators never compute a commitment: they check the
// blob proof the sender signed against the chunk's bytes, taken from the
// blobs the BlobTx carries.

// kzgBatch collects, from decoded transactions, the (chunk, commitment,
// proof) triples of every chunk of every blob with KZG commitments, to
// verify them in one kzg.VerifyBlobProofBatch. The chunks are kept as the
// blob bytes they are (they alias the transactions) and encoded as
// EIP-4844 blobs by verify, so that collecting costs no more than the
// slicing. The zero value is an empty batch. It is not safe for concurrent
// use.
type kzgBatch struct {
	chunks      [][]byte
	commitments []kzg.Commitment
	proofs      []kzg.Proof
	txs         []kzgSpan // one per transaction with KZG, in the order added
}

// kzgSpan is one transaction's entries in a kzgBatch: [start, end).
type kzgSpan struct {
	index      int // the caller's index of the transaction
	start, end int
}

// add collects the triples of t, whose index in the caller's list is index;
// btx carries its blobs. It does nothing for a transaction without KZG
// commitments. t is expected to have passed Execute, which checked the
// counts; add checks them again against the chunks of the blobs (never
// panicking) and returns an error wrapping tx.ErrInvalidKZG if they differ.
func (b *kzgBatch) add(index int, t *tx.Tx, btx *share.BlobTx) error {
	pfb, ok := t.Body.Msg.(*tx.MsgPayForBlobs)
	if !ok || pfb.KZG == nil {
		return nil
	}
	if btx == nil {
		return fmt.Errorf("%w: KZG commitments without a blob tx", tx.ErrInvalidKZG)
	}
	if len(btx.Blobs) != len(pfb.KZG) {
		return fmt.Errorf("%w: KZG for %d blobs, the blob tx carries %d", tx.ErrInvalidKZG, len(pfb.KZG), len(btx.Blobs))
	}
	// Check every count before collecting anything, so a refused
	// transaction leaves the batch as it was.
	for i, k := range pfb.KZG {
		if len(k.Commitments) == 0 {
			continue
		}
		if n := kzg.ChunkCount(len(btx.Blobs[i].Data())); n != len(k.Commitments) || n != len(k.Proofs) {
			return fmt.Errorf("%w: blob %d has %d chunks, %d KZG commitments, %d proofs", tx.ErrInvalidKZG, i, n, len(k.Commitments), len(k.Proofs))
		}
	}
	span := kzgSpan{index: index, start: len(b.chunks)}
	for i, k := range pfb.KZG {
		data := btx.Blobs[i].Data()
		for j := range k.Commitments {
			b.chunks = append(b.chunks, data[j*kzg.MaxChunkSize:min((j+1)*kzg.MaxChunkSize, len(data))])
			b.commitments = append(b.commitments, kzg.Commitment(k.Commitments[j]))
			b.proofs = append(b.proofs, kzg.Proof(k.Proofs[j]))
		}
	}
	span.end = len(b.chunks)
	b.txs = append(b.txs, span)
	return nil
}

// kzgFailure is a transaction whose proofs do not verify.
type kzgFailure struct {
	index int   // as given to add
	err   error // wraps tx.ErrInvalidKZG, or kzg.ErrSetup
}

// verify checks every collected proof in one batch and returns nil when all
// hold. Otherwise it verifies each transaction's proofs alone and returns
// those that fail, in the order added: at least one, since the batch failed
// (should none fail alone, every transaction is returned, each with the
// batch's error). A trusted setup that does not load fails every
// transaction with an error wrapping kzg.ErrSetup.
func (b *kzgBatch) verify() []kzgFailure {
	if len(b.chunks) == 0 {
		return nil // a block without KZG never loads the trusted setup
	}
	blobs := make([]*kzg.Blob, len(b.chunks))
	for i, c := range b.chunks {
		blob, err := kzg.EncodeChunk(c)
		if err != nil { // add cut the chunks to the codec's size
			return b.failAll(fmt.Errorf("app: encode KZG chunk: %w", err))
		}
		blobs[i] = blob
	}
	err := verifyProofs(blobs, b.commitments, b.proofs)
	if err == nil {
		return nil
	}
	if len(b.txs) == 1 {
		return []kzgFailure{{index: b.txs[0].index, err: err}}
	}
	var failed []kzgFailure
	for _, s := range b.txs {
		if err := verifyProofs(blobs[s.start:s.end], b.commitments[s.start:s.end], b.proofs[s.start:s.end]); err != nil {
			failed = append(failed, kzgFailure{index: s.index, err: err})
		}
	}
	if len(failed) == 0 {
		return b.failAll(err)
	}
	return failed
}

// failAll fails every transaction of the batch with err.
func (b *kzgBatch) failAll(err error) []kzgFailure {
	failed := make([]kzgFailure, len(b.txs))
	for i, s := range b.txs {
		failed[i] = kzgFailure{index: s.index, err: err}
	}
	return failed
}

// verifyAsync runs verify in a goroutine of its own and sends its result
// on the returned channel (buffered: the goroutine ends whether or not the
// result is read). An empty batch is answered at once, with no goroutine.
// b must not be changed until the result is received.
func (b *kzgBatch) verifyAsync() <-chan []kzgFailure {
	out := make(chan []kzgFailure, 1)
	if len(b.chunks) == 0 {
		out <- nil
		return out
	}
	go func() { out <- b.verify() }()
	return out
}

// verifyProofs is kzg.VerifyBlobProofBatch with its errors wrapped:
// tx.ErrInvalidKZG for proofs that do not verify or points that are not
// valid commitments or proofs, the bare error for a setup that does not
// load (the node's fault, not the transaction's).
func verifyProofs(blobs []*kzg.Blob, commitments []kzg.Commitment, proofs []kzg.Proof) error {
	err := kzg.VerifyBlobProofBatch(blobs, commitments, proofs)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kzg.ErrSetup):
		return fmt.Errorf("app: verify KZG proofs: %w", err)
	default:
		return fmt.Errorf("%w: %d chunks: %w", tx.ErrInvalidKZG, len(blobs), err)
	}
}

// verifyKZG verifies the KZG proofs of one decoded transaction (none for a
// transaction without KZG commitments): nil if they hold, else an error
// wrapping tx.ErrInvalidKZG (or kzg.ErrSetup).
func verifyKZG(t *tx.Tx, btx *share.BlobTx) error {
	var b kzgBatch
	if err := b.add(0, t, btx); err != nil {
		return err
	}
	if failed := b.verify(); len(failed) > 0 {
		return failed[0].err
	}
	return nil
}

// carriesKZG reports whether t is a PayForBlobs with KZG commitments.
func carriesKZG(t *tx.Tx) bool {
	pfb, ok := t.Body.Msg.(*tx.MsgPayForBlobs)
	return ok && pfb.KZG != nil
}
