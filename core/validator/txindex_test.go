package validator

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/state/txindex"
	"github.com/cometbft/cometbft/state/txindex/kv"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"google.golang.org/protobuf/encoding/protowire"
)

// txResult is what CometBFT's kv indexer stores for tx at height 7,
// index 3, and tx's hash.
func txResult(t testing.TB, tx []byte) (key, value []byte, r *abci.TxResult) {
	t.Helper()
	r = &abci.TxResult{Height: 7, Index: 3, Tx: tx,
		Result: abci.ExecTxResult{Code: 5, Log: "log", GasUsed: 65000, Events: []abci.Event{{Type: "e", Attributes: []abci.EventAttribute{{Key: "k", Value: "v", Index: true}}}}}}
	v, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(tx)
	return h[:], v, r
}

// The transaction is cut out of a TxResult under its hash and nothing
// else changes; every other value is returned as it is.
func TestSlimTxResult(t *testing.T) {
	tx := bytes.Repeat([]byte("blob"), 1000)
	key, v, r := txResult(t, tx)
	slim := slimTxResult(key, v)
	var got abci.TxResult
	if err := got.Unmarshal(slim); err != nil {
		t.Fatal(err)
	}
	if len(got.Tx) != 0 || got.Height != r.Height || got.Index != r.Index || got.Result.Code != r.Result.Code ||
		got.Result.Log != r.Result.Log || got.Result.GasUsed != r.Result.GasUsed || len(got.Result.Events) != 1 {
		t.Fatalf("slim TxResult %+v, from %+v", got, r)
	}
	if len(slim) >= len(v)-len(tx) {
		t.Fatalf("slim value of %d bytes from %d with a transaction of %d", len(slim), len(v), len(tx))
	}

	// Unknown fields of any wire type are kept, in place.
	unknown := protowire.AppendTag(nil, 9, protowire.BytesType)
	unknown = protowire.AppendBytes(unknown, []byte("kept"))
	unknown = protowire.AppendTag(unknown, 10, protowire.Fixed32Type)
	unknown = protowire.AppendFixed32(unknown, 0xdeadbeef)
	unknown = protowire.AppendTag(unknown, 11, protowire.StartGroupType)
	unknown = protowire.AppendTag(unknown, 1, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 1)
	unknown = protowire.AppendTag(unknown, 11, protowire.EndGroupType)
	withUnknown := append(append([]byte(nil), unknown...), v...)
	if got, want := slimTxResult(key, withUnknown), append(append([]byte(nil), unknown...), slim...); !bytes.Equal(got, want) {
		t.Fatalf("with unknown fields: %x, want %x", got, want)
	}

	noTx := withField(t, nil, 1, 7)
	noTx = protowire.AppendTag(noTx, 4, protowire.BytesType)
	noTx = protowire.AppendBytes(noTx, nil)
	twice := append(append([]byte(nil), v...), protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), tx)...)
	heightAsBytes := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{1})
	// A height key of 32 bytes maps to a hash, which can be ground to
	// parse as a TxResult.
	heightKey := []byte("tx.height/1234567/1234567/0$es$0")
	groundHash := append([]byte{0x1a, 30}, bytes.Repeat([]byte{0xab}, 30)...)
	for name, c := range map[string]struct{ key, v []byte }{
		"short key":                  {key[:31], v},
		"long key":                   {append(append([]byte(nil), key...), 0), v},
		"key not the tx's hash":      {bytes.Repeat([]byte{1}, 32), v},
		"32-byte height key":         {heightKey, groundHash},
		"empty value":                {key, nil},
		"no field 3":                 {key, noTx},
		"field 3 twice":              {key, twice},
		"height of the wrong type":   {key, append(heightAsBytes, v...)},
		"tx of the wrong type":       {key, append(withField(t, nil, 3, 1), v...)},
		"trailing garbage":           {key, append(append([]byte(nil), v...), 0x80)},
		"truncated in the tx":        {key, v[:len(v)-len(tx)/2]},
		"truncated in a tag":         {key, append(append([]byte(nil), v...), 0x82)},
		"end group at the top level": {key, append(append([]byte(nil), v...), protowire.AppendTag(nil, 5, protowire.EndGroupType)...)},
		"field number 0":             {key, append([]byte{0x02, 0x00}, v...)},
	} {
		if got := slimTxResult(c.key, c.v); !bytes.Equal(got, c.v) {
			t.Errorf("%s: changed to %x", name, got)
		}
	}
	// Every prefix of the value that ends inside the transaction field is
	// not a TxResult and is kept; none makes it panic.
	txEnd := bytes.Index(v, tx) + len(tx)
	for i := range v {
		got := slimTxResult(key, v[:i])
		if i < txEnd && !bytes.Equal(got, v[:i]) {
			t.Fatalf("prefix of %d bytes changed", i)
		}
	}
}

// withField appends a varint field num = x to b.
func withField(t testing.TB, b []byte, num protowire.Number, x uint64) []byte {
	t.Helper()
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), x)
}

// CometBFT's kv indexer, over the transaction index as the node opens it,
// returns the height, index and result of an indexed transaction, without
// the transaction, whether it indexed it alone or in a batch, and finds it
// by height; Set and SetSync of a TxResult drop the transaction too, and
// another database keeps it.
func TestSlimTxIndex(t *testing.T) {
	conf := cfg.DefaultConfig().SetRoot(t.TempDir())
	var c cometDBs
	defer func() {
		if err := c.closeAll(); err != nil {
			t.Error(err)
		}
	}()
	open := func(id string) *guardedDB {
		d, err := c.open(&cfg.DBContext{ID: id, Config: conf})
		if err != nil {
			t.Fatal(err)
		}
		return d.(*guardedDB)
	}
	db := open("tx_index")
	idx := kv.NewTxIndex(db)
	_, _, alone := txResult(t, []byte("indexed alone"))
	if err := idx.Index(alone); err != nil {
		t.Fatal(err)
	}
	batch := txindex.NewBatch(2)
	for i, tx := range []string{"first of a batch", "second of a batch"} {
		_, _, r := txResult(t, []byte(tx))
		r.Height, r.Index = 8, uint32(i)
		if err := batch.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.AddBatch(batch); err != nil {
		t.Fatal(err)
	}
	for _, r := range append([]*abci.TxResult{alone}, batch.Ops...) {
		h := sha256.Sum256(r.Tx)
		got, err := idx.Get(h[:])
		if err != nil || got == nil {
			t.Fatalf("Get %q: %v, %v", r.Tx, got, err)
		}
		if len(got.Tx) != 0 || got.Height != r.Height || got.Index != r.Index || got.Result.Code != r.Result.Code || got.Result.Log != r.Result.Log {
			t.Fatalf("indexed %q: %+v", r.Tx, got)
		}
	}

	blockstore := open("blockstore")
	for name, set := range map[string]func(d *guardedDB, k, v []byte) error{
		"Set":     (*guardedDB).Set,
		"SetSync": (*guardedDB).SetSync,
	} {
		for id, d := range map[string]*guardedDB{"tx_index": db, "blockstore": blockstore} {
			key, v, _ := txResult(t, []byte(name+" of "+id))
			if err := set(d, key, v); err != nil {
				t.Fatal(err)
			}
			got, err := d.Get(key)
			if err != nil {
				t.Fatal(err)
			}
			if want := v; id == "tx_index" {
				want = slimTxResult(key, v)
				if bytes.Equal(want, v) {
					t.Fatal("no transaction to drop")
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s in %s stored %x, want %x", name, id, got, want)
				}
			} else if !bytes.Equal(got, want) {
				t.Fatalf("%s in %s stored %x, want %x", name, id, got, want)
			}
		}
	}
}

// FuzzSlimTxResult: slimTxResult never panics, and a value it changes is
// a complete message with one field 3, a transaction whose SHA-256 is the
// key, and the result is that value with the field cut out.
func FuzzSlimTxResult(f *testing.F) {
	key, v, _ := txResult(f, []byte("a transaction"))
	f.Add(key, v)
	f.Fuzz(func(t *testing.T, key, v []byte) {
		out := slimTxResult(key, v)
		if bytes.Equal(out, v) {
			return
		}
		for off := 0; off < len(out); {
			num, typ, n := protowire.ConsumeTag(out[off:])
			if n < 0 || num == 3 {
				t.Fatalf("result %x: field 3 or no tag at %d", out, off)
			}
			m := protowire.ConsumeFieldValue(num, typ, out[off+n:])
			if m < 0 {
				t.Fatalf("result %x: bad field %d at %d", out, num, off)
			}
			off += n + m
		}
		removed := len(v) - len(out)
		found := false
		for off := 0; off < len(v); {
			num, typ, n := protowire.ConsumeTag(v[off:])
			if n < 0 {
				t.Fatalf("%x changed, but it has no tag at %d", v, off)
			}
			m := protowire.ConsumeFieldValue(num, typ, v[off+n:])
			if m < 0 {
				t.Fatalf("%x changed, but its field %d at %d is bad", v, num, off)
			}
			if num == 3 {
				tx, _ := protowire.ConsumeBytes(v[off+n:])
				h := sha256.Sum256(tx)
				if found || n+m != removed || !bytes.Equal(h[:], key) ||
					!bytes.Equal(append(append([]byte(nil), v[:off]...), v[off+n+m:]...), out) {
					t.Fatalf("field 3 of %x at %d is not what was cut", v, off)
				}
				found = true
			}
			off += n + m
		}
		if !found {
			t.Fatalf("%x changed without a field 3", v)
		}
	})
}

// BenchmarkTxIndex indexes blocks of four 2 MB transactions through
// CometBFT's kv indexer, each op one block, into a transaction index
// opened as before (the transactions kept, a 32 MiB write buffer) and as
// the node opens it now, and reports the index's size on disk once closed
// (B/block) and the time a block's indexing takes.
func BenchmarkTxIndex(b *testing.B) {
	const txsPerBlock, txSize = 4, 2 << 20
	data := make([]byte, txSize)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, slim := range []bool{false, true} {
		name := map[bool]string{false: "whole", true: "slim"}[slim]
		b.Run(name, func(b *testing.B) {
			conf := cfg.DefaultConfig().SetRoot(b.TempDir())
			var db dbm.DB
			var err error
			var c cometDBs
			if slim {
				db, err = c.open(&cfg.DBContext{ID: "tx_index", Config: conf})
			} else {
				db, err = dbm.NewGoLevelDBWithOpts("tx_index", conf.DBDir(),
					&opt.Options{Filter: filter.NewBloomFilter(10), WriteBuffer: 32 << 20})
			}
			if err != nil {
				b.Fatal(err)
			}
			idx := kv.NewTxIndex(db)
			b.ReportAllocs()
			b.SetBytes(txsPerBlock * txSize)
			height := int64(0)
			for b.Loop() {
				height++
				batch := txindex.NewBatch(txsPerBlock)
				for i := range txsPerBlock {
					tx := bytes.Clone(data)
					binary.BigEndian.PutUint64(tx, uint64(height))
					tx[8] = byte(i)
					batch.Ops[i] = &abci.TxResult{Height: height, Index: uint32(i), Tx: tx, Result: abci.ExecTxResult{GasUsed: 65000,
						Events: []abci.Event{{Type: "message", Attributes: []abci.EventAttribute{{Key: "action", Value: "pay_for_blobs", Index: true}}}}}}
				}
				if err := idx.AddBatch(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			size := dirSize(b, filepath.Join(conf.DBDir(), "tx_index.db"))
			b.ReportMetric(float64(size)/float64(height), "B/block")
			b.Logf("%s: %d blocks of %d MB, index %d bytes on disk", name, height, txsPerBlock*txSize>>20, size)
		})
	}
}

// dirSize is the size of the files in dir; a file removed while it
// walks counts as gone.
func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	var size int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile (goleveldb's background removals)
		}
		if err != nil {
			return err
		}
		size += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// A /tx_search result whose block is not in the block store (pruned)
// keeps no hash when the index left its transaction out, and the hash
// TxSearch gave it when the index has the transaction (an entry written
// before); /tx's result keeps its hash, without the transaction.
func TestFillTxWithoutBlock(t *testing.T) {
	bs := store.NewBlockStore(dbm.NewMemDB())
	old := types.Tx("indexed whole")
	rs := []*ctypes.ResultTx{
		{Hash: types.Tx(nil).Hash(), Height: 4, Index: 0},
		{Hash: old.Hash(), Height: 4, Index: 1, Tx: old},
	}
	fillTxs(rs, bs, true)
	if rs[0].Hash != nil || len(rs[0].Tx) != 0 || !bytes.Equal(rs[1].Hash, old.Hash()) || !bytes.Equal(rs[1].Tx, old) {
		t.Fatalf("results %+v %+v", rs[0], rs[1])
	}
	h := sha256.Sum256([]byte("pruned"))
	r := &ctypes.ResultTx{Hash: h[:], Height: 4}
	if fillTx(r, &blockCache{store: bs}, false) || !bytes.Equal(r.Hash, h[:]) || len(r.Tx) != 0 {
		t.Fatalf("result %+v", r)
	}
}
