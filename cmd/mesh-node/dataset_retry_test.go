package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/header"
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

// catchUp waits for a node whose headers lag the journal's highest
// recorded height (as a light node under load lags the height its own
// Submit returned), so the put checks the recorded blobs instead of
// posting them again; it gives up on a height the node never reaches
// after the put's timeout, and waits for nothing when the node is there.
func TestPutCatchUp(t *testing.T) {
	journal, err := openJournal(filepath.Join(t.TempDir(), "j.jsonl"), journalHeader{Root: "r", Namespace: "n", MaxPartSize: 1, Parts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	for _, r := range []journalRecord{{Kind: recordPart, Index: 0, Height: 30, Commitment: []byte{1}}, {Kind: recordPart, Index: 1, Height: 50, Commitment: []byte{2}}} {
		if err := journal.record(r); err != nil {
			t.Fatal(err)
		}
	}
	run := func(head uint64, reach bool) (waited []uint64, err error) {
		p := &putter{journal: journal, timeout: 200 * time.Millisecond, headers: client.HeaderAPI{
			LocalHead: func(context.Context) (*header.ExtendedHeader, error) {
				return &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: int64(head)}}, nil
			},
			WaitForHeight: func(ctx context.Context, h uint64) (*header.ExtendedHeader, error) {
				waited = append(waited, h)
				if !reach {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: int64(h)}}, nil
			},
		}}
		return waited, p.catchUp(context.Background())
	}
	if w, err := run(40, true); err != nil || len(w) != 1 || w[0] != 50 {
		t.Fatalf("lagging node: waited for %v, %v; want height 50", w, err)
	}
	if w, err := run(40, false); err != nil || len(w) != 1 {
		t.Fatalf("a height never reached: waited for %v, %v; want one bounded wait and no error", w, err)
	}
	if w, err := run(60, true); err != nil || len(w) != 0 {
		t.Fatalf("a node past the journal: waited for %v, %v", w, err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	p := &putter{journal: journal, timeout: time.Second, headers: client.HeaderAPI{
		LocalHead: func(context.Context) (*header.ExtendedHeader, error) {
			return &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: 1}}, nil
		},
		WaitForHeight: func(ctx context.Context, h uint64) (*header.ExtendedHeader, error) { return nil, ctx.Err() },
	}}
	if err := p.catchUp(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
}
