package das

import (
	"testing"
	"time"
)

// A pruner given no interval looks every tenth of its window, between a
// second and an hour.
func TestPrunerInterval(t *testing.T) {
	for _, c := range []struct{ window, want time.Duration }{
		{DefaultAvailabilityWindow, DefaultPrunerInterval},
		{5 * time.Minute, 30 * time.Second},
		{2 * time.Second, time.Second},
		{10 * time.Hour, time.Hour},
	} {
		if got := prunerInterval(c.window); got != c.want {
			t.Errorf("prunerInterval(%s) = %s, want %s", c.window, got, c.want)
		}
	}
}
