package nodebuilder

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConnCap(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		configured int
		soft       uint64
		want       int
	}{
		{1024, 1 << 20, 1024},            // plenty of descriptors
		{1024, 0, 1024},                  // no limit known
		{1024, 1024 + 2*100, 100},        // half of what the reserve leaves
		{1024, 1024, MinAPIConns},        // nothing left: the floor
		{1024, 256, MinAPIConns},         // below the reserve
		{50, FDReserve + 2*1000, 50},     // configured lower than the room
		{MinAPIConns, 300, MinAPIConns},  // the floor, configured
		{5000, FDReserve + 2*4999, 4999}, // just short
	} {
		if got := connCap(c.configured, c.soft, log); got != c.want {
			t.Errorf("connCap(%d, %d) = %d, want %d", c.configured, c.soft, got, c.want)
		}
	}
}

func TestRPCLimitsValidated(t *testing.T) {
	for _, c := range []struct {
		key string
		set func(*Config)
	}{
		{"rpc.max_connections", func(c *Config) { c.RPC.MaxConnections = MinAPIConns - 1 }},
		{"rpc.max_body_memory", func(c *Config) { c.RPC.MaxBodyMemory = c.RPC.MaxRequestBytes - 1 }},
		{"rpc.read_header_timeout", func(c *Config) { c.RPC.ReadHeaderTimeout = 0 }},
		{"rpc.read_timeout", func(c *Config) { c.RPC.ReadTimeout = Duration(-time.Second) }},
		{"rpc.idle_timeout", func(c *Config) { c.RPC.IdleTimeout = 0 }},
	} {
		conf := DefaultConfig(Bridge)
		conf.ChainID = "test"
		if err := conf.Validate(Bridge); err != nil {
			t.Fatalf("default: %v", err)
		}
		c.set(&conf)
		err := conf.Validate(Bridge)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v", c.key, err)
		}
	}
}
