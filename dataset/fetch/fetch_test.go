package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/dataset/fetch"
	"github.com/datamesh/mesh-node/share"
)

func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func newFetcher(t *testing.T, n fetch.Node, o fetch.Options) *fetch.Fetcher {
	t.Helper()
	f, err := fetch.New(n, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewRejects(t *testing.T) {
	if _, err := fetch.New(nil, fetch.Options{}); err == nil {
		t.Error("New accepted a nil Node")
	}
	if _, err := fetch.New(newMemNode(false), fetch.Options{Timeout: -time.Second}); err == nil || !strings.HasPrefix(err.Error(), "fetch: timeout") {
		t.Errorf("a negative timeout: %v", err)
	}
}

// A dataset found through the index and at its height fetches and
// verifies whole, its parts the bytes posted.
func TestFetchAndVerify(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(true)
	p := publish(t, n, 1, 12, 4096)
	if len(p.parts) < 3 {
		t.Fatalf("%d parts: want several", len(p.parts))
	}
	f := newFetcher(t, n, fetch.Options{Timeout: time.Minute})
	byIndex, err := f.Locate(ctx, p.root)
	if err != nil {
		t.Fatal(err)
	}
	byManifestCID, err := f.Locate(ctx, p.manifest)
	if err != nil {
		t.Fatal(err)
	}
	atHeight, err := f.LocateAt(ctx, p.root, p.height, nil)
	if err != nil {
		t.Fatal(err)
	}
	withNS, err := f.LocateAt(ctx, p.manifest, p.height, &p.ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []fetch.Located{byIndex, byManifestCID, atHeight, withNS} {
		if loc.CID != p.manifest || !loc.Manifest.Root.Equals(p.root) || loc.Height != p.height || loc.Namespace != p.ns || len(loc.Manifest.Parts) != len(p.parts) {
			t.Fatalf("located %+v", loc)
		}
	}
	if !bytes.Equal(byIndex.Commitment, atHeight.Commitment) {
		t.Fatalf("the manifest's commitment: %x by the index, %x at its height", byIndex.Commitment, atHeight.Commitment)
	}
	ds, err := f.Fetch(ctx, atHeight)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Fetched != len(p.parts) || ds.Cached != 0 {
		t.Fatalf("fetched %d, cached %d", ds.Fetched, ds.Cached)
	}
	for i, part := range p.parts {
		if !bytes.Equal(ds.Parts[i], part) {
			t.Fatalf("part %d differs", i)
		}
	}
	if has, err := ds.Blocks.Has(ctx, p.root); err != nil || !has {
		t.Fatalf("the root block: %v %v", has, err)
	}
	rep, err := f.Verify(ctx, atHeight)
	if err != nil || rep.Err() != nil || len(rep.Bad) != 0 {
		t.Fatalf("Verify: %v, %+v", err, rep)
	}
}

// A node that changes one part's bytes (or loses it) fails Verify on that
// part alone, named by index and height, and stops Fetch there.
func TestVerifyNamesEveryBadPart(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(false)
	p := publish(t, n, 2, 12, 4096)
	f := newFetcher(t, n, fetch.Options{})
	loc, err := f.LocateAt(ctx, p.root, p.height, nil)
	if err != nil {
		t.Fatal(err)
	}
	flip, lose := p.refs[1].Height, p.refs[len(p.refs)-1].Height
	n.tamper = func(height uint64, data []byte) ([]byte, error) {
		switch height {
		case flip:
			data[len(data)-1] ^= 1
		case lose:
			return nil, errors.New("share: unavailable")
		}
		return data, nil
	}
	rep, err := f.Verify(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 2 || rep.Bad[0].Index != 1 || rep.Bad[0].Height != flip || rep.Bad[1].Index != len(p.refs)-1 || rep.Bad[1].Height != lose {
		t.Fatalf("bad parts: %v", rep.Err())
	}
	if !strings.Contains(rep.Bad[0].Error(), "part 1 (height 11, commitment ") || !strings.Contains(rep.Bad[0].Error(), "the manifest lists") {
		t.Fatalf("the flipped part: %v", rep.Bad[0])
	}
	if !strings.Contains(rep.Bad[1].Error(), "blob.Get: share: unavailable") {
		t.Fatalf("the lost part: %v", rep.Bad[1])
	}
	if rep.Whole != nil || !strings.Contains(rep.Err().Error(), "part 1 ") {
		t.Fatalf("Err: %v, Whole %v", rep.Err(), rep.Whole)
	}
	_, err = f.Fetch(ctx, loc)
	var pe *fetch.PartError
	if !errors.As(err, &pe) || pe.Index != 1 {
		t.Fatalf("Fetch: %v, want part 1's error", err)
	}
}

// A manifest that lists a part twice, or leaves one out, verifies part by
// part but not as a whole.
func TestVerifyWholeDataset(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(false)
	p := publish(t, n, 3, 12, 4096)
	f := newFetcher(t, n, fetch.Options{})
	loc, err := f.LocateAt(ctx, p.root, p.height, nil)
	if err != nil {
		t.Fatal(err)
	}
	twice := loc
	twice.Manifest.Parts = append(append(twice.Manifest.Parts[:1:1], loc.Manifest.Parts[0]), loc.Manifest.Parts[1:]...)
	rep, err := f.Verify(ctx, twice)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 1 || rep.Bad[0].Index != 1 || !strings.Contains(rep.Bad[0].Error(), "in an earlier part too") {
		t.Fatalf("a part listed twice: %v", rep.Err())
	}
	short := loc
	short.Manifest.Parts = loc.Manifest.Parts[:len(loc.Manifest.Parts)-1]
	rep, err = f.Verify(ctx, short)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 0 || rep.Whole == nil || !strings.Contains(rep.Whole.Error(), "the manifest says") {
		t.Fatalf("a part left out: %v", rep.Err())
	}
}

// A Fetch stopped after two parts resumes from its cache; Verify ignores
// the cache.
func TestFetchResumesFromCache(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(false)
	p := publish(t, n, 4, 12, 4096)
	dir := t.TempDir()
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	fetched := 0
	f := newFetcher(t, n, fetch.Options{CacheDir: dir, AfterFetch: func(int) {
		if fetched++; fetched == 2 {
			cancel()
		}
	}})
	loc, err := f.LocateAt(ctx, p.root, p.height, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.CachePath(loc); got != filepath.Join(dir, p.manifest.String()) {
		t.Fatalf("CachePath %s", got)
	}
	if _, err := f.Fetch(stop, loc); !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped Fetch: %v", err)
	}
	// A cached part whose bytes changed on disk is fetched again.
	writeFile(t, f.CachePath(loc), "1.car", []byte("not a part"))
	ds, err := f.Fetch(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Cached != 1 || ds.Fetched != len(p.parts)-1 {
		t.Fatalf("resumed: %d cached, %d fetched", ds.Cached, ds.Fetched)
	}
	n.tamper = func(uint64, []byte) ([]byte, error) { return nil, errors.New("gone") }
	if rep, err := f.Verify(ctx, loc); err != nil || len(rep.Bad) != len(p.parts) {
		t.Fatalf("Verify read the cache: %v %v", err, rep.Err())
	}
	if _, err := f.Fetch(ctx, loc); err != nil {
		t.Fatalf("Fetch from a full cache: %v", err)
	}
}

func TestLocateErrors(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(false)
	p := publish(t, n, 5, 3, 4096)
	f := newFetcher(t, n, fetch.Options{})
	if _, err := f.Locate(ctx, p.root); !errors.Is(err, fetch.ErrNoIndex) {
		t.Errorf("Locate without an index: %v", err)
	}
	if _, err := f.LocateAt(ctx, p.manifest, p.height, nil); !errors.Is(err, fetch.ErrNeedNamespace) {
		t.Errorf("LocateAt of a manifest CID without a namespace: %v", err)
	}
	if _, err := f.LocateAt(ctx, p.root, p.refs[0].Height, nil); !errors.Is(err, fetch.ErrNoManifest) {
		t.Errorf("LocateAt a part's height: %v", err)
	}
	var other share.Namespace
	copy(other[:], p.ns[:])
	other[len(other)-1] ^= 1
	if _, err := f.LocateAt(ctx, p.root, p.height, &other); !errors.Is(err, fetch.ErrNoManifest) {
		t.Errorf("LocateAt in another namespace: %v", err)
	}
}
