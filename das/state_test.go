package das

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/header"
)

// The scheduler is driven by scripts of steps; each step may check the job
// handed out and the sampled chain head.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type step struct {
	do   string // "job", "nojob", "report", "abandon", "head", "onhead"
	at   time.Duration
	id   int
	h    uint64
	out  outcome
	want string // job: "kind from-to"; report/abandon: "" or sampled head
	// sampled, when not zero, is the sampled chain head after the step,
	// plus one (so 1 checks 0).
	sampled uint64
}

func fakeHeader(h uint64) *header.ExtendedHeader {
	return &header.ExtendedHeader{RawHeader: types.Header{Height: int64(h)}}
}

func TestScheduler(t *testing.T) {
	opts := Options{Workers: 2, RangeSize: 4, RetryBackoff: time.Second, MaxRetryBackoff: 4 * time.Second}
	for _, tc := range []struct {
		name  string
		from  uint64
		net   uint64
		steps []step
	}{
		{"ranges up to the head, limited by workers", 1, 10, []step{
			{do: "job", want: "catchup 1-4"},
			{do: "job", want: "catchup 5-8"},
			{do: "nojob"},
			{do: "report", id: 2, h: 5, sampled: 1},
			{do: "report", id: 1, h: 1, sampled: 2},
			{do: "report", id: 1, h: 2},
			{do: "report", id: 1, h: 3},
			{do: "report", id: 1, h: 4, sampled: 6},
			{do: "job", want: "catchup 9-10"},
			{do: "nojob"},
		}},
		{"out-of-order report ignored", 1, 4, []step{
			{do: "job", want: "catchup 1-4"},
			{do: "report", id: 1, h: 2, sampled: 1},
			{do: "report", id: 9, h: 1, sampled: 1},
		}},
		{"failed heights count as done and are retried with backoff", 1, 2, []step{
			{do: "job", want: "catchup 1-2"},
			{do: "report", id: 1, h: 1, out: outcomeUnavailable},
			{do: "report", id: 1, h: 2, sampled: 3},
			{do: "nojob", at: 999 * time.Millisecond},
			{do: "job", at: time.Second, want: "retry 1-1"},
			{do: "nojob", at: time.Second},
			{do: "report", id: 2, h: 1, out: outcomeUnavailable, at: time.Second},
			{do: "nojob", at: 2999 * time.Millisecond},
			{do: "job", at: 3 * time.Second, want: "retry 1-1"},
			{do: "report", id: 3, h: 1, at: 3 * time.Second, sampled: 3},
			{do: "nojob", at: time.Hour},
		}},
		{"retries in order of due time", 1, 8, []step{
			{do: "job", want: "catchup 1-4"},
			{do: "job", want: "catchup 5-8"},
			{do: "report", id: 2, h: 5, out: outcomeUnavailable},
			{do: "report", id: 2, h: 6},
			{do: "report", id: 2, h: 7},
			{do: "report", id: 2, h: 8},
			{do: "report", id: 1, h: 1, out: outcomeUnavailable, at: 500 * time.Millisecond},
			{do: "report", id: 1, h: 2},
			{do: "report", id: 1, h: 3},
			{do: "report", id: 1, h: 4, sampled: 9},
			{do: "job", at: 2 * time.Second, want: "retry 5-5"},
			{do: "job", at: 2 * time.Second, want: "retry 1-1"},
			{do: "abandon", id: 4},
			{do: "job", at: 2 * time.Second, want: "retry 1-1"},
		}},
		{"new head on the fast path beside busy workers", 1, 10, []step{
			{do: "job", want: "catchup 1-4"},
			{do: "job", want: "catchup 5-8"},
			{do: "onhead", h: 12},
			{do: "job", want: "recent 12-12"},
			{do: "report", id: 3, h: 12},
			{do: "report", id: 1, h: 1},
			{do: "report", id: 1, h: 2},
			{do: "report", id: 1, h: 3},
			{do: "report", id: 1, h: 4, sampled: 5},
			{do: "job", want: "catchup 9-11"},
			{do: "onhead", h: 12}, // known: not again
			{do: "onhead", h: 3},  // below catch-up: not again
			{do: "nojob"},
		}},
		{"abandoned range handed out again", 5, 20, []step{
			{do: "job", want: "catchup 5-8"},
			{do: "report", id: 1, h: 5, sampled: 6},
			{do: "abandon", id: 1},
			{do: "job", want: "catchup 6-8"},
			{do: "job", want: "catchup 9-12"},
		}},
		{"head raised", 1, 0, []step{
			{do: "nojob"},
			{do: "head", h: 2},
			{do: "job", want: "catchup 1-2"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScheduler(opts)
			s.init(tc.from, tc.net)
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				switch st.do {
				case "job", "nojob":
					j, ok := s.nextJob(now)
					got := "none"
					if ok {
						got = fmt.Sprintf("%s %d-%d", j.kind, j.from, j.to)
					}
					if want := map[bool]string{true: st.want, false: "none"}[st.do == "job"]; got != want {
						t.Fatalf("step %d: job %q, want %q", i, got, want)
					}
				case "report":
					s.report(st.id, st.h, st.out, now)
				case "abandon":
					s.abandon(st.id)
				case "head":
					s.head(st.h)
				case "onhead":
					s.onHead(fakeHeader(st.h))
				}
				if st.sampled != 0 && s.sampled != st.sampled-1 {
					t.Fatalf("step %d: sampled head %d, want %d", i, s.sampled, st.sampled-1)
				}
			}
		})
	}
}

func TestSchedulerCheckpointRoundTrip(t *testing.T) {
	opts := Options{Workers: 2, RangeSize: 4, RetryBackoff: time.Second, MaxRetryBackoff: time.Second}
	s := newScheduler(opts)
	s.init(1, 12)
	s.nextJob(t0) // 1-4
	s.nextJob(t0) // 5-8
	s.report(1, 1, outcomeUnavailable, t0)
	s.report(2, 5, outcomeAvailable, t0)
	s.report(2, 6, outcomeAvailable, t0)
	cp := s.checkpoint()
	want := Checkpoint{
		SampleFrom: 1, SampledChainHead: 1, NetworkHead: 12,
		Done:       []Range{{5, 6}},
		InProgress: []Range{{2, 4}, {7, 8}},
		Failed:     map[uint64]int{1: 1},
	}
	if !reflect.DeepEqual(cp, want) {
		t.Fatalf("checkpoint %+v, want %+v", cp, want)
	}
	r := newScheduler(opts)
	r.restore(cp, 12, t0)
	// The failed height is retried at once; the heights not done are
	// sampled, 5 and 6 are not.
	retry, _ := r.nextJob(t0)
	catchUp, _ := r.nextJob(t0)
	if retry.kind != JobRetry || retry.from != 1 || catchUp.kind != JobCatchUp || catchUp.from != 2 || catchUp.to != 4 {
		t.Fatalf("jobs after restore %+v, %+v; want retry 1, catch-up 2-4", retry, catchUp)
	}
	for h := uint64(2); h <= 4; h++ {
		r.report(catchUp.id, h, outcomeAvailable, t0)
	}
	if r.sampled != 6 {
		t.Fatalf("sampled head %d after 2-4, want 6 (5, 6 restored as done)", r.sampled)
	}
	if j, _ := r.nextJob(t0); j.from != 7 || j.to != 10 {
		t.Fatalf("next job %d-%d, want 7-10", j.from, j.to)
	}
}
