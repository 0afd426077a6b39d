package streamserver_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/internal/streamserver"
)

// The options set their fields, reject values out of range, and Apply
// prefixes the error with the protocol's name.
func TestSettingsOptions(t *testing.T) {
	var s streamserver.Settings
	log := slog.New(slog.DiscardHandler)
	for _, o := range []streamserver.Option{
		streamserver.MaxStreamsPerPeer(3),
		streamserver.PeerRateLimit(2.5, 4),
		streamserver.Timeouts(time.Second, time.Minute),
		streamserver.Logger(log),
	} {
		if err := o.Apply("test", &s); err != nil {
			t.Fatal(err)
		}
	}
	want := streamserver.Settings{MaxStreamsPerPeer: 3, PeerRate: 2.5, PeerBurst: 4, ReadTimeout: time.Second, WriteTimeout: time.Minute, Log: log}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	for name, o := range map[string]streamserver.Option{
		"streams":       streamserver.MaxStreamsPerPeer(0),
		"rate":          streamserver.PeerRateLimit(0, 1),
		"NaN rate":      streamserver.PeerRateLimit(nanRate(), 1),
		"burst":         streamserver.PeerRateLimit(1, 0),
		"read timeout":  streamserver.Timeouts(0, time.Second),
		"write timeout": streamserver.Timeouts(time.Second, -1),
		"logger":        streamserver.Logger(nil),
	} {
		err := o.Apply("test", &s)
		if err == nil || !strings.HasPrefix(err.Error(), "test: ") {
			t.Errorf("%s: %v, want an error prefixed \"test: \"", name, err)
		}
	}
	if s != want {
		t.Errorf("a rejected option changed the settings: %+v", s)
	}
}

func nanRate() float64 {
	zero := 0.0
	return zero / zero
}
