package main

import (
	"testing"

	"github.com/datamesh/mesh-node/share"
)

// parseNamespace never panics, and what it accepts may carry a blob.
func FuzzParseNamespace(f *testing.F) {
	for _, s := range []string{"0102030405", "0x01", "01", "", "zz", "00000000000000000000000000000000000000000000000000000000ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := parseNamespace("--namespace", s)
		if err != nil {
			return
		}
		if _, err := share.NewBlob(ns, []byte{1}, share.ShareVersionZero, nil); err != nil {
			t.Fatalf("parseNamespace(%q) = %s, which NewBlob refuses: %v", s, ns, err)
		}
	})
}
