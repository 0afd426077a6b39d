package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
)

// ExtendVote signs the pending attestation (State.PendingAttestation,
// whose data is all in committed blocks) with the blobstream key, when
// the key's EVM address is in the valset that signs it: the extension is a
// VoteExtension. Otherwise it is empty.
func (a *App) ExtendVote(_ context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := &abci.ResponseExtendVote{}
	if a.state == nil || a.bsKey == nil {
		return res, nil
	}
	att, signers := a.state.PendingAttestation()
	if att == nil || signers == nil {
		return res, nil
	}
	me := blobstream.AddressOf(a.bsKey.PubKey())
	member := false
	for _, m := range signers.Validators {
		member = member || m.EVMAddress == me
	}
	if !member {
		return res, nil
	}
	sig, err := blobstream.Sign(a.bsKey, att.Digest())
	if err != nil {
		a.logger.Error("sign attestation", "nonce", att.Nonce, "height", req.Height, "err", err)
		return res, nil
	}
	res.VoteExtension = VoteExtension{Nonce: att.Nonce, Signature: sig}.Marshal()
	return res, nil
}

// VerifyVoteExtension accepts an empty extension, or a signature of the
// pending attestation by the EVM address the voting validator has in the
// valset that signs it; it rejects anything else (CometBFT then drops the
// vote).
func (a *App) VerifyVoteExtension(_ context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(req.VoteExtension) == 0 {
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
	}
	if a.state == nil {
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
	}
	if _, _, err := checkExtension(a.state, req.ValidatorAddress, req.VoteExtension); err != nil {
		a.logger.Warn("rejected vote extension", "height", req.Height, "validator", fmt.Sprintf("%X", req.ValidatorAddress), "err", err)
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
	}
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

// collectAttestation returns the attestation transaction of the pending
// attestation from the extensions of commit, each checked again, or nil
// when there is none or they do not reach the threshold.
func (a *App) collectAttestation(commit abci.ExtendedCommitInfo) []byte {
	att, signers := a.state.PendingAttestation()
	if att == nil || signers == nil {
		return nil
	}
	sigs := make([]blobstream.Signature, len(signers.Validators))
	for _, v := range commit.Votes {
		idx, e, err := checkExtension(a.state, v.Validator.Address, v.VoteExtension)
		if err != nil || idx < 0 {
			continue
		}
		sigs[idx] = e.Signature
	}
	raw := AttestationTx{Nonce: att.Nonce, Signatures: sigs}.Marshal()
	if _, err := checkAttestationTx(a.state, raw); err != nil {
		return nil // not enough signatures yet
	}
	return raw
}

func isBlobstreamQuery(path string) bool {
	switch path {
	case tx.AttestationQueryPath, tx.DataCommitmentQueryPath, tx.LatestNonceQueryPath, tx.ValsetQueryPath, tx.EVMAddressQueryPath:
		return true
	}
	return false
}

// queryBlobstream answers Blobstream's query paths (see tx's constants).
func (a *App) queryBlobstream(req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	bad := func(err error) (*abci.ResponseQuery, error) {
		return &abci.ResponseQuery{Code: tx.CodeInvalidMsg, Log: err.Error()}, nil
	}
	notFound := func(format string, args ...any) (*abci.ResponseQuery, error) {
		return &abci.ResponseQuery{Code: tx.CodeNotFound, Log: fmt.Sprintf(format, args...)}, nil
	}
	var answer any
	switch req.Path {
	case tx.LatestNonceQueryPath:
		answer = a.state.Nonces()
	case tx.EVMAddressQueryPath:
		b, err := hex.DecodeString(string(req.Data))
		if err != nil || (len(b) != 32 && len(b) != 20) {
			return bad(fmt.Errorf("app: query %s: want 64 or 40 hex digits, got %q", req.Path, truncate(req.Data)))
		}
		for pk, addr := range a.state.bs.evm {
			if pk == string(b) || string(cmted25519.PubKey(pk).Address()) == string(b) {
				answer = tx.EVMAddressInfo{ValidatorPubKey: []byte(pk), EVMAddress: addr}
			}
		}
		if answer == nil {
			return notFound("app: no EVM address registered for %X", b)
		}
	default:
		n, err := strconv.ParseUint(string(req.Data), 10, 64)
		if err != nil {
			return bad(fmt.Errorf("app: query %s: %q is not a decimal number", req.Path, truncate(req.Data)))
		}
		var att *tx.Attestation
		var ok bool
		switch req.Path {
		case tx.AttestationQueryPath:
			att, ok = a.state.Attestation(n)
		case tx.DataCommitmentQueryPath:
			att, ok = a.state.DataCommitmentAt(n)
		default: // tx.ValsetQueryPath
			att, ok = a.state.ValsetAt(n)
		}
		if !ok {
			return notFound("app: query %s: nothing for %d", req.Path, n)
		}
		answer = att
	}
	v, err := json.Marshal(answer)
	if err != nil {
		return nil, err
	}
	return &abci.ResponseQuery{Value: v, Height: a.height}, nil
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
