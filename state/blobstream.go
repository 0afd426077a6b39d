package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// ErrNotAttested is wrapped when the chain holds no Blobstream record for
// a query: no attestation of that nonce, no data commitment covering that
// height yet, no valset at that nonce, no EVM address for that validator
// (the application's tx.CodeNotFound).
var ErrNotAttested = errors.New("state: blobstream: no such record")

// Attestation returns the attestation with nonce from the core node's
// application at its last committed block (tx.AttestationQueryPath): a
// valset or a data commitment, attested (with its signatures) or still
// pending. The chain's answer is only checked for shape: the caller that
// needs to trust it verifies its signatures (blobstream.VerifySignatures).
func (c *Client) Attestation(ctx context.Context, nonce uint64) (*tx.Attestation, error) {
	var a tx.Attestation
	if err := c.queryBlobstream(ctx, tx.AttestationQueryPath, strconv.FormatUint(nonce, 10), &a); err != nil {
		return nil, err
	}
	if a.Nonce != nonce {
		return nil, fmt.Errorf("state: blobstream: asked for attestation %d, the answer is %d", nonce, a.Nonce)
	}
	return &a, nil
}

// DataCommitment returns the data commitment attestation whose range
// [BeginBlock, EndBlock) covers height (tx.DataCommitmentQueryPath),
// attested or pending. ErrNotAttested when the window holding height has not
// ended yet, or it ended before the first valset existed.
func (c *Client) DataCommitment(ctx context.Context, height uint64) (*tx.Attestation, error) {
	var a tx.Attestation
	if err := c.queryBlobstream(ctx, tx.DataCommitmentQueryPath, strconv.FormatUint(height, 10), &a); err != nil {
		return nil, err
	}
	if a.Kind != tx.AttestationDataCommitment || height < a.BeginBlock || height >= a.EndBlock {
		return nil, fmt.Errorf("state: blobstream: asked for the data commitment of height %d, the answer is a %s of [%d, %d)",
			height, a.Kind, a.BeginBlock, a.EndBlock)
	}
	return &a, nil
}

// Valset returns the valset attestation in force at nonce
// (tx.ValsetQueryPath): the one with the largest nonce ≤ nonce, with its
// members in the contract's order and its power threshold.
func (c *Client) Valset(ctx context.Context, nonce uint64) (*tx.Attestation, error) {
	var a tx.Attestation
	if err := c.queryBlobstream(ctx, tx.ValsetQueryPath, strconv.FormatUint(nonce, 10), &a); err != nil {
		return nil, err
	}
	if a.Kind != tx.AttestationValset || a.Nonce > nonce || a.Nonce == 0 {
		return nil, fmt.Errorf("state: blobstream: asked for the valset at nonce %d, the answer is a %s of nonce %d", nonce, a.Kind, a.Nonce)
	}
	return &a, nil
}

// LatestAttestationNonces returns the latest nonce made due and the latest
// attested one (tx.LatestNonceQueryPath); both 0 on a chain without
// attestations.
func (c *Client) LatestAttestationNonces(ctx context.Context) (tx.BlobstreamNonces, error) {
	var n tx.BlobstreamNonces
	err := c.queryBlobstream(ctx, tx.LatestNonceQueryPath, "", &n)
	return n, err
}

// EVMAddress returns the EVM address registered for a validator
// (tx.EVMAddressQueryPath): validator is its ed25519 consensus key (64 hex
// digits) or CometBFT address (40 hex digits).
func (c *Client) EVMAddress(ctx context.Context, validator string) (tx.EVMAddressInfo, error) {
	var info tx.EVMAddressInfo
	err := c.queryBlobstream(ctx, tx.EVMAddressQueryPath, validator, &info)
	return info, err
}

// RegisterEVMAddress submits msg, a validator's registration of its EVM
// address (tx.NewMsgRegisterEVMAddress), paid by the key cfg selects (cfg
// may be nil), and returns once a block includes it, as Transfer does. The
// chain checks both of msg's signatures for its chain ID; a refused
// registration is a *TxError (ErrTxFailed). TxConfig.KZG is refused.
func (c *Client) RegisterEVMAddress(ctx context.Context, msg *tx.MsgRegisterEVMAddress, cfg *TxConfig) (*TxResponse, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: no registration", ErrInvalidTx)
	}
	if cfg != nil && cfg.KZG {
		return nil, fmt.Errorf("%w: kzg is an option of PayForBlobs; a registration has no blobs", ErrInvalidTx)
	}
	return c.submit(ctx, cfg, func(tx.Address) (tx.Msg, []*share.Blob, error) { return msg, nil, nil })
}

// queryBlobstream asks the application path with data and decodes its JSON
// answer into out. tx.CodeNotFound is ErrNotAttested, with the
// application's log.
func (c *Client) queryBlobstream(ctx context.Context, path, data string, out any) error {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	q, err := c.rpc.ABCIQuery(ctx, path, []byte(data))
	if err != nil {
		return fmt.Errorf("state: query %s %q: %w", path, data, err)
	}
	switch q.Response.Code {
	case tx.CodeOK:
	case tx.CodeNotFound:
		return fmt.Errorf("%w: %s", ErrNotAttested, q.Response.Log)
	default:
		return fmt.Errorf("state: query %s %q: code %d: %s", path, data, q.Response.Code, q.Response.Log)
	}
	if err := json.Unmarshal(q.Response.Value, out); err != nil {
		return fmt.Errorf("state: query %s %q: decode answer: %w", path, data, err)
	}
	return nil
}
