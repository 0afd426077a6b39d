package gossip

import (
	"context"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/header"
)

// Messages over gossipsub's own 1 MiB limit never reach the validator over
// the network, so the size check is tested here.
func TestCheckRejectsOversized(t *testing.T) {
	g := &Gossip{cfg: config{chainID: "test-chain"}}
	g.verify = func(context.Context, *header.ExtendedHeader) error { return nil }
	if _, err := g.check(make([]byte, header.MaxExtendedHeaderSize+1)); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("oversized message: %v", err)
	}
	if _, err := g.check(nil); !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, header.ErrInvalidEncoding) {
		t.Fatalf("empty message: %v", err)
	}
}
