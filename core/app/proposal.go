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
	var sq squareInPlace
	if _, err := share.ConstructInto(txs, maxSquareSize, sq.cells); err != nil {
		return nil, err
	}
	drt, _, err := sq.dataRootTx()
	return drt, err
}

// builtSquare is the extended square of a proposal and its DAH, which
// App keeps for TakeSquare (WithSquareHandOff).
type builtSquare struct {
	ext *eds.ExtendedDataSquare
	dah *eds.DataAvailabilityHeader
}

// squareInPlace lays a square out straight into the original quadrant of
// its extended square (share.ConstructInto or share.BuildInto with cells,
// into an eds.ODSBuffer) and extends it in place: the square, its
// extension and its DAH are those of share.Construct (or Build),
// eds.Extend and eds.NewDAH, without a copy of the original square or a
// buffer besides the extended square's. The zero value is ready for one
// square.
type squareInPlace struct {
	buf   *eds.ODSBuffer
	width int
}

// cells is the share.SquareCells of the square.
func (s *squareInPlace) cells(width int) ([][]byte, error) {
	buf, err := eds.NewODSBuffer(width)
	if err != nil {
		return nil, fmt.Errorf("app: square of width %d: %w", width, err)
	}
	s.buf, s.width = buf, width
	return buf.Shares(), nil
}

// extend extends the laid-out square in place and computes its DAH. The
// extended square is not modified afterwards.
func (s *squareInPlace) extend() (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader, error) {
	if s.buf == nil {
		return nil, nil, errors.New("app: no square laid out")
	}
	ext, err := s.buf.Extend()
	if err != nil {
		return nil, nil, fmt.Errorf("app: extend square of width %d: %w", s.width, err)
	}
	dah, err := eds.NewDAH(ext)
	if err != nil {
		return nil, nil, fmt.Errorf("app: data availability header: %w", err)
	}
	return ext, dah, nil
}

// dataRootTx extends the laid-out square and returns the encoded data root
// transaction for it, with the extended square and its DAH (shared with
// nothing else).
func (s *squareInPlace) dataRootTx() ([]byte, builtSquare, error) {
	ext, dah, err := s.extend()
	if err != nil {
		return nil, builtSquare{}, err
	}
	drt, err := header.DataRootTx{SquareSize: uint32(ext.K()), DataRoot: dah.Hash()}.Marshal()
	if err != nil {
		return nil, builtSquare{}, err
	}
	return drt, builtSquare{ext: ext, dah: dah}, nil
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
// transaction whose proofs fail is dropped. (App.PrepareProposal knows
// where they came from: it skips the BlobTxs CheckTx verified.)
func PrepareTxs(base *State, txs [][]byte, maxTxBytes int64) ([][]byte, error) {
	out, _, _, err := prepareTxs(base, nil, txs, maxTxBytes, nil)
	return out, err
}

// prepareTxs is PrepareTxs with, when att is not nil, the attestation
// transaction att first (dropped only if it does not fit). It also returns
// the proposal's transactions decoded (checkedProposal.decoded) and its
// extended square. A BlobTx
// that cache holds is not checked again (checkBlobs, KZG proofs); one that
// passes those checks here is added to it. cache may be nil.
func prepareTxs(base *State, att []byte, txs [][]byte, maxTxBytes int64, cache *verifiedTxs) ([][]byte, []decodedTx, builtSquare, error) {
	budget := maxTxBytes - protoTxSize(make([]byte, header.DataRootTxSize))
	d := NewDelta(base)
	var candidates [][]byte
	var decoded []decodedTx // candidates[i]'s
	if att != nil && protoTxSize(att) <= budget {
		budget -= protoTxSize(att)
		candidates = append(candidates, att)
		decoded = append(decoded, decodedTx{})
	}
	var proofs kzgBatch
	for _, raw := range txs {
		size := protoTxSize(raw)
		if size > budget {
			continue
		}
		dt, err := decodeCached(raw, cache)
		if err != nil {
			continue
		}
		c, err := validateTx(d, dt.t, dt.btx, dt.blobsChecked)
		if err != nil {
			continue
		}
		if !dt.blobsChecked {
			if err := proofs.add(len(candidates), dt.t, dt.btx); err != nil {
				continue
			}
		}
		c.apply(d)
		budget -= size
		candidates = append(candidates, raw)
		decoded = append(decoded, dt)
	}
	if failed := proofs.verify(); len(failed) > 0 {
		drop := make(map[int]bool, len(failed))
		for _, f := range failed {
			drop[f.index] = true
		}
		kept, keptDecoded := candidates[:0:0], decoded[:0:0]
		for i, raw := range candidates {
			if !drop[i] {
				kept = append(kept, raw)
				keptDecoded = append(keptDecoded, decoded[i])
			}
		}
		candidates, decoded = kept, keptDecoded // a later transaction of the same signer now has a nonce gap: dropped below
	}
	// Every candidate's blobs passed checkBlobs and its proofs verified.
	// Build reorders the candidates: find each one's decoding by its bytes'
	// address and length (kept aliases candidates).
	type txRef struct {
		p *byte
		n int
	}
	byRef := make(map[txRef]decodedTx, len(candidates))
	for i, raw := range candidates {
		dt := decoded[i]
		if dt.btx != nil {
			dt.blobsChecked = true
			if dt.hashed {
				cache.add(dt.hash)
			}
		}
		if len(raw) > 0 {
			byRef[txRef{&raw[0], len(raw)}] = dt.stripBlobs()
		}
	}
	maxSquare := base.Config.Params.MaxSquareSize
	for {
		var sq squareInPlace
		_, kept, err := share.BuildInto(candidates, maxSquare, sq.cells)
		if err != nil {
			return nil, nil, builtSquare{}, fmt.Errorf("app: build square: %w", err)
		}
		// Build moved the BlobTxs after the bare transactions and dropped
		// what did not fit: execute again in square order.
		d := NewDelta(base)
		valid := kept[:0:0]
		validDecoded := make([]decodedTx, 0, len(kept)+1)
		for i, raw := range kept {
			if i == 0 && IsAttestationTx(raw) {
				valid = append(valid, raw) // checked by the caller; Build keeps it first
				validDecoded = append(validDecoded, decodedTx{})
				continue
			}
			dt, ok := decodedTx{}, false
			if len(raw) > 0 {
				dt, ok = byRef[txRef{&raw[0], len(raw)}]
			}
			if !ok {
				return nil, nil, builtSquare{}, fmt.Errorf("app: build square: tx %d is not a candidate", i)
			}
			if _, err := executeTx(d, dt.t, dt.btx, dt.blobsChecked); err == nil {
				valid = append(valid, raw)
				validDecoded = append(validDecoded, dt)
			}
		}
		if len(valid) < len(kept) {
			candidates = valid
			continue // fewer transactions: lay out again
		}
		drt, built, err := sq.dataRootTx()
		if err != nil {
			return nil, nil, builtSquare{}, err
		}
		return append(valid, drt), append(validDecoded, decodedTx{}), built, nil
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
	_, _, err := processTxs(base, txs, nil, nil)
	return err
}

// processTxs is ProcessTxs, returning on acceptance the transactions
// decoded (checkedProposal.decoded) and the extended square it built (none
// for own). A BlobTx that cache holds is not
// checked again (checkBlobs, KZG proofs); on acceptance every BlobTx of the
// proposal is added to it. cache may be nil.
//
// With own not nil, txs are a proposal prepareTxs built against base and
// own is its decoding: the checks that depend on base (the attestation,
// the execution of every transaction in order) run as for any proposal,
// while the blobs, the KZG proofs, the layout and the data root, which
// depend on the transactions' bytes only and which prepareTxs computed
// from the same bytes, are not checked again.
func processTxs(base *State, txs [][]byte, own []decodedTx, cache *verifiedTxs) ([]decodedTx, builtSquare, error) {
	if len(txs) == 0 {
		return nil, builtSquare{}, fmt.Errorf("%w: no data root transaction", ErrInvalidProposal)
	}
	if own != nil && len(own) != len(txs) {
		return nil, builtSquare{}, fmt.Errorf("app: own proposal of %d transactions decoded as %d", len(txs), len(own))
	}
	last := len(txs) - 1
	want, err := header.UnmarshalDataRootTx(txs[last])
	if err != nil {
		return nil, builtSquare{}, fmt.Errorf("%w: last transaction: %w", ErrInvalidProposal, err)
	}
	body := txs[:last]
	d := NewDelta(base)
	decoded := own
	if decoded == nil {
		decoded = make([]decodedTx, len(txs))
	}
	var proofs kzgBatch
	for i, raw := range body {
		if header.IsDataRootTx(raw) {
			return nil, builtSquare{}, fmt.Errorf("%w: tx %d is a data root transaction but not the last", ErrInvalidProposal, i)
		}
		if IsAttestationTx(raw) {
			if i != 0 {
				return nil, builtSquare{}, fmt.Errorf("%w: tx %d is an attestation transaction but not the first", ErrInvalidProposal, i)
			}
			if _, err := checkAttestationTx(base, raw); err != nil {
				return nil, builtSquare{}, fmt.Errorf("%w: tx 0: %w", ErrInvalidProposal, err)
			}
			continue
		}
		dt := decoded[i]
		var err error
		if own == nil {
			dt, err = decodeCached(raw, cache)
		} else if dt.t == nil || (dt.btx != nil && !dt.blobsChecked) {
			err = fmt.Errorf("app: own proposal's tx %d not decoded", i) // prepareTxs decodes and checks every one
		}
		if err == nil {
			_, err = executeTx(d, dt.t, dt.btx, dt.blobsChecked)
		}
		if err == nil && !dt.blobsChecked {
			err = proofs.add(i, dt.t, dt.btx)
		}
		if err != nil {
			return nil, builtSquare{}, fmt.Errorf("%w: tx %d: %w", ErrInvalidProposal, i, err)
		}
		decoded[i] = dt
	}
	if own != nil {
		return own, builtSquare{}, nil
	}
	// go-eth-kzg verifies a batch on one core, while the extension and
	// the roots below use every core only part of the time: verifying
	// meanwhile hides most of its cost. The result is read after the data
	// root is checked, so a proposal wrong in both is refused for its data
	// root, as it would be without KZG.
	verified := proofs.verifyAsync()
	var square squareInPlace
	sq, err := share.ConstructInto(body, base.Config.Params.MaxSquareSize, square.cells)
	if err != nil {
		return nil, builtSquare{}, fmt.Errorf("%w: square: %w", ErrInvalidProposal, err)
	}
	if uint32(sq.Width) != want.SquareSize {
		return nil, builtSquare{}, fmt.Errorf("%w: square width %d, the data root transaction says %d", ErrInvalidProposal, sq.Width, want.SquareSize)
	}
	got, built, err := square.dataRootTx()
	if err != nil {
		return nil, builtSquare{}, fmt.Errorf("%w: %w", ErrInvalidProposal, err)
	}
	if !bytes.Equal(got, txs[last]) {
		return nil, builtSquare{}, fmt.Errorf("%w: data root %X, the data root transaction says %X", ErrInvalidProposal, got[len(got)-32:], want.DataRoot)
	}
	if failed := <-verified; len(failed) > 0 {
		return nil, builtSquare{}, fmt.Errorf("%w: tx %d: %w", ErrInvalidProposal, failed[0].index, failed[0].err)
	}
	for i, dt := range decoded {
		if dt.btx != nil {
			dt.blobsChecked = true
			if dt.hashed {
				cache.add(dt.hash)
			}
			decoded[i] = dt.stripBlobs()
		}
	}
	return decoded, built, nil
}
