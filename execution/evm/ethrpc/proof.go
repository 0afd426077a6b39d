package ethrpc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/datamesh/mesh-node/execution/evm"
)

// invalidParamsError is bad input as JSON-RPC error -32602, as
// go-ethereum's own server answers it.
type invalidParamsError struct{ msg string }

func (e invalidParamsError) Error() string  { return e.msg }
func (e invalidParamsError) ErrorCode() int { return -32602 }

// accountResult and storageResult are eth_getProof's answer (EIP-1186),
// member for member go-ethereum's.
type accountResult struct {
	Address      common.Address  `json:"address"`
	AccountProof []string        `json:"accountProof"`
	Balance      *hexutil.Big    `json:"balance"`
	CodeHash     common.Hash     `json:"codeHash"`
	Nonce        hexutil.Uint64  `json:"nonce"`
	StorageHash  common.Hash     `json:"storageHash"`
	StorageProof []storageResult `json:"storageProof"`
}

type storageResult struct {
	Key   string       `json:"key"`
	Value *hexutil.Big `json:"value"`
	Proof []string     `json:"proof"`
}

// parseStorageKey reads a storage key as go-ethereum's eth_getProof
// does: hex with or without 0x, of at most 32 bytes, an odd digit count
// padded on the left. It returns the key and its length in bytes.
func parseStorageKey(s string) (common.Hash, int, error) {
	d := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(d)%2 == 1 {
		d = "0" + d
	}
	if len(d) > 2*common.HashLength {
		return common.Hash{}, len(d) / 2, invalidParamsError{fmt.Sprintf("storage key too long (want at most 32 bytes): %q", s)}
	}
	b, err := hex.DecodeString(d)
	if err != nil {
		return common.Hash{}, 0, invalidParamsError{fmt.Sprintf("invalid hex in storage key: %q", s)}
	}
	return common.BytesToHash(b), len(b), nil
}

func hexNodes(nodes [][]byte) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = hexutil.Encode(n)
	}
	return out
}

// GetProof is eth_getProof: the account and the storage slots keys with
// their proofs against the state root of block b (latest if absent).
// A key given as 32 bytes is answered as such, a shorter one as a
// quantity, as go-ethereum does.
func (a *ethAPI) GetProof(ctx context.Context, addr common.Address, keys []string, b *rpc.BlockNumberOrHash) (*accountResult, error) {
	if len(keys) > evm.MaxProofKeys {
		return nil, invalidParamsError{fmt.Sprintf("too many storage keys requested (max %d, got %d)", evm.MaxProofKeys, len(keys))}
	}
	slots := make([]common.Hash, len(keys))
	lens := make([]int, len(keys))
	for i, k := range keys {
		var err error
		if slots[i], lens[i], err = parseStorageKey(k); err != nil {
			return nil, err
		}
	}
	n, err := a.height(ctx, b)
	if err != nil {
		return nil, err
	}
	p, err := a.x.Proof(ctx, addr, slots, n)
	if errors.Is(err, evm.ErrProofKeys) {
		return nil, invalidParamsError{err.Error()}
	}
	if err != nil {
		return nil, err
	}
	out := &accountResult{Address: p.Address, AccountProof: hexNodes(p.AccountProof), Balance: (*hexutil.Big)(p.Balance.ToBig()),
		CodeHash: p.CodeHash, Nonce: hexutil.Uint64(p.Nonce), StorageHash: p.StorageHash, StorageProof: make([]storageResult, len(p.Storage))}
	for i, s := range p.Storage {
		key := hexutil.Encode(s.Key[:])
		if lens[i] != common.HashLength {
			key = hexutil.EncodeBig(s.Key.Big())
		}
		out.StorageProof[i] = storageResult{Key: key, Value: (*hexutil.Big)(s.Value.Big()), Proof: hexNodes(s.Proof)}
	}
	return out, nil
}
