package fraud_test

import (
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
)

func TestHaltKeepsLowestProof(t *testing.T) {
	var h fraud.Halt
	if h.Proof() != nil || h.Any() != nil || h.Err(1) != nil {
		t.Fatal("zero Halt is halted")
	}
	select {
	case <-h.Halted():
		t.Fatal("Halted closed before Set")
	default:
	}
	if h.Set(nil) {
		t.Fatal("Set(nil) halted")
	}
	p10 := &eds.BadEncodingProof{HeaderHash: make([]byte, eds.HeaderHashSize), Height: 10, Axis: eds.Col, Index: 3}
	if !h.Set(p10) {
		t.Fatal("first proof not taken")
	}
	<-h.Halted()
	if h.Err(9) != nil {
		t.Fatal("height below the proof refused")
	}
	err := h.Err(10)
	var he *fraud.HaltError
	if !errors.Is(err, fraud.ErrHalted) || !errors.As(err, &he) || he.Height != 10 || he.Axis != eds.Col || he.Index != 3 {
		t.Fatalf("Err(10) = %v", err)
	}
	if !errors.Is(h.Any(), fraud.ErrHalted) {
		t.Fatal("Any not halted")
	}
	if h.Set(&eds.BadEncodingProof{Height: 12}) {
		t.Fatal("a higher proof replaced a lower one")
	}
	p5 := &eds.BadEncodingProof{HeaderHash: make([]byte, eds.HeaderHashSize), Height: 5}
	if !h.Set(p5) || h.Proof() != p5 || h.Err(5) == nil {
		t.Fatal("a lower proof did not replace the held one")
	}
}
