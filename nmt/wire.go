package nmt

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the protobuf message of celestiaorg/nmt pb/proof.proto:
//
//	message Proof {
//	  int64 start = 1;
//	  int64 end = 2;
//	  repeated bytes nodes = 3;
//	  bytes leaf_hash = 4;
//	  bool is_max_namespace_ignored = 5;
//	}
const (
	fieldStart    protowire.Number = 1
	fieldEnd      protowire.Number = 2
	fieldNodes    protowire.Number = 3
	fieldLeafHash protowire.Number = 4
	fieldIgnored  protowire.Number = 5
)

// MarshalBinary encodes p as the protobuf message above, byte for byte as
// gogoproto does: fields in number order, zero scalars and an empty
// leaf_hash omitted. It fails, wrapping ErrInvalidProof, for a proof that
// UnmarshalProof would reject (out-of-bounds range, too many nodes, a node
// or leaf hash that is not a valid node).
func (p Proof) MarshalBinary() ([]byte, error) {
	if err := p.checkShape(); err != nil {
		return nil, err
	}
	size := 0
	if p.Start != 0 {
		size += protowire.SizeTag(fieldStart) + protowire.SizeVarint(uint64(p.Start))
	}
	if p.End != 0 {
		size += protowire.SizeTag(fieldEnd) + protowire.SizeVarint(uint64(p.End))
	}
	size += len(p.Nodes) * (protowire.SizeTag(fieldNodes) + protowire.SizeBytes(NodeSize))
	if len(p.LeafHash) > 0 {
		size += protowire.SizeTag(fieldLeafHash) + protowire.SizeBytes(NodeSize)
	}
	if p.IsMaxNamespaceIgnored {
		size += protowire.SizeTag(fieldIgnored) + 1
	}

	b := make([]byte, 0, size)
	if p.Start != 0 {
		b = protowire.AppendTag(b, fieldStart, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(p.Start))
	}
	if p.End != 0 {
		b = protowire.AppendTag(b, fieldEnd, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(p.End))
	}
	for _, n := range p.Nodes {
		b = protowire.AppendTag(b, fieldNodes, protowire.BytesType)
		b = protowire.AppendBytes(b, n)
	}
	if len(p.LeafHash) > 0 {
		b = protowire.AppendTag(b, fieldLeafHash, protowire.BytesType)
		b = protowire.AppendBytes(b, p.LeafHash)
	}
	if p.IsMaxNamespaceIgnored {
		b = protowire.AppendTag(b, fieldIgnored, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b, nil
}

// UnmarshalBinary decodes b into p; see UnmarshalProof.
func (p *Proof) UnmarshalBinary(b []byte) error {
	q, err := UnmarshalProof(b)
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// UnmarshalProof decodes a proof encoded as by MarshalBinary, treating b as
// untrusted. It accepts any valid protobuf encoding (fields in any order,
// repeated scalars where the last wins, unknown fields skipped) within these
// limits, and otherwise returns an error wrapping ErrInvalidProof:
//   - start and end within [0, MaxProofIndex], start <= end;
//   - at most MaxProofNodes nodes, each a valid node of NodeSize bytes;
//   - leaf_hash empty or a valid node;
//   - a known field with the wrong wire type is an error.
//
// It does not verify anything; IsMaxNamespaceIgnored is decoded as sent and
// checked by the Verify methods. The proof does not alias b.
func UnmarshalProof(b []byte) (Proof, error) {
	var (
		p        Proof
		nodes    [MaxProofNodes][]byte // aliasing b until copied below
		numNodes int
		leafHash []byte
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Proof{}, decodeError("tag", protowire.ParseError(n))
		}
		b = b[n:]
		switch num {
		case fieldStart, fieldEnd, fieldIgnored:
			if typ != protowire.VarintType {
				return Proof{}, fmt.Errorf("%w: field %d has wire type %d, want varint", ErrInvalidProof, num, typ)
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return Proof{}, decodeError(fmt.Sprintf("field %d", num), protowire.ParseError(n))
			}
			b = b[n:]
			if num == fieldIgnored {
				p.IsMaxNamespaceIgnored = v != 0
				continue
			}
			// int64 on the wire: a negative value is a huge uint64.
			if v > MaxProofIndex {
				return Proof{}, fmt.Errorf("%w: field %d is %d, outside [0, %d]", ErrInvalidProof, num, int64(v), MaxProofIndex)
			}
			if num == fieldStart {
				p.Start = int(v)
			} else {
				p.End = int(v)
			}
		case fieldNodes, fieldLeafHash:
			if typ != protowire.BytesType {
				return Proof{}, fmt.Errorf("%w: field %d has wire type %d, want bytes", ErrInvalidProof, num, typ)
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Proof{}, decodeError(fmt.Sprintf("field %d", num), protowire.ParseError(n))
			}
			b = b[n:]
			if num == fieldLeafHash {
				leafHash = v
				continue
			}
			if numNodes == MaxProofNodes {
				return Proof{}, fmt.Errorf("%w: more than %d nodes", ErrInvalidProof, MaxProofNodes)
			}
			if len(v) != NodeSize {
				return Proof{}, fmt.Errorf("%w: node %d has %d bytes, want %d", ErrInvalidProof, numNodes, len(v), NodeSize)
			}
			nodes[numNodes] = v
			numNodes++
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return Proof{}, decodeError(fmt.Sprintf("unknown field %d", num), protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if len(leafHash) != 0 && len(leafHash) != NodeSize {
		return Proof{}, fmt.Errorf("%w: leaf hash has %d bytes, want 0 or %d", ErrInvalidProof, len(leafHash), NodeSize)
	}

	// Copy nodes and leaf hash into one buffer the proof owns.
	buf := make([]byte, 0, numNodes*NodeSize+len(leafHash))
	for _, n := range nodes[:numNodes] {
		buf = append(buf, n...)
	}
	buf = append(buf, leafHash...)
	if numNodes > 0 {
		p.Nodes = make([][]byte, numNodes)
		for i := range p.Nodes {
			p.Nodes[i] = buf[i*NodeSize : (i+1)*NodeSize : (i+1)*NodeSize]
		}
	}
	if len(leafHash) > 0 {
		p.LeafHash = buf[numNodes*NodeSize:]
	}
	if err := p.checkShape(); err != nil {
		return Proof{}, err
	}
	return p, nil
}

func decodeError(what string, err error) error {
	return fmt.Errorf("%w: decoding %s: %w", ErrInvalidProof, what, err)
}
