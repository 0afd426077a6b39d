package ethereum_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/datamesh/mesh-node/internal/devnetproc"
	"github.com/datamesh/mesh-node/share"
)

// The ABI structs of Celestia's Solidity contracts (Blobstream.sol,
// DataRootTuple.sol, lib/tree/**, lib/verifier/DAVerifier.sol), as
// go-ethereum's abi package packs them: fields matched by their abi tags.
type (
	solValidator struct {
		Addr  common.Address `abi:"addr"`
		Power *big.Int       `abi:"power"`
	}
	solSignature struct {
		V uint8    `abi:"v"`
		R [32]byte `abi:"r"`
		S [32]byte `abi:"s"`
	}
	solTuple struct {
		Height   *big.Int `abi:"height"`
		DataRoot [32]byte `abi:"dataRoot"`
	}
	solBinaryProof struct {
		SideNodes [][32]byte `abi:"sideNodes"`
		Key       *big.Int   `abi:"key"`
		NumLeaves *big.Int   `abi:"numLeaves"`
	}
	solNamespace struct {
		Version [1]byte  `abi:"version"`
		ID      [28]byte `abi:"id"`
	}
	solNode struct {
		Min    solNamespace `abi:"min"`
		Max    solNamespace `abi:"max"`
		Digest [32]byte     `abi:"digest"`
	}
	solMultiproof struct {
		BeginKey  *big.Int  `abi:"beginKey"`
		EndKey    *big.Int  `abi:"endKey"`
		SideNodes []solNode `abi:"sideNodes"`
	}
	solAttestationProof struct {
		TupleRootNonce *big.Int       `abi:"tupleRootNonce"`
		Tuple          solTuple       `abi:"tuple"`
		Proof          solBinaryProof `abi:"proof"`
	}
	solSharesProof struct {
		Data             [][]byte            `abi:"data"`
		ShareProofs      []solMultiproof     `abi:"shareProofs"`
		Namespace        solNamespace        `abi:"namespace"`
		RowRoots         []solNode           `abi:"rowRoots"`
		RowProofs        []solBinaryProof    `abi:"rowProofs"`
		AttestationProof solAttestationProof `abi:"attestationProof"`
	}
)

// The JSON of mesh-node's answers as a relayer reads it, decoded with
// go-ethereum's hexutil, not mesh-node's types.
type (
	jsonAttestation struct {
		Nonce      uint64 `json:"nonce"`
		Kind       string `json:"kind"`
		BeginBlock uint64 `json:"begin_block"`
		EndBlock   uint64 `json:"end_block"`
		TupleRoot  string `json:"data_root_tuple_root"` // upper-case hex, no 0x
		Validators []struct {
			EVMAddress common.Address `json:"evm_address"`
			Power      uint64         `json:"power"`
		} `json:"validators"`
		PowerThreshold uint64 `json:"power_threshold"`
		SignerNonce    uint64 `json:"signer_valset_nonce"`
		Signatures     []struct {
			V uint8         `json:"v"`
			R hexutil.Bytes `json:"r"`
			S hexutil.Bytes `json:"s"`
		} `json:"signatures"`
		IncludedHeight uint64 `json:"included_height"`
	}
	jsonNamespace struct {
		Version hexutil.Bytes `json:"version"`
		ID      hexutil.Bytes `json:"id"`
	}
	jsonNode struct {
		Min    jsonNamespace `json:"min"`
		Max    jsonNamespace `json:"max"`
		Digest hexutil.Bytes `json:"digest"`
	}
	jsonBinaryProof struct {
		SideNodes []hexutil.Bytes `json:"sideNodes"`
		Key       uint64          `json:"key"`
		NumLeaves uint64          `json:"numLeaves"`
	}
	jsonSharesProof struct {
		Data        []hexutil.Bytes `json:"data"`
		ShareProofs []struct {
			BeginKey  uint64     `json:"beginKey"`
			EndKey    uint64     `json:"endKey"`
			SideNodes []jsonNode `json:"sideNodes"`
		} `json:"shareProofs"`
		Namespace        jsonNamespace     `json:"namespace"`
		RowRoots         []jsonNode        `json:"rowRoots"`
		RowProofs        []jsonBinaryProof `json:"rowProofs"`
		AttestationProof struct {
			TupleRootNonce uint64 `json:"tupleRootNonce"`
			Tuple          struct {
				Height   uint64        `json:"height"`
				DataRoot hexutil.Bytes `json:"dataRoot"`
			} `json:"tuple"`
			Proof jsonBinaryProof `json:"proof"`
		} `json:"attestationProof"`
	}
)

// fixed copies b into an n-byte array's slice, failing the test if b is not
// n bytes.
func fixed(t *testing.T, what string, b []byte, n int) []byte {
	t.Helper()
	if len(b) != n {
		t.Fatalf("%s is %d bytes, want %d", what, len(b), n)
	}
	return b
}

func (j jsonNamespace) sol(t *testing.T) solNamespace {
	var n solNamespace
	copy(n.Version[:], fixed(t, "namespace version", j.Version, 1))
	copy(n.ID[:], fixed(t, "namespace id", j.ID, 28))
	return n
}

func (j jsonNode) sol(t *testing.T) solNode {
	n := solNode{Min: j.Min.sol(t), Max: j.Max.sol(t)}
	copy(n.Digest[:], fixed(t, "node digest", j.Digest, 32))
	return n
}

func (j jsonBinaryProof) sol(t *testing.T) solBinaryProof {
	p := solBinaryProof{
		SideNodes: make([][32]byte, len(j.SideNodes)),
		Key:       new(big.Int).SetUint64(j.Key),
		NumLeaves: new(big.Int).SetUint64(j.NumLeaves),
	}
	for i, s := range j.SideNodes {
		copy(p.SideNodes[i][:], fixed(t, "side node", s, 32))
	}
	return p
}

// sol converts GetSharesProof's answer into DAVerifier's SharesProof.
func (j jsonSharesProof) sol(t *testing.T) solSharesProof {
	p := solSharesProof{Namespace: j.Namespace.sol(t)}
	for _, d := range j.Data {
		p.Data = append(p.Data, d)
	}
	for _, sp := range j.ShareProofs {
		m := solMultiproof{BeginKey: new(big.Int).SetUint64(sp.BeginKey), EndKey: new(big.Int).SetUint64(sp.EndKey)}
		for _, n := range sp.SideNodes {
			m.SideNodes = append(m.SideNodes, n.sol(t))
		}
		p.ShareProofs = append(p.ShareProofs, m)
	}
	for _, r := range j.RowRoots {
		p.RowRoots = append(p.RowRoots, r.sol(t))
	}
	for _, r := range j.RowProofs {
		p.RowProofs = append(p.RowProofs, r.sol(t))
	}
	a := j.AttestationProof
	p.AttestationProof = solAttestationProof{
		TupleRootNonce: new(big.Int).SetUint64(a.TupleRootNonce),
		Tuple:          solTuple{Height: new(big.Int).SetUint64(a.Tuple.Height)},
		Proof:          a.Proof.sol(t),
	}
	copy(p.AttestationProof.Tuple.DataRoot[:], fixed(t, "tuple data root", a.Tuple.DataRoot, 32))
	return p
}

// validators and signatures convert an attestation's valset and signatures.
func (a jsonAttestation) validators() []solValidator {
	var vs []solValidator
	for _, v := range a.Validators {
		vs = append(vs, solValidator{Addr: v.EVMAddress, Power: new(big.Int).SetUint64(v.Power)})
	}
	return vs
}

func (a jsonAttestation) signatures(t *testing.T) []solSignature {
	var ss []solSignature
	for _, s := range a.Signatures {
		var sig solSignature
		sig.V = s.V
		copy(sig.R[:], fixed(t, "signature r", s.R, 32))
		copy(sig.S[:], fixed(t, "signature s", s.S, 32))
		ss = append(ss, sig)
	}
	if len(ss) == 0 {
		t.Fatalf("attestation %d carries no signatures", a.Nonce)
	}
	return ss
}

// contract is one compiled artifact of testdata/blobstream.
type contract struct {
	abi  abi.ABI
	code []byte
}

func loadContract(t *testing.T, name string) contract {
	t.Helper()
	dir := filepath.Join("testdata", "blobstream")
	raw, err := os.ReadFile(filepath.Join(dir, name+".abi.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := abi.JSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s ABI: %v", name, err)
	}
	bin, err := os.ReadFile(filepath.Join(dir, name+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := hex.DecodeString(strings.TrimSpace(string(bin)))
	if err != nil {
		t.Fatalf("%s bytecode: %v", name, err)
	}
	return contract{abi: a, code: code}
}

// chain is go-ethereum's simulated backend with one funded account.
type chain struct {
	sim    *simulated.Backend
	key    *ecdsa.PrivateKey
	from   common.Address
	signer types.Signer
}

func newChain(t *testing.T) *chain {
	t.Helper()
	key, err := crypto.HexToECDSA("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63")
	if err != nil {
		t.Fatal(err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	balance := new(big.Int).Lsh(big.NewInt(1), 100)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: balance}}, simulated.WithBlockGasLimit(60_000_000))
	t.Cleanup(func() { sim.Close() })
	id, err := sim.Client().ChainID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &chain{sim: sim, key: key, from: from, signer: types.LatestSignerForChainID(id)}
}

// errRevert wraps what the EVM refused.
var errRevert = errors.New("reverted")

// send executes data at to (a deployment if to is nil) as a transaction in
// a new block. It first runs it as a call so that a revert comes back with
// its reason, and returns the created address for a deployment.
func (c *chain) send(ctx context.Context, to *common.Address, data []byte) (common.Address, error) {
	cl := c.sim.Client()
	msg := ethereum.CallMsg{From: c.from, To: to, Data: data}
	if to != nil {
		if _, err := cl.CallContract(ctx, msg, nil); err != nil {
			return common.Address{}, fmt.Errorf("%w: %v", errRevert, err)
		}
	}
	gas, err := cl.EstimateGas(ctx, msg)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: estimate gas: %v", errRevert, err)
	}
	nonce, err := cl.PendingNonceAt(ctx, c.from)
	if err != nil {
		return common.Address{}, err
	}
	tip, err := cl.SuggestGasTipCap(ctx)
	if err != nil {
		return common.Address{}, err
	}
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		return common.Address{}, err
	}
	fee := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	tx, err := types.SignNewTx(c.key, c.signer, &types.DynamicFeeTx{
		Nonce: nonce, GasTipCap: tip, GasFeeCap: fee, Gas: gas + gas/4, To: to, Data: data,
	})
	if err != nil {
		return common.Address{}, err
	}
	if err := cl.SendTransaction(ctx, tx); err != nil {
		return common.Address{}, err
	}
	c.sim.Commit()
	r, err := cl.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		return common.Address{}, err
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, fmt.Errorf("%w: transaction %s failed", errRevert, tx.Hash())
	}
	return r.ContractAddress, nil
}

// call runs method of c at addr read-only and unpacks its results.
func (c *chain) call(ctx context.Context, t *testing.T, k contract, addr common.Address, method string, args ...any) ([]any, error) {
	t.Helper()
	data, err := k.abi.Pack(method, args...)
	if err != nil {
		t.Fatalf("pack %s: %v", method, err)
	}
	out, err := c.sim.Client().CallContract(ctx, ethereum.CallMsg{From: c.from, To: &addr, Data: data}, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.abi.Unpack(method, out)
	if err != nil {
		t.Fatalf("unpack %s: %v", method, err)
	}
	return res, nil
}

// valsetCheckpoint computes the checkpoint Blobstream.sol keeps for a
// valset, with go-ethereum's ABI encoder and Keccak: keccak256(abi.encode(
// "checkpoint", nonce, threshold, keccak256(abi.encode(Validator[])))).
func valsetCheckpoint(t *testing.T, nonce, threshold uint64, vals []solValidator) [32]byte {
	t.Helper()
	valT, err := abi.NewType("tuple[]", "", []abi.ArgumentMarshaling{
		{Name: "addr", Type: "address"}, {Name: "power", Type: "uint256"},
	})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := abi.Arguments{{Type: valT}}.Pack(vals)
	if err != nil {
		t.Fatalf("encode valset: %v", err)
	}
	valsetHash := crypto.Keccak256Hash(enc)
	b32, _ := abi.NewType("bytes32", "", nil)
	u256, _ := abi.NewType("uint256", "", nil)
	var sep [32]byte
	copy(sep[:], "checkpoint")
	enc, err = abi.Arguments{{Type: b32}, {Type: u256}, {Type: u256}, {Type: b32}}.Pack(
		sep, new(big.Int).SetUint64(nonce), new(big.Int).SetUint64(threshold), [32]byte(valsetHash))
	if err != nil {
		t.Fatal(err)
	}
	return crypto.Keccak256Hash(enc)
}

// devnetWindow is `mesh-node devnet`'s data_commitment_window: its data
// commitments cover [1, 11), [11, 21), …
const devnetWindow = 10

// TestDevnetBlobstreamContracts is issue 18's check against Celestia's own
// Solidity (testdata/blobstream, compiled from blobstream-contracts; see its
// README). It starts `mesh-node devnet`, submits two blobs, waits for the
// data commitment that covers their height to be attested, deploys
// Blobstream behind OpenZeppelin's ERC1967Proxy on go-ethereum's simulated
// backend, initialised with the checkpoint of the node's valset 1, and
// replays every attestation from nonce 2 to that one in order through
// updateValidatorSet / submitDataRootTupleRoot with the node's signatures.
// The contract must accept each; then verifyAttestation and DAVerifier's
// verifySharesToDataRootTupleRoot (through SharesProofChecker) must accept
// the node's GetSharesProof of each blob, and refuse it with one byte of a
// share, a row root or the tuple's data root flipped; a data commitment
// with one byte of its signature or of its root flipped must revert.
// The devnet has one validator, so each valset has one member.
func TestDevnetBlobstreamContracts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	bs, proxy, checker := loadContract(t, "Blobstream"), loadContract(t, "ERC1967Proxy"), loadContract(t, "SharesProofChecker")
	dn := devnetproc.Run(t, "../..")
	n, ok := dn.Info.Nodes["light"]
	if !ok {
		t.Fatal("devnet.json has no light node")
	}
	light := rpcNode{url: n.RPC, token: n.Token}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Two blobs: one share, and one of several rows of the square.
	ns, err := share.NewV0Namespace([]byte("blobstream"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(18, 1))
	blobs := randomBlobs(t, rng, ns, 100, 40_000)
	// A light node stores headers from the one it started from (its
	// tail), and GetSharesProof needs those of the whole range of the
	// commitment: wait for the first window that starts at or after the
	// tail before submitting.
	var tail struct {
		Header struct {
			Height uint64 `json:"height,string"`
		} `json:"header"`
	}
	light.call(ctx, t, &tail, "header.Tail")
	firstBegin := (tail.Header.Height+devnetWindow-2)/devnetWindow*devnetWindow + 1
	if firstBegin > 1 {
		light.call(ctx, t, nil, "header.WaitForHeight", firstBegin-1)
	}
	var height uint64
	light.call(ctx, t, &height, "blob.Submit", blobs, map[string]any{})
	t.Logf("blobs included at height %d", height)

	// Wait for the data commitment covering height to be attested.
	var covering jsonAttestation
	for {
		err := light.try(ctx, &covering, "blobstream.GetAttestationByHeight", height)
		if err == nil && covering.IncludedHeight > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no attested data commitment covers height %d: last answer %+v, %v", height, covering, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	t.Logf("height %d is in [%d, %d), nonce %d; the light node's tail is %d", height, covering.BeginBlock, covering.EndBlock, covering.Nonce, tail.Header.Height)
	if covering.BeginBlock < tail.Header.Height {
		t.Fatalf("the data commitment [%d, %d) starts below the light node's tail %d", covering.BeginBlock, covering.EndBlock, tail.Header.Height)
	}

	// Blobstream behind its proxy, initialised with valset 1's checkpoint.
	c := newChain(t)
	var valset jsonAttestation
	light.call(ctx, t, &valset, "blobstream.GetValset", 1)
	if valset.Nonce != 1 || valset.Kind != "valset" {
		t.Fatalf("GetValset(1) = %+v", valset)
	}
	current, currentNonce, threshold := valset.validators(), valset.Nonce, valset.PowerThreshold
	impl, err := c.send(ctx, nil, bs.code)
	if err != nil {
		t.Fatalf("deploy Blobstream: %v", err)
	}
	initData, err := bs.abi.Pack("initialize", new(big.Int).SetUint64(1), new(big.Int).SetUint64(threshold),
		valsetCheckpoint(t, 1, threshold, current))
	if err != nil {
		t.Fatal(err)
	}
	ctorArgs, err := proxy.abi.Pack("", impl, initData)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := c.send(ctx, nil, append(append([]byte{}, proxy.code...), ctorArgs...))
	if err != nil {
		t.Fatalf("deploy ERC1967Proxy: %v", err)
	}

	// Replay nonces 2 … covering.Nonce.
	for nonce := uint64(2); nonce <= covering.Nonce; nonce++ {
		var a jsonAttestation
		light.call(ctx, t, &a, "blobstream.GetAttestation", nonce)
		if a.IncludedHeight == 0 {
			t.Fatalf("attestation %d is not attested yet, though %d is", nonce, covering.Nonce)
		}
		if a.SignerNonce != currentNonce {
			t.Fatalf("attestation %d is signed by valset %d; the contract follows valset %d", nonce, a.SignerNonce, currentNonce)
		}
		sigs := a.signatures(t)
		bigNonce := new(big.Int).SetUint64(nonce)
		switch a.Kind {
		case "valset":
			next := a.validators()
			enc, _ := abi.NewType("tuple[]", "", []abi.ArgumentMarshaling{{Name: "addr", Type: "address"}, {Name: "power", Type: "uint256"}})
			packed, err := abi.Arguments{{Type: enc}}.Pack(next)
			if err != nil {
				t.Fatal(err)
			}
			data, err := bs.abi.Pack("updateValidatorSet", bigNonce, new(big.Int).SetUint64(currentNonce),
				new(big.Int).SetUint64(a.PowerThreshold), [32]byte(crypto.Keccak256Hash(packed)), current, sigs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.send(ctx, &addr, data); err != nil {
				t.Fatalf("updateValidatorSet(%d): %v", nonce, err)
			}
			current, currentNonce = next, nonce
		case "data_commitment":
			root, err := hex.DecodeString(a.TupleRoot)
			if err != nil || len(root) != 32 {
				t.Fatalf("attestation %d: tuple root %q: %v", nonce, a.TupleRoot, err)
			}
			submit := func(root [32]byte, sigs []solSignature) error {
				data, err := bs.abi.Pack("submitDataRootTupleRoot", bigNonce, new(big.Int).SetUint64(currentNonce), root, current, sigs)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.send(ctx, &addr, data)
				return err
			}
			// Tampered first: the contract must refuse a flipped
			// signature byte or root byte.
			for i := range sigs {
				for _, part := range []string{"r", "s"} {
					bad := append([]solSignature{}, sigs...)
					if part == "r" {
						bad[i].R[rng.IntN(32)] ^= 1 << rng.IntN(8)
					} else {
						bad[i].S[rng.IntN(32)] ^= 1 << rng.IntN(8)
					}
					if err := submit([32]byte(root), bad); !errors.Is(err, errRevert) {
						t.Fatalf("nonce %d: signature %d with a flipped byte of %s: %v, want a revert", nonce, i, part, err)
					}
				}
			}
			badRoot := [32]byte(root)
			badRoot[rng.IntN(32)] ^= 1 << rng.IntN(8)
			if err := submit(badRoot, sigs); !errors.Is(err, errRevert) {
				t.Fatalf("nonce %d: root with a flipped byte: %v, want a revert", nonce, err)
			}
			if err := submit([32]byte(root), sigs); err != nil {
				t.Fatalf("submitDataRootTupleRoot(%d): %v", nonce, err)
			}
		default:
			t.Fatalf("attestation %d has kind %q", nonce, a.Kind)
		}
	}
	t.Logf("Blobstream accepted attestations 2 to %d", covering.Nonce)

	checkerAddr, err := c.send(ctx, nil, checker.code)
	if err != nil {
		t.Fatalf("deploy SharesProofChecker: %v", err)
	}
	verify := func(t *testing.T, p solSharesProof) (attestation, shares bool, code uint8) {
		t.Helper()
		ap := p.AttestationProof
		out, err := c.call(ctx, t, bs, addr, "verifyAttestation", ap.TupleRootNonce, ap.Tuple, ap.Proof)
		if err != nil {
			t.Fatalf("verifyAttestation: %v", err)
		}
		res, err := c.call(ctx, t, checker, checkerAddr, "verifySharesToDataRootTupleRoot", addr, p)
		if err != nil {
			t.Fatalf("verifySharesToDataRootTupleRoot: %v", err)
		}
		return out[0].(bool), res[0].(bool), res[1].(uint8)
	}

	for _, b := range blobs {
		t.Run(fmt.Sprintf("%dB", len(b.Data)), func(t *testing.T) {
			// The light node may still be syncing the headers of the
			// range (it takes its head first), so it is polled.
			var j jsonSharesProof
			for {
				err := light.try(ctx, &j, "blobstream.GetSharesProof", height, b.Namespace, b.Commitment, covering.BeginBlock, covering.EndBlock)
				if err == nil {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("blobstream.GetSharesProof: %v", err)
				case <-time.After(250 * time.Millisecond):
				}
			}
			if j.AttestationProof.TupleRootNonce != covering.Nonce || j.AttestationProof.Tuple.Height != height {
				t.Fatalf("proof for nonce %d height %d, want nonce %d height %d", j.AttestationProof.TupleRootNonce, j.AttestationProof.Tuple.Height, covering.Nonce, height)
			}
			p := j.sol(t)
			t.Logf("%d shares in %d rows", len(p.Data), len(p.RowRoots))
			if att, ok, code := verify(t, p); !att || !ok {
				t.Fatalf("verifyAttestation %v, verifySharesToDataRootTupleRoot (%v, error code %d); want both true", att, ok, code)
			}

			// One flipped byte each: DAVerifier must refuse, for the
			// reason expected (its ErrorCodes).
			const (
				invalidSharesToRows = 1
				invalidRowsToRoot   = 2
				invalidTupleToRoot  = 4
			)
			fresh := func() solSharesProof { return j.sol(t) }
			q := fresh()
			s := rng.IntN(len(q.Data))
			q.Data[s] = append([]byte{}, q.Data[s]...)
			q.Data[s][rng.IntN(len(q.Data[s]))] ^= 1 << rng.IntN(8)
			if _, ok, code := verify(t, q); ok || code != invalidSharesToRows {
				t.Errorf("share %d flipped: (%v, %d), want (false, %d)", s, ok, code, invalidSharesToRows)
			}
			q = fresh()
			r := rng.IntN(len(q.RowRoots))
			q.RowRoots[r].Digest[rng.IntN(32)] ^= 1 << rng.IntN(8)
			if _, ok, code := verify(t, q); ok || code != invalidRowsToRoot {
				t.Errorf("row root %d flipped: (%v, %d), want (false, %d)", r, ok, code, invalidRowsToRoot)
			}
			q = fresh()
			q.AttestationProof.Tuple.DataRoot[rng.IntN(32)] ^= 1 << rng.IntN(8)
			if att, ok, code := verify(t, q); att || ok || code != invalidTupleToRoot {
				t.Errorf("tuple data root flipped: verifyAttestation %v, (%v, %d), want false, (false, %d)", att, ok, code, invalidTupleToRoot)
			}
		})
	}
}
