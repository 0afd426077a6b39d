package blob

import "testing"

// The cell cache keeps the CellCacheChunks chunks used last.
func TestCellCacheBound(t *testing.T) {
	var c cellCache
	key := func(i int) cellKey { return cellKey{height: uint64(i), chunk: i} }
	entries := make([]*cellEntry, CellCacheChunks+2)
	for i := range entries {
		entries[i] = &cellEntry{}
	}
	for i := range CellCacheChunks {
		c.add(key(i), entries[i])
	}
	if c.len() != CellCacheChunks {
		t.Fatalf("%d chunks held, want %d", c.len(), CellCacheChunks)
	}
	// Using chunk 0 makes chunk 1 the least recently used: the next add
	// drops it.
	if c.get(key(0)) != entries[0] {
		t.Fatal("chunk 0 not held")
	}
	c.add(key(CellCacheChunks), entries[CellCacheChunks])
	if c.len() != CellCacheChunks || c.get(key(1)) != nil || c.get(key(0)) != entries[0] || c.get(key(CellCacheChunks)) != entries[CellCacheChunks] {
		t.Fatalf("after one add past the bound: %d held, chunk 1 %v, chunk 0 %v", c.len(), c.get(key(1)), c.get(key(0)))
	}
	// Adding a held key replaces its entry without growing.
	c.add(key(0), entries[CellCacheChunks+1])
	if c.len() != CellCacheChunks || c.get(key(0)) != entries[CellCacheChunks+1] {
		t.Fatal("re-adding a chunk grew the cache or kept the old entry")
	}
	if c.get(cellKey{height: 99}) != nil {
		t.Fatal("a chunk never added is held")
	}
}
