package share

import "math/bits"

// This file holds the arithmetic of the blob share commitment rules (spec
// sections 3.5 and 4): how many shares a sequence needs, how wide a blob's
// commitment subtrees are, and where in a square a blob may start.

// SparseSharesNeeded returns the number of sparse shares that hold a blob of
// dataLen bytes: 478 bytes fit in the first share (458 when it also holds a
// signer) and 482 in each continuation share. It returns 0 for dataLen ≤ 0.
func SparseSharesNeeded(dataLen int, hasSigner bool) int {
	if dataLen <= 0 {
		return 0
	}
	first := FirstSparseShareContentSize
	if hasSigner {
		first = FirstSparseShareContentSizeWithSigner
	}
	if dataLen <= first {
		return 1
	}
	return 1 + ceilDiv(dataLen-first, ContinuationSparseShareContentSize)
}

// CompactSharesNeeded returns the number of compact shares that hold a
// sequence of seqLen bytes of length-delimited units: 474 bytes fit in the
// first share and 478 in each continuation share. It returns 0 for
// seqLen ≤ 0.
func CompactSharesNeeded(seqLen int) int {
	if seqLen <= 0 {
		return 0
	}
	if seqLen <= FirstCompactShareContentSize {
		return 1
	}
	return 1 + ceilDiv(seqLen-FirstCompactShareContentSize, ContinuationCompactShareContentSize)
}

// RoundUpPowerOfTwo returns the smallest power of two ≥ n; 1 for n ≤ 1.
func RoundUpPowerOfTwo(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// RoundDownPowerOfTwo returns the largest power of two ≤ n; 0 for n ≤ 0.
func RoundDownPowerOfTwo(n int) int {
	if n <= 0 {
		return 0
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

// IsPowerOfTwo reports whether n is a positive power of two.
func IsPowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

// BlobMinSquareSize returns the width of the smallest square that holds
// shareCount shares: the power of two ≥ ceil(sqrt(shareCount)). It is 1 for
// shareCount ≤ 1.
func BlobMinSquareSize(shareCount int) int {
	return RoundUpPowerOfTwo(ceilSqrt(shareCount))
}

// SubTreeWidth returns the number of shares under each full subtree root of
// the commitment of a blob of shareCount shares, with the subtree root
// threshold SubtreeRootThreshold (64):
// min(RoundUpPowerOfTwo(ceil(shareCount/64)), BlobMinSquareSize(shareCount)).
// A blob must start at a multiple of this width.
func SubTreeWidth(shareCount int) int {
	if shareCount <= 0 {
		return 1
	}
	w := RoundUpPowerOfTwo(ceilDiv(shareCount, SubtreeRootThreshold))
	return min(w, BlobMinSquareSize(shareCount))
}

// MerkleMountainRangeSizes splits totalSize leaves into the subtree sizes of
// a blob commitment: as many trees of maxTreeSize as fit, then decreasing
// powers of two for the rest. maxTreeSize must be a power of two (as
// SubTreeWidth returns); a non-positive maxTreeSize or totalSize gives nil.
func MerkleMountainRangeSizes(totalSize, maxTreeSize int) []int {
	if totalSize <= 0 || maxTreeSize <= 0 {
		return nil
	}
	sizes := make([]int, 0, totalSize/maxTreeSize+bits.Len(uint(maxTreeSize)))
	for totalSize > 0 {
		t := maxTreeSize
		if totalSize < maxTreeSize {
			t = RoundDownPowerOfTwo(totalSize)
		}
		sizes = append(sizes, t)
		totalSize -= t
	}
	return sizes
}

// NextShareIndex returns the first index ≥ cursor at which a blob of
// blobShareCount shares may start: cursor rounded up to a multiple of
// SubTreeWidth(blobShareCount). cursor is the index just after the previous
// blob (or after the reserved shares).
func NextShareIndex(cursor, blobShareCount int) int {
	return RoundUpToMultiple(cursor, SubTreeWidth(blobShareCount))
}

// RoundUpToMultiple rounds n up to a multiple of m; n itself for m ≤ 0.
func RoundUpToMultiple(n, m int) int {
	if m <= 0 || n%m == 0 {
		return n
	}
	if n < 0 {
		return n - n%m
	}
	return (n/m + 1) * m
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// ceilSqrt returns the smallest r ≥ 0 with r*r ≥ n.
func ceilSqrt(n int) int {
	if n <= 0 {
		return 0
	}
	// Integer Newton iteration for floor(sqrt(n)), then round up.
	x := n
	y := (x + 1) / 2
	for y < x {
		x = y
		y = (x + n/x) / 2
	}
	if x*x < n {
		x++
	}
	return x
}
