package nodebuilder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/header"
	headerstore "github.com/datamesh/mesh-node/header/store"
)

// Errors New returns for a home it refuses to start on; the home is left as
// it was.
var (
	// ErrIdentityMissing is wrapped when keys/p2p-key is missing but the
	// home's data directory holds a store: the key was lost, and a new
	// one would start the node under another peer ID.
	ErrIdentityMissing = errors.New("nodebuilder: p2p identity missing")
	// ErrChainMismatch is wrapped when the configuration's chain_id is not
	// the chain the home's store holds.
	ErrChainMismatch = errors.New("nodebuilder: chain_id does not match the store")
)

// keyChainID is where the store records the chain it belongs to, on the
// first start that opens it.
var keyChainID = []byte("nodebuilder/chain-id")

// checkNoStore returns an ErrIdentityMissing error if the data directory
// of home holds anything: the identity that goes with it was lost. mode
// names the commands in the error; "" names them for every mode.
func checkNoStore(home string, mode Mode) error {
	dir := filepath.Join(home, DataDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nodebuilder: read %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	cmd := "mesh-node " + string(mode)
	if mode == "" {
		cmd = "mesh-node bridge|full|light"
	}
	return fmt.Errorf("%w: %s is missing but %s holds a store: restore the key from a backup to keep the node's peer ID; "+
		"or run %s start --new-identity (nodebuilder.Options.NewIdentity) to create a new key and keep the store, "+
		"then give peers that name the old peer ID the new one; or run %s reset-store --home %s to delete the store",
		ErrIdentityMissing, filepath.Join(home, KeyFile), dir, cmd, cmd, home)
}

// checkChain compares n's chain_id with the chain its store belongs to: the
// one recorded under keyChainID, else (a store from before the record) the
// chain of its head header. It returns an ErrChainMismatch error if they
// differ. Otherwise it returns, when the store has no record yet, the
// function that writes one; checkChain itself writes nothing.
func (n *Node) checkChain() (record func() error, err error) {
	want := n.conf.ChainID
	var stored string
	err = n.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyChainID)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		stored = string(v)
		return err
	})
	source := "records"
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		head, err := headerstore.New(n.db).Head(context.Background())
		switch {
		case errors.Is(err, header.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("nodebuilder: read the stored head to check its chain: %w", err)
		default:
			stored, source = head.ChainID(), "has headers of"
		}
	case err != nil:
		return nil, fmt.Errorf("nodebuilder: read the store's chain ID: %w", err)
	}
	if stored != "" && stored != want {
		dir := filepath.Join(n.home, DataDir)
		return nil, fmt.Errorf("%w: chain_id is %q but the store in %s %s chain %q: set chain_id in %s back to %q, "+
			"or, to follow %q, run mesh-node %s reset-store --home %s (it deletes the store) or use another home",
			ErrChainMismatch, want, dir, source, stored, filepath.Join(n.home, ConfigFile), stored, want, n.mode, n.home)
	}
	if source == "records" && stored == want {
		return nil, nil
	}
	return func() error {
		if err := n.db.Update(func(txn *badger.Txn) error { return txn.Set(keyChainID, []byte(want)) }); err != nil {
			return fmt.Errorf("nodebuilder: record the store's chain ID: %w", err)
		}
		return nil
	}, nil
}
