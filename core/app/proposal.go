package app

import (
	"bytes"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// ErrInvalidProposal is wrapped by every reason ProcessTxs rejects a
// proposal for.
var ErrInvalidProposal = errors.New("app: invalid proposal")

// The proposal logic is pure: transactions and a state in, transactions or a
// decision out. App's PrepareProposal and ProcessProposal only call it.

// DataRootTx lays out txs (in square order) with share.Construct, extends
// the square and returns the encoded data root transaction for it.
func DataRootTx(txs [][]byte, maxSquareSize int) ([]byte, error) {
	sq, err := share.Construct(txs, maxSquareSize)
	if err != nil {
		return nil, err
	}
	return dataRootTxOf(sq)
}

func dataRootTxOf(sq share.Square) ([]byte, error) {
	ext, err := eds.Extend(sq.Shares)
	if err != nil {
		return nil, fmt.Errorf("app: extend square of width %d: %w", sq.Width, err)
	}
	dah, err := eds.NewDAH(ext)
	if err != nil {
		return nil, fmt.Errorf("app: data availability header: %w", err)
	}
	return header.DataRootTx{SquareSize: uint32(sq.Width), DataRoot: dah.Hash()}.Marshal()
}

// protoTxSize is what a transaction adds to CometBFT's count of a block's
// transaction bytes (types.ComputeProtoSizeForTxs): tag, length, bytes.
func protoTxSize(tx []byte) int64 {
	return int64(1 + protowire.SizeVarint(uint64(len(tx))) + len(tx))
}

// PrepareTxs returns a proposal's transactions: the valid transactions of
// txs (in priority order, executed in order against base, their KZG proofs
// verified), as many as fit the max square size and maxTxBytes in total
// (counted as CometBFT counts them, including the data root transaction),
// laid out by share.Build (bare transactions, then BlobTxs), followed by the
// data root transaction. A transaction that becomes invalid by the
// reordering (a nonce gap) is dropped. The result aliases txs; base is not
// modified.
//
// The KZG proofs are verified again here, in one batch over the candidates,
// although CheckTx verified each transaction when it entered the mempool:
// PrepareTxs is a function of its arguments and cannot know where txs came
// from, a transaction with a bad proof would make ProcessTxs reject the
// whole proposal (and, left in every mempool, every later one), and the
// batch costs the proposer what ProcessTxs costs every validator. A
// transaction whose proofs fail is dropped.
func PrepareTxs(base *State, txs [][]byte, maxTxBytes int64) ([][]byte, error) {
	return prepareTxs(base, nil, txs, maxTxBytes)
}

// prepareTxs is PrepareTxs with, when att is not nil, the attestation
// transaction att first (dropped only if it does not fit).
func prepareTxs(base *State, att []byte, txs [][]byte, maxTxBytes int64) ([][]byte, error) {
	budget := maxTxBytes - protoTxSize(make([]byte, header.DataRootTxSize))
	d := NewDelta(base)
	var candidates [][]byte
	if att != nil && protoTxSize(att) <= budget {
		budget -= protoTxSize(att)
		candidates = append(candidates, att)
	}
	var proofs kzgBatch
	for _, raw := range txs {
		size := protoTxSize(raw)
		if size > budget {
			continue
		}
		t, btx, err := DecodeTx(raw)
		if err != nil {
			continue
		}
		c, err := validateTx(d, t, btx)
		if err != nil {
			continue
		}
		if err := proofs.add(len(candidates), t, btx); err != nil {
			continue
		}
		c.apply(d)
		budget -= size
		candidates = append(candidates, raw)
	}
	if failed := proofs.verify(); len(failed) > 0 {
		drop := make(map[int]bool, len(failed))
		for _, f := range failed {
			drop[f.index] = true
		}
		kept := candidates[:0:0]
		for i, raw := range candidates {
			if !drop[i] {
				kept = append(kept, raw)
			}
		}
		candidates = kept // a later transaction of the same signer now has a nonce gap: dropped below
	}
	maxSquare := base.Config.Params.MaxSquareSize
	for {
		sq, kept, err := share.Build(candidates, maxSquare)
		if err != nil {
			return nil, fmt.Errorf("app: build square: %w", err)
		}
		// Build moved the BlobTxs after the bare transactions and dropped
		// what did not fit: execute again in square order.
		d := NewDelta(base)
		valid := kept[:0:0]
		for i, tx := range kept {
			if i == 0 && IsAttestationTx(tx) {
				valid = append(valid, tx) // checked by the caller; Build keeps it first
				continue
			}
			if _, err := Execute(d, tx); err == nil {
				valid = append(valid, tx)
			}
		}
		if len(valid) < len(kept) {
			candidates = valid
			continue // fewer transactions: lay out again
		}
		drt, err := dataRootTxOf(sq)
		if err != nil {
			return nil, err
		}
		return append(valid, drt), nil
	}
}

// ProcessTxs decides whether a proposal is acceptable: its last transaction
// must be a valid data root transaction and no other may look like one; its
// first may be an attestation transaction (no other may look like one)
// whose signatures of base's pending attestation reach the signing valset's
// threshold (checkAttestationTx);
// every other transaction must execute, in order, against base; they must
// lay out (share.Construct) within the max square size, and the square's
// width and data root must be the data root transaction's; and the KZG
// proofs of every PayForBlobs that carries them must verify against its
// blobs, checked in one batch over the whole proposal (each transaction
// alone only when the batch fails, to name it). A nil error accepts;
// otherwise the error (wrapping ErrInvalidProposal, and tx.ErrInvalidKZG
// for a proof) says why.
func ProcessTxs(base *State, txs [][]byte) error {
	if len(txs) == 0 {
		return fmt.Errorf("%w: no data root transaction", ErrInvalidProposal)
	}
	last := len(txs) - 1
	want, err := header.UnmarshalDataRootTx(txs[last])
	if err != nil {
		return fmt.Errorf("%w: last transaction: %w", ErrInvalidProposal, err)
	}
	body := txs[:last]
	d := NewDelta(base)
	var proofs kzgBatch
	for i, raw := range body {
		if header.IsDataRootTx(raw) {
			return fmt.Errorf("%w: tx %d is a data root transaction but not the last", ErrInvalidProposal, i)
		}
		if IsAttestationTx(raw) {
			if i != 0 {
				return fmt.Errorf("%w: tx %d is an attestation transaction but not the first", ErrInvalidProposal, i)
			}
			if _, err := checkAttestationTx(base, raw); err != nil {
				return fmt.Errorf("%w: tx 0: %w", ErrInvalidProposal, err)
			}
			continue
		}
		t, btx, err := DecodeTx(raw)
		if err == nil {
			_, err = executeTx(d, t, btx)
		}
		if err == nil {
			err = proofs.add(i, t, btx)
		}
		if err != nil {
			return fmt.Errorf("%w: tx %d: %w", ErrInvalidProposal, i, err)
		}
	}
	// go-eth-kzg verifies a batch on one core, while the extension and
	// the roots below use every core only part of the time: verifying
	// meanwhile hides most of its cost. The result is read after the data
	// root is checked, so a proposal wrong in both is refused for its data
	// root, as it would be without KZG.
	verified := proofs.verifyAsync()
	sq, err := share.Construct(body, base.Config.Params.MaxSquareSize)
	if err != nil {
		return fmt.Errorf("%w: square: %w", ErrInvalidProposal, err)
	}
	if uint32(sq.Width) != want.SquareSize {
		return fmt.Errorf("%w: square width %d, the data root transaction says %d", ErrInvalidProposal, sq.Width, want.SquareSize)
	}
	got, err := dataRootTxOf(sq)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProposal, err)
	}
	if !bytes.Equal(got, txs[last]) {
		return fmt.Errorf("%w: data root %X, the data root transaction says %X", ErrInvalidProposal, got[len(got)-32:], want.DataRoot)
	}
	if failed := <-verified; len(failed) > 0 {
		return fmt.Errorf("%w: tx %d: %w", ErrInvalidProposal, failed[0].index, failed[0].err)
	}
	return nil
}
