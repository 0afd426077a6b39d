package topic_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/internal/topic"
)

type blocker struct{ blocked []peer.ID }

func (b *blocker) BlockPeer(id peer.ID, _ error) { b.blocked = append(b.blocked, id) }

// The options set their fields and reject what they cannot use, wrapping
// the protocol's sentinel; Block tells the Blocker, if there is one.
func TestOptions(t *testing.T) {
	errInvalid := errors.New("proto: invalid option")
	var o topic.Options
	o.Block("p", errors.New("no blocker: nothing happens"))
	b, log := &blocker{}, slog.New(slog.DiscardHandler)
	for _, opt := range []topic.Option{topic.WithPeerBlocker(b), topic.WithLogger(log), topic.WithValidatorTimeout(time.Second)} {
		if err := opt.Apply(errInvalid, &o); err != nil {
			t.Fatal(err)
		}
	}
	if o.Blocker != b || o.Log != log || o.Timeout != time.Second {
		t.Errorf("options not set: %+v", o)
	}
	o.Block("p", errors.New("bad message"))
	if len(b.blocked) != 1 || b.blocked[0] != "p" {
		t.Errorf("blocked %v, want [p]", b.blocked)
	}
	for name, opt := range map[string]topic.Option{
		"blocker": topic.WithPeerBlocker(nil),
		"logger":  topic.WithLogger(nil),
		"timeout": topic.WithValidatorTimeout(0),
	} {
		err := opt.Apply(errInvalid, &o)
		if !errors.Is(err, errInvalid) || !strings.HasPrefix(err.Error(), "proto: invalid option: ") {
			t.Errorf("%s: %v, want an error wrapping the sentinel", name, err)
		}
	}
}
