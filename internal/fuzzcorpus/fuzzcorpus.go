// Package fuzzcorpus keeps the generated seed corpora of Go fuzz targets:
// files testdata/fuzz/<Target>/<Name> in the "go test fuzz v1" format, which
// plain `go test` runs as test cases. A package's corpus test builds its
// seeds in Go (real encodings made by the code under test) and either checks
// that the committed files are current or, when asked, rewrites them.
package fuzzcorpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Dir is where go test looks for a package's seed corpora, relative to the
// package directory (the working directory of its tests).
const Dir = "testdata/fuzz"

// Seed is one corpus file: the arguments of one call of a fuzz target.
type Seed struct {
	Target, Name string
	// Args are the fuzz function's arguments after *testing.T, each a
	// []byte or a byte.
	Args []any
}

// Encode returns the "go test fuzz v1" file holding args.
func Encode(args ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		default:
			return nil, fmt.Errorf("fuzzcorpus: unsupported argument type %T", a)
		}
	}
	return b.Bytes(), nil
}

func files(t testing.TB, seeds []Seed) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte, len(seeds))
	for _, s := range seeds {
		data, err := Encode(s.Args...)
		if err != nil {
			t.Fatalf("seed %s/%s: %v", s.Target, s.Name, err)
		}
		out[filepath.Join(Dir, s.Target, s.Name)] = data
	}
	return out
}

// Check fails t for every seed whose file is missing or differs; regenerate
// tells the reader how to rewrite them.
func Check(t testing.TB, seeds []Seed, regenerate string) {
	t.Helper()
	for path, want := range files(t, seeds) {
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed %s is missing or stale (%v); run: %s", path, err, regenerate)
		}
	}
}

// Write writes every seed's file. With replace, the directories of the
// seeds' targets are emptied first, so seeds no longer generated go away;
// without it, other files there (inputs the fuzzer found) stay.
func Write(t testing.TB, seeds []Seed, replace bool) {
	t.Helper()
	want := files(t, seeds)
	dirs := map[string]bool{}
	for _, s := range seeds {
		dirs[filepath.Join(Dir, s.Target)] = true
	}
	for dir := range dirs {
		if replace {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, data := range want {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Sync is the body of a package's corpus test: with write it rewrites the
// seeds (replacing their targets' directories), otherwise it checks them,
// telling the reader to run regenerate when they are stale.
func Sync(t testing.TB, seeds []Seed, write bool, regenerate string) {
	t.Helper()
	if write {
		Write(t, seeds, true)
		return
	}
	Check(t, seeds, regenerate)
}
