package nodebuilder_test

import (
	"context"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// A home is locked while a node has it: a second node, or reset-store, is
// refused with ErrHomeLocked until the first stops.
func TestHomeLock(t *testing.T) {
	home := t.TempDir()
	conf := nodeConfig(nodebuilder.Light, "lock-test", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	first, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{}); !errors.Is(err, nodebuilder.ErrHomeLocked) {
		t.Fatalf("second node on the home: %v, want ErrHomeLocked", err)
	}
	if _, err := nodebuilder.ResetStore(home); !errors.Is(err, nodebuilder.ErrHomeLocked) {
		t.Fatalf("reset-store while the node has the home: %v, want ErrHomeLocked", err)
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
	if err != nil {
		t.Fatalf("after the first node stopped: %v", err)
	}
	if err := second.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := nodebuilder.ResetStore(home); err != nil {
		t.Fatal(err)
	}
}
