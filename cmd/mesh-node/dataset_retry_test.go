package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
)

// retryBusy calls again after a busy refusal (as the API's heavy-call
// limit answers up to --parallel parts checking the chain at once), and
// only then: another error is returned at once, and a node that stays
// busy past the context gives the busy error.
func TestRetryBusy(t *testing.T) {
	ctx := context.Background()
	calls := 0
	v, err := retryBusy(ctx, func(context.Context) (int, error) {
		if calls++; calls == 1 {
			return 0, fmt.Errorf("%w: 2 blob.Get calls in flight for this token, its limit; retry in 1s", api.ErrBusy)
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 2 {
		t.Fatalf("after one busy answer: %d, %v, %d calls; want 7 after 2 calls", v, err, calls)
	}

	other := errors.New("blob: not found")
	calls = 0
	if _, err := retryBusy(ctx, func(context.Context) (int, error) { calls++; return 0, other }); !errors.Is(err, other) || calls != 1 {
		t.Fatalf("another error: %v after %d calls, want it at once", err, calls)
	}

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = retryBusy(short, func(context.Context) (int, error) { return 0, fmt.Errorf("%w: limit", api.ErrBusy) })
	if err == nil || !strings.Contains(err.Error(), "stayed busy") {
		t.Fatalf("a node busy past the deadline: %v", err)
	}
}
