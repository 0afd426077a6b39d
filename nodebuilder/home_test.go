package nodebuilder_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header/headertest"
	headerstore "github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/p2p"
)

// anyBootstrap is a bootstrap peer that is never dialled: New does no
// network I/O.
const anyBootstrap = "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"

// snapshot is what a refused start must leave as it was: every file of
// home, by path, mode and content hash, except the empty lock file every
// New creates. With storeByContent, data/ is its Badger store's keys and
// values instead of its files: opening Badger starts a new value log file
// of its own even when nothing is written.
func snapshot(t *testing.T, home string, storeByContent bool) homeSnapshot {
	t.Helper()
	files := map[string]string{}
	dataDir := filepath.Join(home, nodebuilder.DataDir)
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if storeByContent && path == dataDir {
			return fs.SkipDir
		}
		rel, _ := filepath.Rel(home, path)
		if rel == "lock" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			files[rel] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[rel] = fmt.Sprintf("%s %x", info.Mode(), sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if storeByContent {
		db := badgertest.OpenAt(t, dataDir)
		err = db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.DefaultIteratorOptions)
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				files["store key "+string(it.Item().Key())] = fmt.Sprintf("%x", sha256.Sum256(v))
			}
			return nil
		})
		if err := errors.Join(err, db.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return homeSnapshot{files: files, storeByContent: storeByContent}
}

type homeSnapshot struct {
	files          map[string]string
	storeByContent bool
}

// checkUnchanged fails the test if home differs from before (a snapshot
// of the same kind).
func checkUnchanged(t *testing.T, home string, before homeSnapshot) {
	t.Helper()
	after := snapshot(t, home, before.storeByContent).files
	var diff []string
	for p, v := range before.files {
		if w, ok := after[p]; !ok {
			diff = append(diff, "removed "+p)
		} else if w != v {
			diff = append(diff, "changed "+p)
		}
	}
	for p := range after {
		if _, ok := before.files[p]; !ok {
			diff = append(diff, "added "+p)
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Fatalf("the refused start modified the home: %s", strings.Join(diff, ", "))
	}
}

// usedHome is a light node's home after one New and Stop: config.toml,
// keys/p2p-key and a Badger store in data/.
func usedHome(t *testing.T, chainID string) (string, nodebuilder.Config) {
	t.Helper()
	home := t.TempDir()
	conf := nodeConfig(nodebuilder.Light, chainID, anyBootstrap)
	if _, err := nodebuilder.Init(home, conf); err != nil {
		t.Fatal(err)
	}
	newAndStop(t, home, conf, nodebuilder.Options{})
	return home, conf
}

// newAndStop assembles a light node in home and stops it again, returning
// its peer ID.
func newAndStop(t *testing.T, home string, conf nodebuilder.Config, opts nodebuilder.Options) string {
	t.Helper()
	n, err := nodebuilder.New(nodebuilder.Light, home, conf, opts)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := n.Info()
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	return id
}

func checkErr(t *testing.T, err, target error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Fatalf("error %q does not mention %q", err, m)
		}
	}
}

// A negative trusted_height is refused by name, not stored as 2^64 - 5; so
// is the wrapped value if it reaches New some other way.
func TestNegativeTrustedHeightRefused(t *testing.T) {
	home, conf := usedHome(t, "config-test")
	path := filepath.Join(home, nodebuilder.ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte("trusted_height = 0"), []byte("trusted_height = -5"), 1)
	if bytes.Equal(edited, b) {
		t.Fatalf("%s has no trusted_height = 0 line:\n%s", path, b)
	}
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, home, false)
	_, err = nodebuilder.LoadConfig(home, nodebuilder.Light)
	checkErr(t, err, nodebuilder.ErrConfig, path, "header.trusted_height = -5")
	_, err = nodebuilder.ReadConfig(home)
	checkErr(t, err, nodebuilder.ErrConfig, path, "header.trusted_height = -5")

	conf.Header.TrustedHeight = math.MaxUint64 - 4
	_, err = nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
	checkErr(t, err, nodebuilder.ErrConfig, "header.trusted_height 18446744073709551611")
	checkUnchanged(t, home, before)
}

// Every integer key of every mode's config.toml, set to -1, is refused
// with its name.
func TestNegativeIntegerKeysRefused(t *testing.T) {
	for _, mode := range []nodebuilder.Mode{nodebuilder.Bridge, nodebuilder.Full, nodebuilder.Light} {
		home := t.TempDir()
		conf := nodeConfig(mode, "config-test", anyBootstrap)
		if err := nodebuilder.WriteConfig(home, conf); err != nil {
			t.Fatal(err)
		}
		if _, err := nodebuilder.LoadConfig(home, mode); err != nil {
			t.Fatalf("%s: the written config: %v", mode, err)
		}
		path := filepath.Join(home, nodebuilder.ConfigFile)
		var tables map[string]any
		if _, err := toml.DecodeFile(path, &tables); err != nil {
			t.Fatal(err)
		}
		var keys []string
		var walk func(m map[string]any, prefix string)
		walk = func(m map[string]any, prefix string) {
			for k, v := range m {
				switch v := v.(type) {
				case map[string]any:
					walk(v, prefix+k+".")
				case int64:
					keys = append(keys, prefix+k)
					m[k] = int64(-1)
					var buf bytes.Buffer
					if err := toml.NewEncoder(&buf).Encode(tables); err != nil {
						t.Fatal(err)
					}
					m[k] = v
					if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
						t.Fatal(err)
					}
					_, err := nodebuilder.LoadConfig(home, mode)
					checkErr(t, err, nodebuilder.ErrConfig, path, prefix+k+" = -1")
				}
			}
		}
		walk(tables, "")
		sort.Strings(keys)
		for _, want := range []string{"header.trusted_height", "rpc.port", "rpc.max_request_bytes", "p2p.conn_high"} {
			if i := sort.SearchStrings(keys, want); i == len(keys) || keys[i] != want {
				t.Fatalf("%s: integer keys %v, want %s among them", mode, keys, want)
			}
		}
	}
}

// A flipped bit in keys/p2p-key is refused, naming the file, instead of
// starting under another peer ID.
func TestDamagedIdentityRefused(t *testing.T) {
	home, conf := usedHome(t, "identity-test")
	keyPath := filepath.Join(home, nodebuilder.KeyFile)
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 3, 10, 40, len(b) - 1} { // header, seed, public key
		damaged := bytes.Clone(b)
		damaged[i] ^= 0x10
		if err := os.WriteFile(keyPath, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, home, false)
		_, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
		checkErr(t, err, p2p.ErrBadIdentity, keyPath)
		checkUnchanged(t, home, before)
		_, err = nodebuilder.Init(home, conf)
		checkErr(t, err, p2p.ErrBadIdentity, keyPath)
		checkUnchanged(t, home, before)
	}
}

// A missing keys/p2p-key on a home whose store has data is refused; a new
// identity takes Options.NewIdentity or deleting the store.
func TestMissingIdentityWithStoreRefused(t *testing.T) {
	home, conf := usedHome(t, "identity-test")
	keyPath := filepath.Join(home, nodebuilder.KeyFile)
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	k, err := p2p.LoadIdentity(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := peer.IDFromPrivateKey(k)
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, home, false)
	_, err = nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
	checkErr(t, err, nodebuilder.ErrIdentityMissing, keyPath, filepath.Join(home, nodebuilder.DataDir), "--new-identity", "reset-store")
	checkUnchanged(t, home, before)
	_, err = nodebuilder.Init(home, conf) // init does not make one either
	checkErr(t, err, nodebuilder.ErrIdentityMissing, keyPath, "--new-identity")
	checkUnchanged(t, home, before)

	// The key restored, the node starts as before.
	if err := os.WriteFile(keyPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if id := newAndStop(t, home, conf, nodebuilder.Options{}); id != oldID.String() {
		t.Fatalf("restored key: peer ID %s, want %s", id, oldID)
	}

	// Options.NewIdentity: a new peer ID, the store kept.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	newID := newAndStop(t, home, conf, nodebuilder.Options{NewIdentity: true})
	if newID == oldID.String() {
		t.Fatal("NewIdentity kept the old peer ID")
	}
	if id := newAndStop(t, home, conf, nodebuilder.Options{}); id != newID {
		t.Fatalf("after NewIdentity: peer ID %s, want %s", id, newID)
	}

	// Without a store (reset-store), a missing key is simply created.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if _, err := nodebuilder.ResetStore(home); err != nil {
		t.Fatal(err)
	}
	newAndStop(t, home, conf, nodebuilder.Options{})
}

// A store keeps the chain it was first opened for: a home whose chain_id
// changed is refused, naming both chains, whether the store recorded its
// chain or (a store from before the record) only holds its headers.
func TestOtherChainRefused(t *testing.T) {
	t.Run("recorded", func(t *testing.T) {
		home, conf := usedHome(t, "old-chain")
		conf.ChainID = "new-chain"
		before := snapshot(t, home, true)
		_, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
		checkErr(t, err, nodebuilder.ErrChainMismatch, `"new-chain"`, `"old-chain"`, filepath.Join(home, nodebuilder.DataDir), "reset-store")
		checkUnchanged(t, home, before)
		conf.ChainID = "old-chain"
		newAndStop(t, home, conf, nodebuilder.Options{})
	})
	t.Run("headers only", func(t *testing.T) {
		home := t.TempDir()
		conf := nodeConfig(nodebuilder.Light, "new-chain", anyBootstrap)
		if _, err := nodebuilder.Init(home, conf); err != nil {
			t.Fatal(err)
		}
		db := badgertest.OpenAt(t, filepath.Join(home, nodebuilder.DataDir))
		chain := headertest.NewGenerator(headertest.Options{Seed: 1, ChainID: "old-chain"}).Chain(t, 3)
		if err := headerstore.New(db).Append(context.Background(), chain...); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, home, true)
		_, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
		checkErr(t, err, nodebuilder.ErrChainMismatch, `"new-chain"`, `"old-chain"`)
		checkUnchanged(t, home, before)
		// On its own chain it starts and records it; another is still
		// refused.
		conf.ChainID = "old-chain"
		newAndStop(t, home, conf, nodebuilder.Options{})
		conf.ChainID = "new-chain"
		_, err = nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
		checkErr(t, err, nodebuilder.ErrChainMismatch, `"new-chain"`, `"old-chain"`)
	})
}
