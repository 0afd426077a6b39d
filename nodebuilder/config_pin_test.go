package nodebuilder_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// TestConfigDatasetPin: dataset.pin round-trips through config.toml; an
// entry that is not a CID is
// refused with its index and value on bridge and full nodes, and ignored
// by a light node, which keeps no datasets.
func TestConfigDatasetPin(t *testing.T) {
	const (
		root  = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
		other = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
	)
	const peer = "/ip4/127.0.0.1/tcp/2121/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	home := t.TempDir()
	c := nodebuilder.DefaultConfig(nodebuilder.Full)
	c.P2P.BootstrapPeers = []string{peer}
	c.ChainID = "pin-test"
	c.Dataset.Pin = []string{root, other, root}
	if err := nodebuilder.WriteConfig(home, c); err != nil {
		t.Fatal(err)
	}
	got, err := nodebuilder.LoadConfig(home, nodebuilder.Full)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Dataset.Pin, c.Dataset.Pin) {
		t.Fatalf("dataset.pin read back as %q", got.Dataset.Pin)
	}

	for _, mode := range []nodebuilder.Mode{nodebuilder.Bridge, nodebuilder.Full, nodebuilder.Light} {
		c := nodebuilder.DefaultConfig(mode)
		c.ChainID = "pin-test"
		if mode != nodebuilder.Bridge {
			c.P2P.BootstrapPeers = []string{peer}
		}
		c.Dataset.Pin = []string{root, "not-a-cid"}
		err := c.Validate(mode)
		if mode == nodebuilder.Light {
			if err != nil {
				t.Errorf("light: %v", err)
			}
			continue
		}
		if !errors.Is(err, nodebuilder.ErrConfig) || !strings.Contains(err.Error(), `dataset.pin[1]: dataset: "not-a-cid" is not a CID`) {
			t.Errorf("%s: %v, want an ErrConfig naming dataset.pin[1]", mode, err)
		}
	}
}
