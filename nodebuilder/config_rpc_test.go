package nodebuilder_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// TestConfigHeavyCallLimits: the defaults of the heavy-call limits
// validate, and a bound below one or a wait out of range is refused with
// the key's name.
func TestConfigHeavyCallLimits(t *testing.T) {
	c := nodebuilder.DefaultConfig(nodebuilder.Bridge)
	c.ChainID = "heavy-test"
	if err := c.Validate(nodebuilder.Bridge); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := map[string]func(*nodebuilder.Config){
		"rpc.eds_calls":             func(c *nodebuilder.Config) { c.RPC.EDSCalls = 0 },
		"rpc.heavy_calls":           func(c *nodebuilder.Config) { c.RPC.HeavyCalls = -1 },
		"rpc.heavy_calls_per_token": func(c *nodebuilder.Config) { c.RPC.HeavyCallsPerToken = 0 },
		"rpc.busy_wait":             func(c *nodebuilder.Config) { c.RPC.BusyWait = nodebuilder.Duration(-time.Second) },
	}
	for key, edit := range cases {
		c := nodebuilder.DefaultConfig(nodebuilder.Bridge)
		c.ChainID = "heavy-test"
		edit(&c)
		err := c.Validate(nodebuilder.Bridge)
		if !errors.Is(err, nodebuilder.ErrConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want an ErrConfig naming the key", key, err)
		}
	}
}
