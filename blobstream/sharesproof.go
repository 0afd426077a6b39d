package blobstream

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// The types of this file have the field layout of the Solidity structs of
// Celestia's blobstream-contracts (DAVerifier.sol, BinaryMerkleProof.sol,
// NamespaceMerkleMultiproof.sol, NamespaceNode.sol, Types.sol,
// DataRootTuple.sol), and their JSON uses the Solidity field names. Byte
// strings are 0x-prefixed lower-case hex, as Ethereum tooling (ethers, viem,
// cast, abigen's JSON) writes and reads them; the Solidity uint256 fields are
// JSON numbers, held as uint64 here. docs/blobstream.md shows the encoding.

// Decoding limits of SharesProof.UnmarshalJSON. They bound what a decoded
// proof may hold, far above what a proof of DataMesh's squares needs.
const (
	// MaxProofRows bounds ShareProofs, RowRoots and RowProofs: one per row
	// of the original square a blob spans.
	MaxProofRows = 512
	// MaxProofShares bounds Data: the shares of a full 512×512 original
	// square.
	MaxProofShares = MaxProofRows * MaxProofRows
	// MaxProofKey bounds BeginKey, EndKey, Key and NumLeaves, so that index
	// arithmetic cannot overflow (nmt.MaxProofIndex, 2^30).
	MaxProofKey = nmt.MaxProofIndex
)

// ErrInvalidJSON is wrapped by every error of the UnmarshalJSON methods of
// this file.
var ErrInvalidJSON = errors.New("blobstream: invalid shares proof JSON")

// Namespace is Solidity's Namespace: the version byte and the 28-byte ID,
// together DataMesh's 29-byte namespace. JSON: {"version": "0x00", "id":
// "0x…" (28 bytes)}.
type Namespace struct {
	Version byte
	ID      [28]byte
}

// NamespaceFrom returns the Namespace of a 29-byte DataMesh namespace.
func NamespaceFrom(ns share.Namespace) Namespace {
	var n Namespace
	n.Version = ns[0]
	copy(n.ID[:], ns[1:])
	return n
}

// Bytes returns the 29 bytes version || id (Solidity's toBytes).
func (n Namespace) Bytes() share.Namespace {
	var ns share.Namespace
	ns[0] = n.Version
	copy(ns[1:], n.ID[:])
	return ns
}

// compare orders namespaces as Solidity's lessThan and greaterThan do: by
// their 29 bytes.
func (n Namespace) compare(m Namespace) int {
	a, b := n.Bytes(), m.Bytes()
	return bytes.Compare(a[:], b[:])
}

// NamespaceNode is Solidity's NamespaceNode, an NMT node: the minimum and
// maximum namespace under it and its SHA-256 digest. Its 90-byte form
// (min || max || digest) is DataMesh's nmt node and row root.
type NamespaceNode struct {
	Min    Namespace
	Max    Namespace
	Digest [32]byte
}

// NamespaceNodeFromBytes splits a 90-byte NMT node (nmt.NodeSize) into a
// NamespaceNode. It checks the length only.
func NamespaceNodeFromBytes(b []byte) (NamespaceNode, error) {
	var n NamespaceNode
	if len(b) != nmt.NodeSize {
		return n, fmt.Errorf("blobstream: namespace node of %d bytes, want %d", len(b), nmt.NodeSize)
	}
	n.Min = NamespaceFrom(share.Namespace(b[:share.NamespaceSize]))
	n.Max = NamespaceFrom(share.Namespace(b[share.NamespaceSize : 2*share.NamespaceSize]))
	copy(n.Digest[:], b[2*share.NamespaceSize:])
	return n, nil
}

// Bytes returns the node's 90 bytes min || max || digest, the item a row
// root is hashed as in the data root (Solidity's abi.encodePacked of the
// three). The slice is the caller's.
func (n NamespaceNode) Bytes() []byte {
	out := make([]byte, 0, nmt.NodeSize)
	lo, hi := n.Min.Bytes(), n.Max.Bytes()
	out = append(out, lo[:]...)
	out = append(out, hi[:]...)
	return append(out, n.Digest[:]...)
}

// NamespaceMerkleMultiproof is Solidity's NamespaceMerkleMultiproof: an NMT
// proof of the leaves [BeginKey, EndKey) of one row. SideNodes are the roots
// of the maximal subtrees outside the range, left to right (nmt.Proof.Nodes).
type NamespaceMerkleMultiproof struct {
	BeginKey  uint64
	EndKey    uint64
	SideNodes []NamespaceNode
}

// BinaryMerkleProof is Solidity's BinaryMerkleProof: an RFC 6962 proof of
// the leaf Key of a tree of NumLeaves leaves. SideNodes run from the leaf to
// the root, which is the order of merkle.Proof.Aunts: Key is its Index and
// NumLeaves its Total.
type BinaryMerkleProof struct {
	SideNodes [][32]byte
	Key       uint64
	NumLeaves uint64
}

// DataRootTuple is Solidity's DataRootTuple; its abi.encode is EncodeTuple.
type DataRootTuple struct {
	Height   uint64
	DataRoot [32]byte
}

// Encode returns abi.encode(tuple): EncodeTuple(Height, DataRoot).
func (t DataRootTuple) Encode() []byte { return EncodeTuple(t.Height, t.DataRoot) }

// AttestationProof is Solidity's AttestationProof: the nonce of the attested
// tuple root, the tuple, and the proof of the tuple in that root.
type AttestationProof struct {
	TupleRootNonce uint64
	Tuple          DataRootTuple
	Proof          BinaryMerkleProof
}

// SharesProof is Solidity's SharesProof: the shares of one namespace
// (Data, whole 512-byte shares in row-major order), for each row they span
// the NMT proof of its part of them (ShareProofs[i]) to the row's root
// (RowRoots[i]), the proofs of those roots to the block's data root
// (RowProofs[i]), and the proof of the block's data root tuple to an
// attested tuple root (AttestationProof). VerifySharesProof checks it;
// NewSharesProof builds it.
type SharesProof struct {
	Data             [][]byte
	ShareProofs      []NamespaceMerkleMultiproof
	Namespace        Namespace
	RowRoots         []NamespaceNode
	RowProofs        []BinaryMerkleProof
	AttestationProof AttestationProof
}

// hexBytes is a byte string in JSON as 0x-prefixed hex.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) {
	out := make([]byte, 2+hex.EncodedLen(len(h)))
	copy(out, "0x")
	hex.Encode(out[2:], h)
	return out, nil
}

func (h *hexBytes) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return errors.New("hex string without 0x prefix")
	}
	out, err := hex.DecodeString(s[2:])
	if err != nil {
		return err
	}
	*h = out
	return nil
}

// fixed copies h into dst, which it must fill exactly.
func (h hexBytes) fixed(dst []byte, what string) error {
	if len(h) != len(dst) {
		return fmt.Errorf("%s of %d bytes, want %d", what, len(h), len(dst))
	}
	copy(dst, h)
	return nil
}

type jsonNamespace struct {
	Version hexBytes `json:"version"`
	ID      hexBytes `json:"id"`
}

type jsonNode struct {
	Min    jsonNamespace `json:"min"`
	Max    jsonNamespace `json:"max"`
	Digest hexBytes      `json:"digest"`
}

type jsonMultiproof struct {
	BeginKey  uint64     `json:"beginKey"`
	EndKey    uint64     `json:"endKey"`
	SideNodes []jsonNode `json:"sideNodes"`
}

type jsonBinaryProof struct {
	SideNodes []hexBytes `json:"sideNodes"`
	Key       uint64     `json:"key"`
	NumLeaves uint64     `json:"numLeaves"`
}

type jsonTuple struct {
	Height   uint64   `json:"height"`
	DataRoot hexBytes `json:"dataRoot"`
}

type jsonAttestation struct {
	TupleRootNonce uint64          `json:"tupleRootNonce"`
	Tuple          jsonTuple       `json:"tuple"`
	Proof          jsonBinaryProof `json:"proof"`
}

type jsonSharesProof struct {
	Data             []hexBytes        `json:"data"`
	ShareProofs      []jsonMultiproof  `json:"shareProofs"`
	Namespace        jsonNamespace     `json:"namespace"`
	RowRoots         []jsonNode        `json:"rowRoots"`
	RowProofs        []jsonBinaryProof `json:"rowProofs"`
	AttestationProof jsonAttestation   `json:"attestationProof"`
}

func toJSONNamespace(n Namespace) jsonNamespace {
	return jsonNamespace{Version: hexBytes{n.Version}, ID: hexBytes(n.ID[:])}
}

func (j jsonNamespace) decode() (Namespace, error) {
	var n Namespace
	var v [1]byte
	if err := j.Version.fixed(v[:], "namespace version"); err != nil {
		return n, err
	}
	n.Version = v[0]
	return n, j.ID.fixed(n.ID[:], "namespace id")
}

func toJSONNode(n NamespaceNode) jsonNode {
	return jsonNode{Min: toJSONNamespace(n.Min), Max: toJSONNamespace(n.Max), Digest: hexBytes(n.Digest[:])}
}

func (j jsonNode) decode() (NamespaceNode, error) {
	var n NamespaceNode
	var err error
	if n.Min, err = j.Min.decode(); err != nil {
		return n, fmt.Errorf("min: %w", err)
	}
	if n.Max, err = j.Max.decode(); err != nil {
		return n, fmt.Errorf("max: %w", err)
	}
	return n, j.Digest.fixed(n.Digest[:], "digest")
}

func toJSONBinary(p BinaryMerkleProof) jsonBinaryProof {
	j := jsonBinaryProof{Key: p.Key, NumLeaves: p.NumLeaves, SideNodes: make([]hexBytes, len(p.SideNodes))}
	for i := range p.SideNodes {
		j.SideNodes[i] = hexBytes(p.SideNodes[i][:])
	}
	return j
}

func (j jsonBinaryProof) decode() (BinaryMerkleProof, error) {
	p := BinaryMerkleProof{Key: j.Key, NumLeaves: j.NumLeaves}
	if len(j.SideNodes) > merkle.MaxAunts {
		return p, fmt.Errorf("%d side nodes, at most %d", len(j.SideNodes), merkle.MaxAunts)
	}
	if p.Key > MaxProofKey || p.NumLeaves > MaxProofKey {
		return p, fmt.Errorf("key %d or numLeaves %d above %d", p.Key, p.NumLeaves, MaxProofKey)
	}
	p.SideNodes = make([][32]byte, len(j.SideNodes))
	for i, s := range j.SideNodes {
		if err := s.fixed(p.SideNodes[i][:], fmt.Sprintf("side node %d", i)); err != nil {
			return p, err
		}
	}
	return p, nil
}

// MarshalJSON writes the proof with Solidity's field names, byte strings
// as 0x-hex and integers as JSON numbers.
func (p SharesProof) MarshalJSON() ([]byte, error) {
	j := jsonSharesProof{
		Data:        make([]hexBytes, len(p.Data)),
		ShareProofs: make([]jsonMultiproof, len(p.ShareProofs)),
		Namespace:   toJSONNamespace(p.Namespace),
		RowRoots:    make([]jsonNode, len(p.RowRoots)),
		RowProofs:   make([]jsonBinaryProof, len(p.RowProofs)),
		AttestationProof: jsonAttestation{
			TupleRootNonce: p.AttestationProof.TupleRootNonce,
			Tuple: jsonTuple{Height: p.AttestationProof.Tuple.Height,
				DataRoot: hexBytes(p.AttestationProof.Tuple.DataRoot[:])},
			Proof: toJSONBinary(p.AttestationProof.Proof),
		},
	}
	for i, d := range p.Data {
		j.Data[i] = hexBytes(d)
	}
	for i, sp := range p.ShareProofs {
		j.ShareProofs[i] = jsonMultiproof{BeginKey: sp.BeginKey, EndKey: sp.EndKey, SideNodes: make([]jsonNode, len(sp.SideNodes))}
		for k, n := range sp.SideNodes {
			j.ShareProofs[i].SideNodes[k] = toJSONNode(n)
		}
	}
	for i, r := range p.RowRoots {
		j.RowRoots[i] = toJSONNode(r)
	}
	for i, rp := range p.RowProofs {
		j.RowProofs[i] = toJSONBinary(rp)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the JSON of MarshalJSON. It checks the sizes of
// every fixed-size field and the limits MaxProofRows (share proofs, row
// roots, row proofs), MaxProofShares (shares, each at most share.ShareSize
// bytes), nmt.MaxProofNodes (side nodes of a share proof), merkle.MaxAunts
// (side nodes of a binary proof) and MaxProofKey (keys, leaf counts); it
// does not verify the proof. The caller bounds the input's length: the
// limits apply once it is parsed. Errors wrap ErrInvalidJSON; it never
// panics.
func (p *SharesProof) UnmarshalJSON(b []byte) error {
	var j jsonSharesProof
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	out, err := j.decode()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	*p = out
	return nil
}

func (j jsonSharesProof) decode() (SharesProof, error) {
	var p SharesProof
	switch {
	case len(j.Data) > MaxProofShares:
		return p, fmt.Errorf("%d shares, at most %d", len(j.Data), MaxProofShares)
	case len(j.ShareProofs) > MaxProofRows || len(j.RowRoots) > MaxProofRows || len(j.RowProofs) > MaxProofRows:
		return p, fmt.Errorf("%d share proofs, %d row roots, %d row proofs: at most %d each",
			len(j.ShareProofs), len(j.RowRoots), len(j.RowProofs), MaxProofRows)
	}
	p.Data = make([][]byte, len(j.Data))
	for i, d := range j.Data {
		if len(d) > share.ShareSize {
			return p, fmt.Errorf("share %d of %d bytes, at most %d", i, len(d), share.ShareSize)
		}
		p.Data[i] = d
	}
	p.ShareProofs = make([]NamespaceMerkleMultiproof, len(j.ShareProofs))
	for i, sp := range j.ShareProofs {
		if len(sp.SideNodes) > nmt.MaxProofNodes {
			return p, fmt.Errorf("share proof %d: %d side nodes, at most %d", i, len(sp.SideNodes), nmt.MaxProofNodes)
		}
		if sp.BeginKey > MaxProofKey || sp.EndKey > MaxProofKey {
			return p, fmt.Errorf("share proof %d: keys [%d, %d) above %d", i, sp.BeginKey, sp.EndKey, MaxProofKey)
		}
		out := NamespaceMerkleMultiproof{BeginKey: sp.BeginKey, EndKey: sp.EndKey, SideNodes: make([]NamespaceNode, len(sp.SideNodes))}
		for k, n := range sp.SideNodes {
			var err error
			if out.SideNodes[k], err = n.decode(); err != nil {
				return p, fmt.Errorf("share proof %d side node %d: %w", i, k, err)
			}
		}
		p.ShareProofs[i] = out
	}
	var err error
	if p.Namespace, err = j.Namespace.decode(); err != nil {
		return p, err
	}
	p.RowRoots = make([]NamespaceNode, len(j.RowRoots))
	for i, r := range j.RowRoots {
		if p.RowRoots[i], err = r.decode(); err != nil {
			return p, fmt.Errorf("row root %d: %w", i, err)
		}
	}
	p.RowProofs = make([]BinaryMerkleProof, len(j.RowProofs))
	for i, rp := range j.RowProofs {
		if p.RowProofs[i], err = rp.decode(); err != nil {
			return p, fmt.Errorf("row proof %d: %w", i, err)
		}
	}
	a := &p.AttestationProof
	a.TupleRootNonce = j.AttestationProof.TupleRootNonce
	a.Tuple.Height = j.AttestationProof.Tuple.Height
	if err := j.AttestationProof.Tuple.DataRoot.fixed(a.Tuple.DataRoot[:], "data root"); err != nil {
		return p, fmt.Errorf("attestation tuple: %w", err)
	}
	if a.Proof, err = j.AttestationProof.Proof.decode(); err != nil {
		return p, fmt.Errorf("attestation proof: %w", err)
	}
	return p, nil
}
