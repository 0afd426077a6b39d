package blobstream

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
)

// ErrInvalidSharesProof is wrapped by every error of VerifySharesProof,
// through a *VerifyError that says which part failed.
var ErrInvalidSharesProof = errors.New("blobstream: invalid shares proof")

// ErrorCode names the check of Celestia's DAVerifier that failed, with the
// names of its ErrorCodes enum.
type ErrorCode int

// The checks of DAVerifier.verifySharesToDataRootTupleRoot, in the order
// it runs them.
const (
	// InvalidDataRootTupleToDataRootTupleRootProof: the tuple does not
	// verify in the attested tuple root (the contract's verifyAttestation).
	InvalidDataRootTupleToDataRootTupleRootProof ErrorCode = iota + 1
	// UnequalRowProofsAndRowRootsNumber: len(RowProofs) ≠ len(RowRoots).
	UnequalRowProofsAndRowRootsNumber
	// InvalidRowsToDataRootProof: a row root does not verify in the tuple's
	// data root.
	InvalidRowsToDataRootProof
	// UnequalShareProofsAndRowRootsNumber: len(ShareProofs) ≠ len(RowRoots).
	UnequalShareProofsAndRowRootsNumber
	// UnequalDataLengthAndNumberOfSharesProofs: len(Data) is not the sum of
	// EndKey − BeginKey over the share proofs (or a share proof has
	// EndKey < BeginKey, where Solidity's checked subtraction reverts).
	UnequalDataLengthAndNumberOfSharesProofs
	// InvalidSharesToRowsProof: a row's shares do not verify in its root.
	InvalidSharesToRowsProof
)

// codeNames are the ErrorCodes' names, indexed by code.
var codeNames = [...]string{
	InvalidDataRootTupleToDataRootTupleRootProof: "InvalidDataRootTupleToDataRootTupleRootProof",
	UnequalRowProofsAndRowRootsNumber:            "UnequalRowProofsAndRowRootsNumber",
	InvalidRowsToDataRootProof:                   "InvalidRowsToDataRootProof",
	UnequalShareProofsAndRowRootsNumber:          "UnequalShareProofsAndRowRootsNumber",
	UnequalDataLengthAndNumberOfSharesProofs:     "UnequalDataLengthAndNumberOfSharesProofs",
	InvalidSharesToRowsProof:                     "InvalidSharesToRowsProof",
}

// String returns the name of the DAVerifier error code.
func (c ErrorCode) String() string {
	if c > 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// VerifyError is the error of VerifySharesProof: the check that failed,
// the row it failed at (-1 when the check is not about one row) and why.
// It matches ErrInvalidSharesProof with errors.Is.
type VerifyError struct {
	Code   ErrorCode
	Row    int
	Reason string
}

func (e *VerifyError) Error() string {
	if e.Row >= 0 {
		return fmt.Sprintf("%v: %v: row %d: %s", ErrInvalidSharesProof, e.Code, e.Row, e.Reason)
	}
	return fmt.Sprintf("%v: %v: %s", ErrInvalidSharesProof, e.Code, e.Reason)
}

// Is reports whether target is ErrInvalidSharesProof.
func (e *VerifyError) Is(target error) bool { return target == ErrInvalidSharesProof }

func verifyErr(code ErrorCode, row int, format string, args ...any) error {
	return &VerifyError{Code: code, Row: row, Reason: fmt.Sprintf(format, args...)}
}

// VerifySharesProof checks p as Celestia's Solidity
// DAVerifier.verifySharesToDataRootTupleRoot does, in the same order, with
// the contract's lookup of the attested tuple root replaced by the argument
// tupleRoot (the root that the attestation of nonce
// p.AttestationProof.TupleRootNonce vouches for; checking that attestation
// is the caller's):
//
//  1. AttestationProof.Proof proves abi.encode(Tuple) in tupleRoot;
//  2. there are as many RowProofs as RowRoots, and each RowProofs[i]
//     proves the 90 bytes of RowRoots[i] in Tuple.DataRoot;
//  3. there are as many ShareProofs as RowRoots, and len(Data) is the sum
//     of their EndKey − BeginKey;
//  4. each ShareProofs[i] proves the next EndKey − BeginKey shares, hashed
//     as NMT leaves of Namespace, in RowRoots[i].
//
// Binary proofs follow BinaryMerkleTree.verify (RFC 6962 SHA-256, side
// nodes from leaf to root, the path length fixed by Key and NumLeaves) and
// share proofs NamespaceMerkleTree.verifyMulti (with the ignore-max rule
// for the parity namespace 0xFF×29). Where Solidity reverts (an EndKey of
// 0, EndKey < BeginKey), this returns an error. It also refuses keys and
// leaf counts above MaxProofKey, which no DataMesh tree reaches. Like the
// contract, it checks neither that the shares are a whole blob nor that
// the rows' ranges are contiguous.
//
// A nil error means the proof verifies. Errors are *VerifyError, which
// wrap ErrInvalidSharesProof and name the failing check; it never panics.
func VerifySharesProof(p *SharesProof, tupleRoot [32]byte) error {
	if p == nil {
		return verifyErr(InvalidDataRootTupleToDataRootTupleRootProof, -1, "no proof")
	}
	a := p.AttestationProof
	if err := verifyBinary(tupleRoot, a.Proof, a.Tuple.Encode()); err != nil {
		return verifyErr(InvalidDataRootTupleToDataRootTupleRootProof, -1,
			"tuple of height %d (nonce %d): %v", a.Tuple.Height, a.TupleRootNonce, err)
	}
	if len(p.RowProofs) != len(p.RowRoots) {
		return verifyErr(UnequalRowProofsAndRowRootsNumber, -1, "%d row proofs for %d row roots", len(p.RowProofs), len(p.RowRoots))
	}
	for i, rp := range p.RowProofs {
		if err := verifyBinary(a.Tuple.DataRoot, rp, p.RowRoots[i].Bytes()); err != nil {
			return verifyErr(InvalidRowsToDataRootProof, i, "row root to data root %x: %v", a.Tuple.DataRoot, err)
		}
	}
	if len(p.ShareProofs) != len(p.RowRoots) {
		return verifyErr(UnequalShareProofsAndRowRootsNumber, -1, "%d share proofs for %d row roots", len(p.ShareProofs), len(p.RowRoots))
	}
	var total uint64
	for i, sp := range p.ShareProofs {
		if sp.EndKey < sp.BeginKey {
			return verifyErr(UnequalDataLengthAndNumberOfSharesProofs, i, "range [%d, %d) ends before it begins", sp.BeginKey, sp.EndKey)
		}
		var carry uint64
		if total, carry = bits.Add64(total, sp.EndKey-sp.BeginKey, 0); carry != 0 {
			return verifyErr(UnequalDataLengthAndNumberOfSharesProofs, i, "share count overflows")
		}
	}
	if uint64(len(p.Data)) != total {
		return verifyErr(UnequalDataLengthAndNumberOfSharesProofs, -1, "%d shares, the proofs cover %d", len(p.Data), total)
	}
	rest := p.Data
	for i, sp := range p.ShareProofs {
		n := sp.EndKey - sp.BeginKey
		if err := verifyMulti(p.RowRoots[i], sp, p.Namespace, rest[:n]); err != nil {
			return verifyErr(InvalidSharesToRowsProof, i, "shares [%d, %d) to row root: %v", sp.BeginKey, sp.EndKey, err)
		}
		rest = rest[n:]
	}
	return nil
}

// Binary Merkle trees (BinaryMerkleTree.sol, RFC 6962).

// ErrInvalidMerkleProof is wrapped by the errors of BinaryMerkleProof.Verify
// and NamespaceMerkleMultiproof.Verify.
var ErrInvalidMerkleProof = errors.New("blobstream: invalid merkle proof")

var (
	errSideNodes    = fmt.Errorf("%w: wrong number of side nodes for the key and number of leaves", ErrInvalidMerkleProof)
	errKeyNotInTree = fmt.Errorf("%w: key is not in the tree", ErrInvalidMerkleProof)
	errRootDiffers  = fmt.Errorf("%w: proof leads to a different root", ErrInvalidMerkleProof)
	errKeyTooLarge  = fmt.Errorf("%w: key or number of leaves above %d", ErrInvalidMerkleProof, MaxProofKey)
	errNoLeaves     = fmt.Errorf("%w: proof of an empty range (endKey 0)", ErrInvalidMerkleProof)
)

// Verify checks, as Solidity's BinaryMerkleTree.verify, that p proves data
// (the leaf's bytes, hashed here as SHA256(0x00 || data)) in the RFC 6962
// tree of the given root. Like that function (and CometBFT's
// merkle.Proof.Verify), it accepts any NumLeaves that gives Key the same
// path as the real one. Errors wrap ErrInvalidMerkleProof; it never panics.
func (p BinaryMerkleProof) Verify(root [32]byte, data []byte) error {
	return verifyBinary(root, p, data)
}

// Verify checks, as Solidity's NamespaceMerkleTree.verifyMulti, that p
// proves shares, each hashed as an NMT leaf of namespace ns
// (SHA256(0x00 || ns || share), whole shares), to be the leaves
// [BeginKey, EndKey) of the NMT with the given root. Like that function it
// does not check len(shares) against the range: VerifySharesProof does.
// Errors wrap ErrInvalidMerkleProof; it never panics.
func (p NamespaceMerkleMultiproof) Verify(root NamespaceNode, ns Namespace, shares [][]byte) error {
	return verifyMulti(root, p, ns, shares)
}

func binaryLeaf(data []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func binaryNode(left, right [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0x01})
	h.Write(left[:])
	h.Write(right[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// pathLength is Solidity's pathLengthFromKey: the number of side nodes of
// the proof of leaf key in a tree of n leaves (n ≥ 2).
func pathLength(key, n uint64) int {
	if n <= 1 {
		return 0
	}
	height := bits.Len64(n - 1) // the left subtree's height plus one
	left := uint64(1) << (height - 1)
	switch {
	case key < left:
		return height
	case left == 1:
		return 1
	default:
		return 1 + pathLength(key-left, n-left)
	}
}

// splitPoint is the largest power of two below n (n ≥ 2); 0 for n = 1.
func splitPoint(n uint64) uint64 {
	k := uint64(1) << (bits.Len64(n) - 1)
	if k == n {
		k >>= 1
	}
	return k
}

// verifyBinary is BinaryMerkleTree.verify: nil if p proves data in root.
func verifyBinary(root [32]byte, p BinaryMerkleProof, data []byte) error {
	if p.Key > MaxProofKey || p.NumLeaves > MaxProofKey {
		return errKeyTooLarge
	}
	if p.NumLeaves <= 1 {
		if len(p.SideNodes) != 0 {
			return errSideNodes
		}
	} else if len(p.SideNodes) != pathLength(p.Key, p.NumLeaves) {
		return errSideNodes
	}
	if p.Key >= p.NumLeaves {
		return errKeyNotInTree
	}
	h := binaryLeaf(data)
	if len(p.SideNodes) > 0 {
		h = binaryRoot(p.Key, p.NumLeaves, h, p.SideNodes)
	}
	if h != root {
		return errRootDiffers
	}
	return nil
}

// binaryRoot is Solidity's computeRootHash for a proof whose side nodes
// have the length pathLength gives: the last side node is the sibling at
// the top.
func binaryRoot(key, n uint64, leaf [32]byte, side [][32]byte) [32]byte {
	if n == 1 || len(side) == 0 {
		return leaf
	}
	k := splitPoint(n)
	top := side[len(side)-1]
	if key < k {
		return binaryNode(binaryRoot(key, k, leaf, side[:len(side)-1]), top)
	}
	return binaryNode(top, binaryRoot(key-k, n-k, leaf, side[:len(side)-1]))
}

// Namespace Merkle trees (NamespaceMerkleTree.sol, TreeHasher.sol).

var parityNamespace = func() Namespace {
	n := Namespace{Version: 0xFF}
	for i := range n.ID {
		n.ID[i] = 0xFF
	}
	return n
}()

func nmtLeaf(ns Namespace, data []byte) NamespaceNode {
	h := sha256.New()
	b := ns.Bytes()
	h.Write([]byte{0x00})
	h.Write(b[:])
	h.Write(data)
	n := NamespaceNode{Min: ns, Max: ns}
	h.Sum(n.Digest[:0])
	return n
}

// nmtNode is TreeHasher.nodeDigest: the minimum of the children's minima;
// the maximum is the parity namespace if the left child's minimum is, the
// left's maximum if the right child's minimum is the parity namespace
// (ignore-max rule), else the larger maximum.
func nmtNode(l, r NamespaceNode) NamespaceNode {
	var n NamespaceNode
	n.Min = l.Min
	if r.Min.compare(l.Min) < 0 {
		n.Min = r.Min
	}
	switch {
	case l.Min == parityNamespace:
		n.Max = parityNamespace
	case r.Min == parityNamespace:
		n.Max = l.Max
	case l.Max.compare(r.Max) > 0:
		n.Max = l.Max
	default:
		n.Max = r.Max
	}
	h := sha256.New()
	h.Write([]byte{0x01})
	h.Write(l.Bytes())
	h.Write(r.Bytes())
	h.Sum(n.Digest[:0])
	return n
}

// verifyMulti is NamespaceMerkleTree.verifyMulti: nil if proof shows that
// data, hashed as leaves of ns, are the leaves [BeginKey, EndKey) of the
// tree with the given root. It walks the perfect tree over [0, 2^m), the
// smallest power of two ≥ EndKey, left to right, taking a side node for
// each subtree outside the range and leaving out right subtrees past the
// last side node, then folds the remaining side nodes in on the right.
func verifyMulti(root NamespaceNode, proof NamespaceMerkleMultiproof, ns Namespace, data [][]byte) error {
	if proof.EndKey == 0 {
		return errNoLeaves
	}
	if proof.EndKey > MaxProofKey {
		return errKeyTooLarge
	}
	w := multiWalk{proof: proof, leaves: make([]NamespaceNode, len(data))}
	for i, d := range data {
		w.leaves[i] = nmtLeaf(ns, d)
	}
	size := max(splitPoint(proof.EndKey)*2, 1)
	got, _ := w.subtree(0, size)
	for _, n := range proof.SideNodes[w.headProof:] {
		got = nmtNode(got, n)
	}
	if got != root {
		return errRootDiffers
	}
	return nil
}

// multiWalk is the state of verifyMulti's walk: the next side node and the
// next leaf to take.
type multiWalk struct {
	proof     NamespaceMerkleMultiproof
	leaves    []NamespaceNode
	headProof int
	headLeaf  int
}

// pop returns nodes[*head] and advances head, or reports nil (the zero
// node) when nodes are used up or, as Solidity's _popIfNonEmpty has it,
// when head ≥ end.
func pop(nodes []NamespaceNode, head *int, end uint64) (NamespaceNode, bool) {
	if *head >= len(nodes) || uint64(*head) >= end {
		return NamespaceNode{}, true
	}
	n := nodes[*head]
	*head++
	return n, false
}

// subtree is Solidity's _computeRoot over [begin, end): the subtree's root
// and whether it is nil (no such subtree). Only a right child may be nil; a
// nil left child is hashed as the zero node, as in Solidity.
func (w *multiWalk) subtree(begin, end uint64) (NamespaceNode, bool) {
	inRange := begin < w.proof.EndKey && w.proof.BeginKey < end
	if end-begin == 1 {
		if inRange {
			return pop(w.leaves, &w.headLeaf, uint64(len(w.leaves)))
		}
		return pop(w.proof.SideNodes, &w.headProof, end)
	}
	if !inRange {
		return pop(w.proof.SideNodes, &w.headProof, end)
	}
	k := splitPoint(end - begin)
	left, _ := w.subtree(begin, begin+k)
	right, rightNil := w.subtree(begin+k, end)
	if rightNil {
		return left, false
	}
	return nmtNode(left, right), false
}
