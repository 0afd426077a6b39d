package nmt_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/celestiaorg/nmt/pb"
	"github.com/datamesh/mesh-node/nmt"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestUnmarshalProofAccepts(t *testing.T) {
	tree, _, _ := fixture(t)
	p := proveNs(t, tree, ns(4)) // absence proof: every field set
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, refBytes(t, p)) {
		t.Fatalf("encoding differs from gogoproto")
	}

	// Unknown fields of every wire type, before and after the known ones.
	var unknown []byte
	unknown = protowire.AppendTag(unknown, 6, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 1<<40)
	unknown = protowire.AppendTag(unknown, 7, protowire.BytesType)
	unknown = protowire.AppendBytes(unknown, []byte("skip me"))
	unknown = protowire.AppendTag(unknown, 8, protowire.Fixed32Type)
	unknown = protowire.AppendFixed32(unknown, 7)
	unknown = protowire.AppendTag(unknown, 9, protowire.Fixed64Type)
	unknown = protowire.AppendFixed64(unknown, 7)
	unknown = protowire.AppendTag(unknown, 10, protowire.StartGroupType)
	unknown = protowire.AppendTag(unknown, 1, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 3)
	unknown = protowire.AppendTag(unknown, 10, protowire.EndGroupType)
	withUnknown := append(append(bytes.Clone(unknown), b...), unknown...)
	q, err := nmt.UnmarshalProof(withUnknown)
	if err != nil || !equalProofs(p, q) {
		t.Errorf("with unknown fields: %+v, %v", q, err)
	}

	// Repeated scalars: the last one wins, as in proto3.
	var again []byte
	again = protowire.AppendTag(again, 1, protowire.VarintType)
	again = protowire.AppendVarint(again, 9)
	q, err = nmt.UnmarshalProof(append(again, b...))
	if err != nil || !equalProofs(p, q) {
		t.Errorf("repeated start: %+v, %v", q, err)
	}

	// The empty proof of an IgnoreMaxNamespace tree.
	q, err = nmt.UnmarshalProof([]byte{0x28, 0x01})
	if err != nil || !q.IsEmpty() || !q.IsMaxNamespaceIgnored {
		t.Errorf("empty proof: %+v, %v", q, err)
	}
	q, err = nmt.UnmarshalProof(nil)
	if err != nil || !equalProofs(q, nmt.Proof{}) {
		t.Errorf("no bytes: %+v, %v", q, err)
	}

	// The decoded proof does not alias the input.
	q, err = nmt.UnmarshalProof(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if !equalProofs(p, q) {
		t.Errorf("decoded proof changed with its input")
	}
}

func TestUnmarshalProofRejects(t *testing.T) {
	node := bytes.Repeat([]byte{1}, nmt.NodeSize)
	badNode := append(bytes.Repeat([]byte{2}, nmt.NamespaceSize), bytes.Repeat([]byte{1}, nmt.NodeSize-nmt.NamespaceSize)...)
	enc := func(m pb.Proof) []byte {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tooMany := make([][]byte, nmt.MaxProofNodes+1)
	for i := range tooMany {
		tooMany[i] = node
	}
	cases := map[string][]byte{
		"negative start":      enc(pb.Proof{Start: -1, End: 1}),
		"negative end":        enc(pb.Proof{End: -5}),
		"start after end":     enc(pb.Proof{Start: 3, End: 2}),
		"end past bound":      enc(pb.Proof{End: nmt.MaxProofIndex + 1}),
		"huge end":            enc(pb.Proof{End: 1 << 62}),
		"too many nodes":      enc(pb.Proof{End: 1, Nodes: tooMany}),
		"short node":          enc(pb.Proof{End: 1, Nodes: [][]byte{node[:89]}}),
		"long node":           enc(pb.Proof{End: 1, Nodes: [][]byte{append(node, 0)}}),
		"empty node":          enc(pb.Proof{End: 1, Nodes: [][]byte{{}}}),
		"node min above max":  enc(pb.Proof{End: 1, Nodes: [][]byte{badNode}}),
		"short leaf hash":     enc(pb.Proof{End: 1, LeafHash: node[:50]}),
		"bad leaf hash":       enc(pb.Proof{End: 1, LeafHash: badNode}),
		"truncated":           enc(pb.Proof{Start: 1, End: 2, Nodes: [][]byte{node}})[:20],
		"truncated varint":    {0x08, 0x80},
		"field zero":          {0x00, 0x01},
		"start as bytes":      {0x0a, 0x01, 0x01},
		"nodes as varint":     {0x18, 0x01},
		"flag as fixed64":     {0x29, 1, 2, 3, 4, 5, 6, 7, 8},
		"stray end group":     {0x0c},
		"unterminated group":  {0x53, 0x08, 0x01},
		"reserved wire type":  {0x0e},
		"overlong varint":     {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"bytes past the end":  {0x22, 0x5a, 0x01},
		"unknown bytes short": {0x3a, 0x05, 0x01},
	}
	for name, b := range cases {
		if p, err := nmt.UnmarshalProof(b); !errors.Is(err, nmt.ErrInvalidProof) {
			t.Errorf("%s: %+v, err = %v, want ErrInvalidProof", name, p, err)
		}
	}
}

func TestMarshalBinaryRejects(t *testing.T) {
	for name, p := range map[string]nmt.Proof{
		"negative start": {Start: -1, End: 1},
		"short node":     {End: 1, Nodes: [][]byte{make([]byte, 10)}},
		"short leafhash": {End: 1, LeafHash: make([]byte, 10)},
	} {
		if _, err := p.MarshalBinary(); !errors.Is(err, nmt.ErrInvalidProof) {
			t.Errorf("%s: err = %v, want ErrInvalidProof", name, err)
		}
	}
}
