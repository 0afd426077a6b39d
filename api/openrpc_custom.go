package api

import (
	"reflect"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// customSchemas returns the JSON Schema of each type with its own
// MarshalJSON that an RPC method takes or returns: the JSON that its
// MarshalJSON writes (and its UnmarshalJSON reads). OpenRPC fails on such
// a type missing here; TestOpenRPCSchemasDescribeResponses checks entries
// against real responses.
func customSchemas() map[reflect.Type]func(g *schemaGen) (map[string]any, error) {
	return map[reflect.Type]func(g *schemaGen) (map[string]any, error){
		reflect.TypeFor[share.Namespace](): base64Of("a namespace: version byte and 28-byte ID"),
		reflect.TypeFor[Share]():           base64Of("a share"),
		reflect.TypeFor[blob.KZGPoint]():   base64Of("a compressed BLS12-381 G1 point (48 bytes)"),
		reflect.TypeFor[blob.CellData]():   base64Of("an EIP-7594 cell"),
		reflect.TypeFor[blob.Hex32]():      hexOf(`^0x[0-9a-fA-F]{64}$`, "32 bytes as 0x-prefixed hex"),
		reflect.TypeFor[blob.PrecompileInput](): hexOf(`^0x[0-9a-fA-F]{384}$`,
			"the EIP-4844 point-evaluation precompile's input as 0x-prefixed hex"),
		reflect.TypeFor[blobstream.Address](): hexOf(`^0x[0-9a-fA-F]{40}$`, "an EVM address as 0x-prefixed hex"),
		reflect.TypeFor[blobstream.Signature](): shapeOf[struct {
			V uint8  `json:"v"`
			R string `json:"r"`
			S string `json:"s"`
		}](),
		reflect.TypeFor[blobstream.SharesProof](): shapeOf[sharesProofShape](),
		reflect.TypeFor[Hash]():                   hexOf(`^[0-9A-Fa-f]*$`, "a header hash as upper-case hex"),
		reflect.TypeFor[state.Int](): func(*schemaGen) (map[string]any, error) {
			return map[string]any{"type": "string", "pattern": `^[0-9]+$`, "description": "an amount as a decimal string"}, nil
		},
		reflect.TypeFor[NodeType](): func(*schemaGen) (map[string]any, error) {
			names := []any{}
			for _, t := range []NodeType{NodeBridge, NodeFull, NodeLight} {
				names = append(names, t.String())
			}
			return map[string]any{"type": "string", "enum": names}, nil
		},
		// A blob's commitment and index are always written, and optional
		// in a parameter (blob.Submit computes the commitment).
		reflect.TypeFor[blob.Blob](): shapeOf[struct {
			Namespace    []byte          `json:"namespace"`
			Data         []byte          `json:"data"`
			ShareVersion uint8           `json:"share_version"`
			Commitment   blob.Commitment `json:"commitment,omitempty"`
			Signer       []byte          `json:"signer,omitempty"`
			Index        int             `json:"index,omitempty"`
		}](),
		reflect.TypeFor[nmt.Proof](): shapeOf[struct {
			Start                 int      `json:"start,omitempty"`
			End                   int      `json:"end,omitempty"`
			Nodes                 [][]byte `json:"nodes,omitempty"`
			LeafHash              []byte   `json:"leaf_hash,omitempty"`
			IsMaxNamespaceIgnored bool     `json:"is_max_namespace_ignored,omitempty"`
		}](),
		// CometBFT's crypto/merkle Proof JSON (blobstream proofs).
		reflect.TypeFor[merkle.Proof](): shapeOf[struct {
			Total    int64    `json:"total"`
			Index    int64    `json:"index"`
			LeafHash []byte   `json:"leaf_hash"`
			Aunts    [][]byte `json:"aunts,omitempty"`
		}](),
		reflect.TypeFor[blob.CommitmentProof](): shapeOf[struct {
			SubtreeRoots      [][]byte     `json:"subtree_roots"`
			SubtreeRootProofs []*nmt.Proof `json:"subtree_root_proofs"`
			NamespaceID       []byte       `json:"namespace_id"`
			RowProof          struct {
				RowRoots [][]byte `json:"row_roots,omitempty"`
				Proofs   []*struct {
					Total    int64    `json:"total,string,omitempty"`
					Index    int64    `json:"index,string,omitempty"`
					LeafHash []byte   `json:"leaf_hash,omitempty"`
					Aunts    [][]byte `json:"aunts,omitempty"`
				} `json:"proofs,omitempty"`
				StartRow uint32 `json:"start_row,omitempty"`
				EndRow   uint32 `json:"end_row,omitempty"`
			} `json:"row_proof"`
			NamespaceVersion uint8 `json:"namespace_version"`
		}](),
		reflect.TypeFor[header.ExtendedHeader](): func(g *schemaGen) (map[string]any, error) {
			cmt := func(what string) map[string]any {
				return map[string]any{"type": "object", "description": "CometBFT's " + what + " in its JSON encoding (libs/json)"}
			}
			dah, err := g.object(reflect.TypeFor[struct {
				RowRoots    [][]byte `json:"row_roots"`
				ColumnRoots [][]byte `json:"column_roots"`
			}]())
			if err != nil {
				return nil, err
			}
			return map[string]any{
				"type": "object",
				"properties": map[string]any{
					"header":          cmt("header"),
					"commit":          cmt("commit"),
					"validator_set":   cmt("validator set"),
					"dah":             dah,
					"data_root_tx":    map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"},
					"data_root_proof": cmt("Merkle proof (crypto/merkle.Proof)"),
				},
				"required": []any{"commit", "dah", "data_root_proof", "data_root_tx", "header", "validator_set"},
			}, nil
		},
		reflect.TypeFor[Sample]():           shapeOf[jsonSample](),
		reflect.TypeFor[RowNamespaceData](): shapeOf[jsonRowNamespaceData](),
		reflect.TypeFor[ExtendedDataSquare](): func(g *schemaGen) (map[string]any, error) {
			s, err := g.object(reflect.TypeFor[jsonEDS]())
			if err != nil {
				return nil, err
			}
			return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}, nil
		},
		reflect.TypeFor[GetRangeResult](): shapeOf[jsonGetRangeResult](),
		reflect.TypeFor[libMerkleProof](): shapeOf[struct {
			Total    int64    `json:"total,string"`
			Index    int64    `json:"index,string"`
			LeafHash []byte   `json:"leaf_hash"`
			Aunts    [][]byte `json:"aunts,omitempty"`
		}](),
		reflect.TypeFor[hexBytes]():       hexOf(`^[0-9A-F]*$`, "bytes as upper-case hex"),
		reflect.TypeFor[FraudProof]():     shapeOf[fraudProofJSON](),
		reflect.TypeFor[PayForBlobBlob](): asDeclared[PayForBlobBlob](),
		reflect.TypeFor[Row]():            asDeclared[Row](),
		// A header reference is a header as the header methods return it;
		// only its height and hash are read.
		reflect.TypeFor[HeaderRef](): func(g *schemaGen) (map[string]any, error) {
			return g.of(reflect.TypeFor[header.ExtendedHeader]())
		},
		reflect.TypeFor[cmtbytes.HexBytes]():   hexOf(`^[0-9A-F]*$`, "bytes as upper-case hex (CometBFT's HexBytes)"),
		reflect.TypeFor[peer.ID]():             textOf("a libp2p peer ID (12D3KooW...)"),
		reflect.TypeFor[multiaddr.Multiaddr](): textOf("a multiaddress (/ip4/.../tcp/...)"),
		reflect.TypeFor[peer.AddrInfo](): shapeOf[struct {
			ID    peer.ID
			Addrs []string
		}](),
		reflect.TypeFor[p2p.ResourceStat](): shapeOf[struct {
			System    network.ScopeStat
			Transient network.ScopeStat
			Services  map[string]network.ScopeStat
			Protocols map[string]network.ScopeStat
			Peers     map[string]network.ScopeStat
		}](),
		reflect.TypeFor[time.Time](): func(*schemaGen) (map[string]any, error) {
			return map[string]any{"type": "string", "format": "date-time"}, nil
		},
	}
}

// base64Of is the schema of bytes written as a base64 string.
func base64Of(desc string) func(*schemaGen) (map[string]any, error) {
	return func(*schemaGen) (map[string]any, error) {
		return map[string]any{"type": "string", "contentEncoding": "base64", "description": desc}, nil
	}
}

// textOf is the schema of a string.
func textOf(desc string) func(*schemaGen) (map[string]any, error) {
	return func(*schemaGen) (map[string]any, error) {
		return map[string]any{"type": "string", "description": desc}, nil
	}
}

// hexOf is the schema of bytes written as a hex string matching pattern.
func hexOf(pattern, desc string) func(*schemaGen) (map[string]any, error) {
	return func(*schemaGen) (map[string]any, error) {
		return map[string]any{"type": "string", "pattern": pattern, "description": desc}, nil
	}
}

// shapeOf is the schema of the struct T, the JSON shape a MarshalJSON
// writes.
func shapeOf[T any]() func(*schemaGen) (map[string]any, error) {
	return func(g *schemaGen) (map[string]any, error) { return g.object(reflect.TypeFor[T]()) }
}

// asDeclared is the schema of the struct T as reflection gives it, for a
// type whose UnmarshalJSON only checks what it decodes in its own shape.
func asDeclared[T any]() func(*schemaGen) (map[string]any, error) {
	return func(g *schemaGen) (map[string]any, error) { return g.object(reflect.TypeFor[T]()) }
}

// The JSON of a blobstream.SharesProof (Celestia's Solidity SharesProof;
// byte strings as 0x-hex), for its schema.
type (
	solNamespace struct {
		Version string `json:"version"`
		ID      string `json:"id"`
	}
	solNode struct {
		Min    solNamespace `json:"min"`
		Max    solNamespace `json:"max"`
		Digest string       `json:"digest"`
	}
	solBinaryProof struct {
		SideNodes []string `json:"sideNodes"`
		Key       uint64   `json:"key"`
		NumLeaves uint64   `json:"numLeaves"`
	}
	sharesProofShape struct {
		Data        []string `json:"data"`
		ShareProofs []struct {
			BeginKey  uint64    `json:"beginKey"`
			EndKey    uint64    `json:"endKey"`
			SideNodes []solNode `json:"sideNodes"`
		} `json:"shareProofs"`
		Namespace        solNamespace     `json:"namespace"`
		RowRoots         []solNode        `json:"rowRoots"`
		RowProofs        []solBinaryProof `json:"rowProofs"`
		AttestationProof struct {
			TupleRootNonce uint64 `json:"tupleRootNonce"`
			Tuple          struct {
				Height   uint64 `json:"height"`
				DataRoot string `json:"dataRoot"`
			} `json:"tuple"`
			Proof solBinaryProof `json:"proof"`
		} `json:"attestationProof"`
	}
)
