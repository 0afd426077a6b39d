package evm

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/holiman/uint256"
)

// MaxProofKeys is the most storage keys one Proof may prove,
// go-ethereum's bound on eth_getProof.
const MaxProofKeys = 1024

// ErrProofKeys: a Proof of more than MaxProofKeys storage keys.
var ErrProofKeys = errors.New("evm: too many storage keys")

// Proof is an account and some of its storage slots with their
// Merkle-Patricia proofs (EIP-1186) against the state root of a block.
// The caller owns it.
type Proof struct {
	// Height and Root are the block's number and state root.
	Height uint64
	Root   common.Hash
	// Address is the account; AccountProof the trie nodes (RLP) on the
	// path from Root to keccak256(Address), root first. For an absent
	// account they end where the path leaves the trie, and Balance,
	// Nonce, CodeHash and StorageHash are zero (go-ethereum's answer).
	Address      common.Address
	AccountProof [][]byte
	Balance      *uint256.Int
	Nonce        uint64
	CodeHash     common.Hash
	StorageHash  common.Hash
	// Storage holds one entry per key asked, in order.
	Storage []StorageProof
}

// StorageProof is one storage slot and its proof against the account's
// StorageHash: the trie nodes (RLP) on the path to keccak256(Key), root
// first. A zero Value is an absent slot, proven absent; an account with
// no storage has an empty Proof.
type StorageProof struct {
	Key   common.Hash
	Value common.Hash
	Proof [][]byte
}

// proofNodes collects the nodes trie.Prove writes, in order.
type proofNodes [][]byte

func (p *proofNodes) Put(_, value []byte) error {
	*p = append(*p, bytes.Clone(value))
	return nil
}

func (p *proofNodes) Delete([]byte) error { return errors.New("evm: proof nodes are write-only") }

var _ ethdb.KeyValueWriter = (*proofNodes)(nil)

// Proof proves the account addr and its storage slots keys in the state
// after the block at height n with go-ethereum's tries (trie.Prove),
// which trie.VerifyProof checks against the block's state root. Every
// block's state is kept, so any executed height can be proven; a height
// with no block is an error wrapping ErrNotFound, more than MaxProofKeys
// keys one wrapping ErrProofKeys. ctx is checked between keys.
func (e *Executor) Proof(ctx context.Context, addr common.Address, keys []common.Hash, n uint64) (*Proof, error) {
	if len(keys) > MaxProofKeys {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrProofKeys, len(keys), MaxProofKeys)
	}
	sdb, hdr, err := e.StateAt(ctx, n)
	if err != nil {
		return nil, err
	}
	out := &Proof{Height: n, Root: hdr.Root, Address: addr, Balance: new(uint256.Int).Set(sdb.GetBalance(addr)),
		Nonce: sdb.GetNonce(addr), CodeHash: sdb.GetCodeHash(addr), StorageHash: sdb.GetStorageRoot(addr),
		AccountProof: [][]byte{}, Storage: make([]StorageProof, len(keys))}
	accounts, err := e.statedb.OpenTrie(hdr.Root)
	if err != nil {
		return nil, fmt.Errorf("evm: proof at %d: %w", n, err)
	}
	if err := accounts.Prove(crypto.Keccak256(addr[:]), (*proofNodes)(&out.AccountProof)); err != nil {
		return nil, fmt.Errorf("evm: proof of account %s at %d: %w", addr, n, err)
	}
	hasStorage := out.StorageHash != types.EmptyRootHash && out.StorageHash != (common.Hash{})
	var slots interface {
		Prove(key []byte, w ethdb.KeyValueWriter) error
	}
	if hasStorage && len(keys) > 0 {
		st, err := e.statedb.OpenStorageTrie(hdr.Root, addr, out.StorageHash, nil)
		if err != nil {
			return nil, fmt.Errorf("evm: proof of %s's storage at %d: %w", addr, n, err)
		}
		slots = st
	}
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sp := StorageProof{Key: k, Proof: [][]byte{}}
		if slots != nil {
			if err := slots.Prove(crypto.Keccak256(k[:]), (*proofNodes)(&sp.Proof)); err != nil {
				return nil, fmt.Errorf("evm: proof of %s's slot %s at %d: %w", addr, k, n, err)
			}
			sp.Value = sdb.GetState(addr, k)
		}
		out.Storage[i] = sp
	}
	if err := sdb.Error(); err != nil {
		return nil, fmt.Errorf("evm: proof at %d: %w", n, err)
	}
	return out, nil
}
