package fuzzcorpus_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
)

func TestEncode(t *testing.T) {
	got, err := fuzzcorpus.Encode([]byte("a\x00"), byte(7))
	if err != nil {
		t.Fatal(err)
	}
	if want := "go test fuzz v1\n[]byte(\"a\\x00\")\nbyte('\\a')\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := fuzzcorpus.Encode(3); err == nil {
		t.Fatal("an int was accepted")
	}
}

func TestWriteThenCheck(t *testing.T) {
	t.Chdir(t.TempDir())
	seeds := []fuzzcorpus.Seed{{Target: "FuzzX", Name: "one", Args: []any{[]byte("1")}}}
	stale := filepath.Join(fuzzcorpus.Dir, "FuzzX", "stale")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fuzzcorpus.Write(t, seeds, true)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("replace kept a stale file: %v", err)
	}
	fuzzcorpus.Check(t, seeds, "n/a")

	// A changed seed is reported.
	seeds[0].Args = []any{[]byte("2")}
	ft := &fakeT{TB: t}
	fuzzcorpus.Check(ft, seeds, "n/a")
	if !ft.failed {
		t.Fatal("a stale seed was not reported")
	}
}

// fakeT records Errorf instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Helper()               {}
