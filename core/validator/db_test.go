package validator

import (
	"testing"

	cfg "github.com/cometbft/cometbft/config"
)

// A database closed by the node is not closed again; one left open is
// closed; use after Close reads "not found" and drops writes.
func TestCometDBsCloseEachOnce(t *testing.T) {
	conf := cfg.DefaultConfig().SetRoot(t.TempDir())
	var c cometDBs
	var opened []*guardedDB
	for _, id := range []string{"blockstore", "tx_index"} {
		d, err := c.open(&cfg.DBContext{ID: id, Config: conf})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Set([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		opened = append(opened, d.(*guardedDB))
	}
	if err := opened[0].Close(); err != nil { // as Node.OnStop does
		t.Fatal(err)
	}
	if err := c.closeAll(); err != nil {
		t.Fatalf("closeAll: %v", err)
	}
	for _, d := range opened {
		if !d.closed {
			t.Fatalf("%s left open", d.id)
		}
		// The raw database fails once closed; the guard hides it.
		if _, err := d.DB.Get([]byte("k")); err == nil {
			t.Fatalf("%s: the closed database still reads", d.id)
		}
		if v, err := d.Get([]byte("k")); err != nil || v != nil {
			t.Fatalf("%s: Get after Close = %q, %v", d.id, v, err)
		}
		if ok, err := d.Has([]byte("k")); err != nil || ok {
			t.Fatalf("%s: Has after Close = %v, %v", d.id, ok, err)
		}
		if err := d.Set([]byte("k"), []byte("w")); err != nil {
			t.Fatalf("%s: Set after Close: %v", d.id, err)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("%s: second Close: %v", d.id, err)
		}
	}
	if err := c.closeAll(); err != nil {
		t.Fatalf("second closeAll: %v", err)
	}
}
