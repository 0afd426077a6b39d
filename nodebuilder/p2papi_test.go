package nodebuilder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/logging"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// syncBuffer is a bytes.Buffer the node's goroutines write and the test
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A light node's p2p module answers from the node's own host, gossipsub
// and network, and its node.LogLevelSet changes the levels of the logger
// the node was given.
func TestLightP2PAndLogLevelAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "p2p-api-test"
	chain := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 43}).Chain(t, 3)
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, chain))
	conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	conf.RPC.SkipAuth = true

	levels := logging.NewLevelVar(logging.Levels{})
	var logs syncBuffer
	logger := slog.New(logging.NewVarHandler(&logs, levels, false))
	light, err := nodebuilder.New(nodebuilder.Light, t.TempDir(), conf, nodebuilder.Options{
		Logger: logger, LogLevels: levels,
		Badger: func(o badger.Options) badger.Options { return o.WithMemTableSize(8 << 20).WithNumMemtables(2) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := light.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := light.Stop(stopCtx); err != nil {
			t.Errorf("stop light: %v", err)
		}
	})

	call := func(method string, params ...any) (json.RawMessage, string) {
		t.Helper()
		return apiCall(ctx, t, light, method, params...)
	}

	if res, errMsg := call("p2p.Network"); errMsg != "" || string(res) != `"`+chainID+`"` {
		t.Errorf("p2p.Network: %s %s", res, errMsg)
	}
	// The light node runs header-sub, and the bridge is in it.
	topic := gossip.TopicID(chainID)
	var topics []string
	res, errMsg := call("p2p.PubSubTopics")
	if err := json.Unmarshal(res, &topics); errMsg != "" || err != nil || !slices.Contains(topics, topic) {
		t.Errorf("p2p.PubSubTopics: %s %s, want %s among them", res, errMsg, topic)
	}
	coretest.WaitUntil(ctx, t, "the bridge in the light node's header-sub", func() bool {
		res, errMsg := call("p2p.PubSubPeers", topic)
		var peers []peer.ID
		return errMsg == "" && json.Unmarshal(res, &peers) == nil && slices.Contains(peers, b.id())
	})
	var rtt time.Duration
	res, errMsg = call("p2p.Ping", b.id())
	if err := json.Unmarshal(res, &rtt); errMsg != "" || err != nil || rtt <= 0 {
		t.Errorf("p2p.Ping of the bridge: %s %s", res, errMsg)
	}
	if res, errMsg := call("p2p.ConnectionState", b.id()); errMsg != "" || !strings.Contains(string(res), `"Transport":`) {
		t.Errorf("p2p.ConnectionState of the bridge: %s %s", res, errMsg)
	}

	// LogLevelSet changes the levels of the node's logger.
	das := logger.With("service", "das")
	das.Debug("probe before")
	if _, errMsg := call("node.LogLevelSet", "das", "debug"); errMsg != "" {
		t.Fatalf("node.LogLevelSet: %s", errMsg)
	}
	das.Debug("probe after")
	if out := logs.String(); strings.Contains(out, "probe before") || !strings.Contains(out, "probe after") {
		t.Errorf("das debug records after LogLevelSet: %q", out)
	}
	if _, errMsg := call("node.LogLevelSet", "das", "verbose"); !strings.Contains(errMsg, `unknown level "verbose"`) {
		t.Errorf("node.LogLevelSet with an unknown level: %q", errMsg)
	}
}
