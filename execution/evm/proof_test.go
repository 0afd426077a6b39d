package evm_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/gethclient"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
)

// proofDB holds the nodes of a proof keyed by their hash, as
// trie.VerifyProof reads them.
func proofDB(t *testing.T, nodes []string) *memorydb.Database {
	t.Helper()
	db := memorydb.New()
	for _, n := range nodes {
		b, err := hexutil.Decode(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Put(crypto.Keccak256(b), b); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// verifyAccount checks p's account proof against root and that the
// proven account is p's balance, nonce, storage hash and code hash; it
// returns the verification error.
func verifyAccount(t *testing.T, root common.Hash, p *gethclient.AccountResult) error {
	t.Helper()
	v, err := trie.VerifyProof(root, crypto.Keccak256(p.Address[:]), proofDB(t, p.AccountProof))
	if err != nil {
		return err
	}
	if v == nil {
		if p.Balance.Sign() != 0 || p.Nonce != 0 || p.StorageHash != (common.Hash{}) || p.CodeHash != (common.Hash{}) {
			t.Errorf("absent account %s answered %+v", p.Address, p)
		}
		return nil
	}
	var acc types.StateAccount
	if err := rlp.DecodeBytes(v, &acc); err != nil {
		t.Fatalf("account RLP: %v", err)
	}
	if acc.Balance.ToBig().Cmp(p.Balance) != 0 || acc.Nonce != p.Nonce || acc.Root != p.StorageHash || !bytes.Equal(acc.CodeHash, p.CodeHash[:]) {
		t.Errorf("proven account %+v, answered %+v", acc, p)
	}
	return nil
}

// verifySlot checks a storage proof against storageHash and that the
// proven value is the answered one.
func verifySlot(t *testing.T, storageHash common.Hash, key common.Hash, sp gethclient.StorageResult) error {
	t.Helper()
	v, err := trie.VerifyProof(storageHash, crypto.Keccak256(key[:]), proofDB(t, sp.Proof))
	if err != nil {
		return err
	}
	var content []byte
	if v != nil {
		if err := rlp.DecodeBytes(v, &content); err != nil {
			t.Fatalf("slot RLP: %v", err)
		}
	}
	if new(big.Int).SetBytes(content).Cmp(sp.Value) != 0 {
		t.Errorf("slot %s: proven %x, answered %v", key, content, sp.Value)
	}
	return nil
}

// balanceSlot is the storage key of balanceOf[who] in Token.sol
// (the mapping is at slot 1).
func balanceSlot(who common.Address) common.Hash {
	return crypto.Keccak256Hash(common.LeftPadBytes(who[:], 32), common.LeftPadBytes([]byte{1}, 32))
}

func rpcCode(err error) int {
	var re rpc.Error
	if errors.As(err, &re) {
		return re.ErrorCode()
	}
	return 0
}

// TestGetProof deploys the ERC-20, transfers, and checks eth_getProof's
// account and storage proofs (through gethclient) with trie.VerifyProof
// against the stateRoot of eth_getBlockByNumber: at the head and at the
// deployment block, for present and absent slots and an absent account.
// Against another block's root, or with a byte of a node flipped, the
// proofs fail. A follower fed the same blocks answers the same.
func TestGetProof(t *testing.T) {
	ctx := context.Background()
	g, key := devGenesis(t)
	ch := newChain(t, badgertest.Open(t), g)
	c := serve(t, ch.x)
	gc := gethclient.New(c.Client())
	dev := crypto.PubkeyToAddress(key.PublicKey)
	alice := common.HexToAddress("0x00000000000000000000000000000000000A11CE")
	nobody := common.HexToAddress("0x000000000000000000000000000000000000B0B0")

	token := deployToken(t, ch, c, key, big.NewInt(1_000_000))
	deployed := ch.height
	data, err := mustABI(t, tokenABIJSON).Pack("transfer", alice, big.NewInt(250))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(ctx, signDynamic(t, c, key, &token, nil, data, 0)); err != nil {
		t.Fatal(err)
	}
	ch.produce()

	slots := []common.Hash{{}, balanceSlot(dev), balanceSlot(alice), balanceSlot(nobody)}
	keys := []string{"0x0", balanceSlot(dev).Hex(), balanceSlot(alice).Hex(), balanceSlot(nobody).Hex()}
	check := func(height uint64, want []int64) (*gethclient.AccountResult, common.Hash) {
		t.Helper()
		p, err := gc.GetProof(ctx, token, keys, new(big.Int).SetUint64(height))
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := c.HeaderByNumber(ctx, new(big.Int).SetUint64(height))
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyAccount(t, hdr.Root, p); err != nil {
			t.Fatalf("account proof at %d: %v", height, err)
		}
		if p.Address != token || p.Nonce != 1 || p.CodeHash == (common.Hash{}) || p.StorageHash == types.EmptyRootHash {
			t.Fatalf("token account %+v", p)
		}
		if len(p.StorageProof) != len(keys) || p.StorageProof[0].Key != "0x0" || p.StorageProof[1].Key != keys[1] {
			t.Fatalf("storage proofs %+v", p.StorageProof)
		}
		for i, sp := range p.StorageProof {
			if err := verifySlot(t, p.StorageHash, slots[i], sp); err != nil {
				t.Fatalf("slot %d at %d: %v", i, height, err)
			}
			if sp.Value.Int64() != want[i] {
				t.Errorf("slot %d at %d: %v, want %d", i, height, sp.Value, want[i])
			}
		}
		return p, hdr.Root
	}
	head, headRoot := check(ch.height, []int64{1_000_000, 1_000_000 - 250, 250, 0})
	old, oldRoot := check(deployed, []int64{1_000_000, 1_000_000, 0, 0})
	if head.StorageHash == old.StorageHash {
		t.Fatal("the transfer did not change the storage root")
	}
	latest, err := gc.GetProof(ctx, token, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(latest, head) {
		t.Error("latest differs from the head's number")
	}

	// Another block's root, and flipped bytes, fail.
	if err := verifyAccount(t, oldRoot, head); err == nil {
		t.Error("the head's account proof verified against the deployment block's root")
	}
	if err := verifySlot(t, old.StorageHash, slots[1], head.StorageProof[1]); err == nil {
		t.Error("the head's slot proof verified against the old storage root")
	}
	for i := range head.AccountProof {
		bad := *head
		bad.AccountProof = append([]string(nil), head.AccountProof...)
		b := hexutil.MustDecode(bad.AccountProof[i])
		b[len(b)/2] ^= 1
		bad.AccountProof[i] = hexutil.Encode(b)
		if err := verifyAccount(t, headRoot, &bad); err == nil {
			t.Errorf("account proof with node %d flipped verified", i)
		}
	}
	sp := head.StorageProof[1]
	sp.Proof = append([]string(nil), sp.Proof...)
	b := hexutil.MustDecode(sp.Proof[len(sp.Proof)-1])
	b[len(b)-1] ^= 1
	sp.Proof[len(sp.Proof)-1] = hexutil.Encode(b)
	if err := verifySlot(t, head.StorageHash, slots[1], sp); err == nil {
		t.Error("slot proof with its leaf flipped verified")
	}

	// An externally owned account, and an absent one.
	p, err := gc.GetProof(ctx, dev, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyAccount(t, headRoot, p); err != nil || p.Nonce != 2 || p.StorageHash != types.EmptyRootHash || p.CodeHash != types.EmptyCodeHash {
		t.Fatalf("dev account %+v: %v", p, err)
	}
	p, err = gc.GetProof(ctx, nobody, []string{"0x1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyAccount(t, headRoot, p); err != nil || len(p.AccountProof) == 0 || len(p.StorageProof) != 1 || p.StorageProof[0].Value.Sign() != 0 {
		t.Fatalf("absent account %+v: %v", p, err)
	}

	// Bad requests.
	if _, err := gc.GetProof(ctx, token, nil, big.NewInt(int64(ch.height+1))); err == nil || !strings.Contains(err.Error(), "evm: not found") {
		t.Errorf("proof past the head: %v", err)
	}
	if _, err := gc.GetProof(ctx, token, make([]string, evm.MaxProofKeys+1), nil); rpcCode(err) != -32602 || !strings.Contains(err.Error(), "too many storage keys") {
		t.Errorf("too many keys: %v (code %d)", err, rpcCode(err))
	}
	for _, k := range []string{"0xzz", "0x" + strings.Repeat("11", 33)} {
		if _, err := gc.GetProof(ctx, token, []string{k}, nil); rpcCode(err) != -32602 {
			t.Errorf("key %q: %v (code %d)", k, err, rpcCode(err))
		}
	}

	// A follower fed the same blocks proves the same.
	fol := newChain(t, badgertest.Open(t), g)
	for _, blk := range ch.blocks {
		fol.execute(blk)
	}
	fp, err := gethclient.New(serve(t, fol.x).Client()).GetProof(ctx, token, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fp, head) {
		t.Error("the follower's proof differs")
	}
}
