// Package edstest builds data squares for tests of the packages that
// extend, serve or sample them, and deep-copies proofs for the tests that
// tamper with them.
package edstest

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// RandomODS returns a k×k original data square of random shares, the same
// for the same seed and k: namespaces are version 0 with random IDs (never
// reserved), some repeated, and non-decreasing in row-major order (so along
// every row and column); the last tail shares are tail padding.
func RandomODS(seed uint64, k, tail int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	n := k * k
	nss := make([][]byte, n)
	for i := range nss {
		ns := make([]byte, share.NamespaceSize)
		if i > 0 && rng.IntN(4) == 0 {
			copy(ns, nss[i-1])
		} else {
			for j := share.NamespaceSize - 10; j < share.NamespaceSize; j++ {
				ns[j] = byte(rng.Uint32())
			}
			ns[share.NamespaceSize-10] |= 0x01 // never a reserved namespace
		}
		nss[i] = ns
	}
	slices.SortFunc(nss, bytes.Compare)
	ods := make([][]byte, n)
	for i := range ods {
		if i >= n-tail {
			ods[i] = share.TailPaddingShare()
			continue
		}
		s := make([]byte, share.ShareSize)
		for j := range s {
			s[j] = byte(rng.Uint32())
		}
		copy(s, nss[i])
		ods[i] = s
	}
	return ods
}

// RandomEDS extends RandomODS(seed, k, tail) and returns the extended
// square and its header, or fails t.
func RandomEDS(t testing.TB, seed uint64, k, tail int) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader) {
	t.Helper()
	return Extend(t, RandomODS(seed, k, tail))
}

// Extend extends ods and returns the extended square and its header, or
// fails t.
func Extend(t testing.TB, ods [][]byte) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader) {
	t.Helper()
	e, err := eds.Extend(ods)
	if err != nil {
		t.Fatal(err)
	}
	dah, err := eds.NewDAH(e)
	if err != nil {
		t.Fatal(err)
	}
	return e, dah
}

// BuildEDS lays txs out in a square with share.Build under maxSquareSize
// and extends it, or fails t; every transaction must fit.
func BuildEDS(t testing.TB, txs [][]byte, maxSquareSize int) *eds.ExtendedDataSquare {
	t.Helper()
	sq, kept, err := share.Build(txs, maxSquareSize)
	if err != nil || len(kept) != len(txs) {
		t.Fatalf("building the square: %d of %d transactions, %v", len(kept), len(txs), err)
	}
	e, err := eds.Extend(sq.Shares)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
