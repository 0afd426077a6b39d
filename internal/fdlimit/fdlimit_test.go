//go:build unix

package fdlimit_test

import (
	"syscall"
	"testing"

	"github.com/datamesh/mesh-node/internal/fdlimit"
)

// TestRaise lowers this test process's soft limit, as a shell's ulimit -n
// would, and checks that Raise lifts it to the hard limit.
func TestRaise(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 512 {
		t.Skipf("hard limit %d: too low to lower the soft limit under it", lim.Max)
	}
	low := lim
	low.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	soft, err := fdlimit.Raise()
	if err != nil {
		t.Fatal(err)
	}
	if soft != uint64(lim.Max) {
		t.Errorf("soft limit %d after Raise, hard limit %d", soft, lim.Max)
	}
	now, err := fdlimit.Soft()
	if err != nil || now != soft {
		t.Errorf("Soft() = %d, %v; Raise returned %d", now, err, soft)
	}
	// Raised already: Raise leaves it.
	if again, err := fdlimit.Raise(); err != nil || again != soft {
		t.Errorf("second Raise: %d, %v", again, err)
	}
}
