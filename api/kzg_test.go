package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// kzgCtx bounds a test that commits: the first commitment of the process
// loads the trusted setup, which is slow under the race detector.
func kzgCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// kzgData is n deterministic pseudo-random bytes.
func kzgData(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{15, 4})
	_, _ = r.Read(b)
	return b
}

// kzgServer serves only a kzg module with opts and returns its HTTP URL.
func kzgServer(t *testing.T, m *api.KZGModule) string {
	t.Helper()
	return "http://" + api.StartServer(t, api.ServerOptions{Secret: testSecret}, api.Modules{KZG: m}).Addr()
}

var (
	versionedHashRe = regexp.MustCompile(`^0x01[0-9a-f]{62}$`)  // a versioned hash: version 1, lower case
	b64Re           = regexp.MustCompile(`^[A-Za-z0-9+/]{64}$`) // 48 bytes, standard base64
)

// kzg.Commit through the server answers kzg.Commit's commitments and
// versioned hashes, chunk by chunk, in blob.GetKZG's shapes: the raw
// response is checked key by key (commitment base64, versioned_hash
// 0x-hex), and the Go client decodes the same values over HTTP and
// WebSocket.
func TestKZGCommit(t *testing.T) {
	ctx := kzgCtx(t)
	url := kzgServer(t, api.NewKZGModule(api.ModuleOptions{}))
	tok := token(t, api.PermsFor(api.PermRead))
	for _, size := range []int{1, kzg.MaxChunkSize, kzg.MaxChunkSize + 1} {
		data := kzgData(size)
		want, err := kzg.Commit(data)
		if err != nil {
			t.Fatal(err)
		}
		params, err := json.Marshal([]any{data})
		if err != nil {
			t.Fatal(err)
		}
		r := callHTTP(t, url, tok, "kzg.Commit", params)
		if r.Error != nil {
			t.Fatalf("%d bytes: %+v", size, r.Error)
		}
		var raw struct {
			Codec  string                       `json:"codec"`
			Chunks []map[string]json.RawMessage `json:"chunks"`
		}
		if err := json.Unmarshal(r.Result, &raw); err != nil {
			t.Fatalf("%d bytes: %s: %v", size, r.Result, err)
		}
		if raw.Codec != "op-stack-v0" || len(raw.Chunks) != len(want) {
			t.Fatalf("%d bytes: codec %q, %d chunks; want op-stack-v0, %d", size, raw.Codec, len(raw.Chunks), len(want))
		}
		for i, c := range raw.Chunks {
			var commitment, vh string
			keys := slices.Sorted(maps.Keys(c))
			if !slices.Equal(keys, []string{"commitment", "versioned_hash"}) ||
				json.Unmarshal(c["commitment"], &commitment) != nil || json.Unmarshal(c["versioned_hash"], &vh) != nil {
				t.Fatalf("%d bytes: chunk %d is %v", size, i, c)
			}
			if !b64Re.MatchString(commitment) || !versionedHashRe.MatchString(vh) {
				t.Errorf("%d bytes: chunk %d: commitment %q (want base64 of 48 bytes), versioned_hash %q (want 0x01 and 62 hex digits)", size, i, commitment, vh)
			}
			if commitment != base64.StdEncoding.EncodeToString(want[i].Commitment[:]) || vh != blob.Hex32(want[i].VersionedHash).String() {
				t.Errorf("%d bytes: chunk %d: %s %s, want kzg.Commit's %x %x", size, i, commitment, vh, want[i].Commitment, want[i].VersionedHash)
			}
		}
	}

	data := kzgData(kzg.MaxChunkSize + 1)
	want, err := kzg.Commit(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{url, "ws" + strings.TrimPrefix(url, "http")} {
		got, err := newClient(t, u, tok).KZG.Commit(ctx, data)
		if err != nil || got.Codec != blob.KZGCodec || len(got.Chunks) != len(want) {
			t.Fatalf("%s: client KZG.Commit: %+v, %v", u, got, err)
		}
		for i, c := range got.Chunks {
			if kzg.Commitment(c.Commitment) != want[i].Commitment || [32]byte(c.VersionedHash) != want[i].VersionedHash {
				t.Errorf("%s: chunk %d: %+v, want %+v", u, i, c, want[i])
			}
		}
	}
}

// Data no blob can hold is refused with a message saying why, before
// anything is computed: empty, null and over the bound (a module bounded
// to 10 bytes here; the node's bound is share.MaxBlobSize, checked by
// TestKZGCommitMaxBlobSize). Without read permission the call is refused.
func TestKZGCommitRefused(t *testing.T) {
	url := kzgServer(t, api.NewKZGModuleMax(api.ModuleOptions{}, 10))
	tok := token(t, api.PermsFor(api.PermRead))
	for _, c := range []struct{ params, want string }{
		{`[""]`, "api: kzg.Commit: share: blob data is empty (a blob holds at least one byte)"},
		{`[null]`, "api: kzg.Commit: share: blob data is empty (a blob holds at least one byte)"},
		{`["AAAAAAAAAAAAAAA="]`, "api: kzg.Commit: share: blob too large: 11 bytes, a blob holds at most 10"},
	} {
		r := callHTTP(t, url, tok, "kzg.Commit", json.RawMessage(c.params))
		if r.Error == nil || r.Error.Message != c.want {
			t.Errorf("kzg.Commit(%s): %+v %s; want %q", c.params, r.Error, r.Result, c.want)
		}
	}
	if r := callHTTP(t, url, tok, "kzg.Commit", json.RawMessage(`["AAAAAAAAAAAAAA=="]`)); r.Error != nil {
		t.Errorf("kzg.Commit of 10 bytes: %+v", r.Error)
	}
	public := token(t, []api.Permission{api.PermPublic})
	r := callHTTP(t, url, public, "kzg.Commit", json.RawMessage(`["aGVsbG8="]`))
	if r.Error == nil || r.Error.Message != "missing permission to invoke 'Commit' (need 'read')" {
		t.Errorf("kzg.Commit without read: %+v %s", r.Error, r.Result)
	}
}

// The node's module refuses data over share.MaxBlobSize (wrapping
// share.ErrBlobTooLarge) and empty data (share.ErrEmptyBlob); a call whose
// context has ended computes nothing and returns its error. Direct calls:
// such a request does not fit the server's default body limit.
func TestKZGCommitMaxBlobSize(t *testing.T) {
	m := api.NewKZGModule(api.ModuleOptions{})
	ctx := api.WithPerms(context.Background(), api.PermsFor(api.PermRead))
	// The bytes are never touched: the refusal comes first.
	if _, err := m.Commit(ctx, make([]byte, share.MaxBlobSize+1)); !errors.Is(err, share.ErrBlobTooLarge) {
		t.Errorf("%d bytes: %v, want share.ErrBlobTooLarge", share.MaxBlobSize+1, err)
	}
	if _, err := m.Commit(ctx, nil); !errors.Is(err, share.ErrEmptyBlob) {
		t.Errorf("no bytes: %v, want share.ErrEmptyBlob", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Commit(ended, []byte("hello")); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v, want context.Canceled", err)
	}
}

// kzg.Commit is heavy: past the Limiter's bound for a caller it is refused
// with "busy". A call's slot is held until its context ends, as the
// server's request context does once the response is written.
func TestKZGCommitBounded(t *testing.T) {
	lim, err := api.NewLimiter(api.HeavyOptions{HeavyCalls: 1, Wait: -1, FreeMemoryInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := api.NewKZGModule(api.ModuleOptions{Limiter: lim})
	ctx := api.WithPerms(kzgCtx(t), api.PermsFor(api.PermRead))
	first, end := context.WithCancel(api.WithCaller(ctx, "a"))
	defer end()
	if _, err := m.Commit(first, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, err = m.Commit(api.WithCaller(ctx, "b"), []byte("hello"))
	if !errors.Is(err, api.ErrBusy) || !strings.Contains(err.Error(), "kzg.Commit") {
		t.Errorf("second call while the first holds the slot: %v, want api.ErrBusy naming kzg.Commit", err)
	}
}

// A halted node still commits: the answer depends only on the caller's
// bytes.
func TestKZGCommitHalted(t *testing.T) {
	c := newChain(t, 2, 25)
	halt := &fraud.Halt{}
	halt.Set(proofOf(t, c.at(2), c.square(2), eds.Row, 0))
	if halt.Any() == nil {
		t.Fatal("the node is not halted")
	}
	url := kzgServer(t, api.NewKZGModule(api.ModuleOptions{Halt: halt}))
	r := callHTTP(t, url, token(t, api.PermsFor(api.PermRead)), "kzg.Commit", json.RawMessage(`["aGVsbG8="]`))
	want, err := kzg.Commit([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	var got api.KZGCommitments
	if r.Error != nil || json.Unmarshal(r.Result, &got) != nil || len(got.Chunks) != 1 || got.Chunks[0].VersionedHash != want[0].VersionedHash {
		t.Errorf("kzg.Commit on a halted node: %+v %s", r.Error, r.Result)
	}
}
