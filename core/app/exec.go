package app

import (
	"bytes"
	"fmt"
	"math/bits"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// Result is the outcome of executing one transaction.
type Result struct {
	// GasWanted is the transaction's gas limit, GasUsed the gas it was
	// charged for, Fee = GasUsed × gas price.
	GasWanted, GasUsed, Fee uint64
	// ValidatorUpdate is set for an executed MsgUpdateValidator.
	ValidatorUpdate *tx.MsgUpdateValidator
}

// DecodeTx decodes a mempool or block transaction: a bare Tx, or a BlobTx
// envelope with its blobs (btx non-nil). It rejects bytes that start with the
// data root transaction magic. btx does not alias raw.
func DecodeTx(raw []byte) (t *tx.Tx, btx *share.BlobTx, err error) {
	return decodeTx(raw, false)
}

// decodeTx is DecodeTx; with alias, btx's Tx and blobs are sub-slices of
// raw (share.UnmarshalBlobTxAliased) rather than copies of it.
func decodeTx(raw []byte, alias bool) (t *tx.Tx, btx *share.BlobTx, err error) {
	if header.IsDataRootTx(raw) {
		return nil, nil, tx.ErrReservedTx
	}
	if IsAttestationTx(raw) {
		return nil, nil, fmt.Errorf("%w: it starts with the attestation transaction magic", tx.ErrReservedTx)
	}
	inner := raw
	unmarshal := share.UnmarshalBlobTx
	if alias {
		unmarshal = share.UnmarshalBlobTxAliased
	}
	btx, isBlobTx, err := unmarshal(raw)
	if isBlobTx {
		if err != nil {
			return nil, nil, fmt.Errorf("app: blob tx: %w", err)
		}
		inner = btx.Tx
	} else {
		btx = nil
	}
	t, err = tx.UnmarshalTx(inner)
	if err != nil {
		return nil, nil, err
	}
	return t, btx, nil
}

// Execute validates raw against d and, if it is valid, applies it to d: the
// fee is charged (burned on a proof-of-authority chain, collected for the
// next block's distribution on a proof-of-stake one), the nonce
// incremented, the message executed. An invalid
// transaction leaves d unchanged; the error says why, and Code maps it to an
// ABCI code. Execute never panics on raw.
//
// Execute checks a PayForBlobs' KZG commitments for their shape and gas
// only (one commitment and proof per chunk, a chain whose params accept
// them); it does not verify the proofs against the blobs, which costs about
// a millisecond a chunk. CheckTx, PrepareTxs and ProcessTxs do that
// separately, in batches (verifyKZG, kzgBatch).
func Execute(d *Delta, raw []byte) (Result, error) {
	t, btx, err := DecodeTx(raw)
	if err != nil {
		return Result{}, err
	}
	return executeTx(d, t, btx, false)
}

// decodedTx is a transaction as DecodeTx returns it, with what is known of
// its bytes.
type decodedTx struct {
	t   *tx.Tx
	btx *share.BlobTx // nil for a bare transaction
	// hash is the SHA-256 of a BlobTx's bytes (CometBFT's tx hash), when
	// hashed is true: decodeCached hashes BlobTxs only, and only with a
	// cache to look them up in.
	hash   txHash
	hashed bool
	// blobsChecked says that the BlobTx's blobs pass checkBlobs and its KZG
	// proofs verify (both functions of its bytes and the genesis params):
	// validateTx and the proposal's KZG batch skip them. btx may then
	// carry no blobs (stripBlobs).
	blobsChecked bool
}

// decodeCached decodes raw (DecodeTx). With a cache (not nil), a BlobTx is
// hashed and blobsChecked when the cache has it.
//
// The BlobTx aliases raw: its blobs are not copied (a square's worth of
// copies per proposal and per CheckTx otherwise). That is safe because raw
// is never modified while the decoding is in use: the callers are CheckTx,
// PrepareTxs and ProcessTxs, whose transactions are CometBFT's mempool and
// proposal transactions, which it keeps unchanged for as long as it holds
// them (PrepareTxs's result, and so a proposal, aliases txs already). What
// outlives the call, a checkedProposal's decoded, is stripped of its blobs
// (stripBlobs), and a proposal whose bytes changed in place is not taken
// for the checked one (checkedProposal.builtBy, holds).
func decodeCached(raw []byte, cache *verifiedTxs) (decodedTx, error) {
	t, btx, err := decodeTx(raw, true)
	if err != nil {
		return decodedTx{}, err
	}
	dt := decodedTx{t: t, btx: btx}
	if btx != nil && cache != nil {
		dt.hash, dt.hashed = hashTx(raw), true
		dt.blobsChecked = cache.has(dt.hash)
	}
	return dt, nil
}

// stripBlobs returns dt without its blobs, which a blobsChecked
// transaction no longer needs, so that keeping it does not keep a copy of
// them.
func (dt decodedTx) stripBlobs() decodedTx {
	if dt.btx != nil && dt.blobsChecked {
		dt.btx = &share.BlobTx{Tx: dt.btx.Tx}
	}
	return dt
}

// executeTx is Execute of a decoded transaction; blobsChecked: its blobs
// are known to pass checkBlobs (decodedTx.blobsChecked).
func executeTx(d *Delta, t *tx.Tx, btx *share.BlobTx, blobsChecked bool) (Result, error) {
	c, err := validateTx(d, t, btx, blobsChecked)
	if err != nil {
		return Result{}, err
	}
	if !tx.IsStakingMsg(t.Body.Msg) {
		return c.apply(d), nil
	}
	// A staking message is checked by running it, after the fee is
	// charged; if it fails, the signer's account and the fees are restored
	// (staking itself changes nothing on error).
	prev, had := d.accounts[c.signer]
	prevFees := d.fees
	res := c.apply(d)
	if err := execStaking(d, t.Body.Msg); err != nil {
		if had {
			d.accounts[c.signer] = prev
		} else {
			delete(d.accounts, c.signer)
		}
		d.fees = prevFees
		return Result{}, err
	}
	return res, nil
}

// change is a transaction validateTx accepted: what executing it does.
type change struct {
	signer tx.Address
	acc    Account // the signer's account before the transaction
	pubKey []byte
	cost   uint64 // fee plus the amount sent
	send   *tx.MsgSend
	upd    *tx.MsgUpdateValidator
	reg    *tx.MsgRegisterEVMAddress
	res    Result
}

// validateTx runs every check of Execute on a decoded transaction against
// d, and returns what applying it changes. It only reads d. With
// blobsChecked it skips checkBlobs, which the caller knows the blobs pass.
func validateTx(d *Delta, t *tx.Tx, btx *share.BlobTx, blobsChecked bool) (change, error) {
	cfg := d.Config()
	if t.Body.ChainID != cfg.ChainID {
		return change{}, fmt.Errorf("%w: %q, this chain is %q", tx.ErrWrongChainID, t.Body.ChainID, cfg.ChainID)
	}
	if err := t.ValidateBasic(); err != nil {
		return change{}, err
	}
	if err := t.VerifySignature(); err != nil {
		return change{}, err
	}
	if err := checkConsensusMsg(d, t.Body.Msg); err != nil {
		return change{}, err
	}
	signer, err := t.Signer()
	if err != nil {
		return change{}, fmt.Errorf("%w: %v", tx.ErrInvalidSignature, err)
	}
	pfb, isPFB := t.Body.Msg.(*tx.MsgPayForBlobs)
	switch {
	case isPFB && btx == nil:
		return change{}, tx.ErrBlobTxRequired
	case !isPFB && btx != nil:
		return change{}, tx.ErrUnexpectedBlobTx
	case isPFB:
		if !blobsChecked {
			if err := checkBlobs(cfg.Params, pfb, btx.Blobs); err != nil {
				return change{}, err
			}
		}
		if pfb.KZG != nil && !cfg.Params.AcceptsKZG() {
			return change{}, fmt.Errorf("%w: this chain accepts no KZG commitments (gas_per_kzg_chunk is 0)", tx.ErrInvalidKZG)
		}
	}

	gas, ok := tx.GasUsed(cfg.Params, t.Body.Msg)
	if !ok {
		return change{}, fmt.Errorf("%w: gas overflows", tx.ErrInsufficientFee)
	}
	if t.Body.Fee.GasLimit < gas {
		return change{}, fmt.Errorf("%w: gas limit %d, the transaction uses %d", tx.ErrInsufficientFee, t.Body.Fee.GasLimit, gas)
	}
	if t.Body.Fee.GasPrice < cfg.Params.MinGasPrice {
		return change{}, fmt.Errorf("%w: gas price %d below the minimum %d", tx.ErrInsufficientFee, t.Body.Fee.GasPrice, cfg.Params.MinGasPrice)
	}
	hi, fee := bits.Mul64(gas, t.Body.Fee.GasPrice)
	if hi != 0 {
		return change{}, fmt.Errorf("%w: fee overflows", tx.ErrInsufficientFunds)
	}

	acc := d.Account(signer)
	if t.Body.Nonce != acc.Nonce {
		return change{}, fmt.Errorf("%w: account %s expects sequence %d, got %d", tx.ErrIncorrectSequence, signer, acc.Nonce, t.Body.Nonce)
	}
	cost := fee
	send, isSend := t.Body.Msg.(*tx.MsgSend)
	if isSend {
		var carry uint64
		if cost, carry = bits.Add64(fee, send.Amount, 0); carry != 0 {
			return change{}, fmt.Errorf("%w: amount plus fee overflows", tx.ErrInsufficientFunds)
		}
	}
	if acc.Balance < cost {
		return change{}, fmt.Errorf("%w: account %s has %d, needs %d (fee %d)", tx.ErrInsufficientFunds, signer, acc.Balance, cost, fee)
	}

	c := change{signer: signer, acc: acc, pubKey: t.PubKey, cost: cost, res: Result{GasWanted: t.Body.Fee.GasLimit, GasUsed: gas, Fee: fee}}
	if isSend {
		c.send = send
	}
	upd, isUpd := t.Body.Msg.(*tx.MsgUpdateValidator)
	if isUpd {
		if signer != cfg.Authority {
			return change{}, fmt.Errorf("%w: %s signed a validator update; the authority is %s", tx.ErrUnauthorized, signer, cfg.Authority)
		}
		old := d.ValidatorPower(upd.PubKey)
		if upd.Power == 0 && old == 0 {
			return change{}, fmt.Errorf("%w: %X is not a validator", tx.ErrInvalidValidatorSet, upd.PubKey)
		}
		total := d.totalPower() - old + upd.Power
		if total <= 0 {
			return change{}, fmt.Errorf("%w: removing %X would leave no validator", tx.ErrInvalidValidatorSet, upd.PubKey)
		}
		if total > tx.MaxValidatorPower {
			return change{}, fmt.Errorf("%w: total power %d over %d", tx.ErrInvalidValidatorSet, total, int64(tx.MaxValidatorPower))
		}
		c.upd = upd
	}
	if reg, isReg := t.Body.Msg.(*tx.MsgRegisterEVMAddress); isReg {
		// ValidateBasic verified both signatures for the chain ID.
		if d.ValidatorPower(reg.ValidatorPubKey) == 0 {
			return change{}, fmt.Errorf("%w: register EVM address: %X is not a validator", tx.ErrInvalidValidatorSet, reg.ValidatorPubKey)
		}
		if err := evmAddressTaken(d, reg); err != nil {
			return change{}, err
		}
		c.reg = reg
	}
	return c, nil
}

// apply makes c's changes to d, the Delta validateTx checked c against.
func (c change) apply(d *Delta) Result {
	acc := c.acc
	acc.Balance -= c.cost
	acc.Nonce++
	if acc.PubKey == nil {
		acc.PubKey = bytes.Clone(c.pubKey)
	}
	d.setAccount(c.signer, acc)
	if d.base.stake != nil {
		d.fees += c.res.Fee // paid to validators and delegators, not burned
	}
	res := c.res
	if c.send != nil {
		to := d.Account(c.send.To)
		to.Balance += c.send.Amount // cannot overflow: the supply fits a uint64
		d.setAccount(c.send.To, to)
	}
	if c.upd != nil {
		d.setValidator(c.upd.PubKey, c.upd.Power)
		res.ValidatorUpdate = c.upd
	}
	if c.reg != nil {
		d.evm[string(c.reg.ValidatorPubKey)] = c.reg.EVMAddress
	}
	return res
}

// checkBlobs checks that blobs are the ones pfb describes, in order:
// namespace, size (at most p.MaxBlobSize), share version, signer (for share
// version 1) and share commitment.
func checkBlobs(p tx.Params, pfb *tx.MsgPayForBlobs, blobs []*share.Blob) error {
	if len(blobs) != len(pfb.Namespaces) {
		return fmt.Errorf("%w: %d blobs, the message pays for %d", tx.ErrCommitmentMismatch, len(blobs), len(pfb.Namespaces))
	}
	for i, b := range blobs {
		if size := len(b.Data()); size > p.MaxBlobSize {
			return fmt.Errorf("%w: blob %d is %d bytes, the limit is %d", tx.ErrBlobTooLarge, i, size, p.MaxBlobSize)
		}
		if int64(pfb.BlobSizes[i]) > int64(p.MaxBlobSize) {
			return fmt.Errorf("%w: blob %d declared as %d bytes, the limit is %d", tx.ErrBlobTooLarge, i, pfb.BlobSizes[i], p.MaxBlobSize)
		}
	}
	for i, b := range blobs {
		switch {
		case b.Namespace() != pfb.Namespaces[i]:
			return fmt.Errorf("%w: blob %d namespace %s, the message says %s", tx.ErrCommitmentMismatch, i, b.Namespace(), pfb.Namespaces[i])
		case uint32(len(b.Data())) != pfb.BlobSizes[i]:
			return fmt.Errorf("%w: blob %d is %d bytes, the message says %d", tx.ErrCommitmentMismatch, i, len(b.Data()), pfb.BlobSizes[i])
		case uint32(b.ShareVersion()) != pfb.ShareVersions[i]:
			return fmt.Errorf("%w: blob %d share version %d, the message says %d", tx.ErrCommitmentMismatch, i, b.ShareVersion(), pfb.ShareVersions[i])
		case b.ShareVersion() == share.ShareVersionOne && !bytes.Equal(b.Signer(), pfb.Signer[:]):
			return fmt.Errorf("%w: blob %d signer %X is not the message signer %s", tx.ErrCommitmentMismatch, i, b.Signer(), pfb.Signer)
		}
		c, err := b.Commitment()
		if err != nil {
			return fmt.Errorf("app: blob %d commitment: %w", i, err)
		}
		if !bytes.Equal(c, pfb.ShareCommitments[i]) {
			return fmt.Errorf("%w: blob %d commitment %X, the message says %X", tx.ErrCommitmentMismatch, i, c, pfb.ShareCommitments[i])
		}
	}
	return nil
}
