package nodebuilder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds/edstest"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// localParts reads, from the original square in a real square store, the
// blobs the square holds in a namespace, in order, and nothing of the
// namespaces around it; a square the store lacks is blob.ErrBlobNotFound.
func TestLocalPartsReadsANamespaceFromTheStoredSquare(t *testing.T) {
	ctx := context.Background()
	nsOf := func(b byte) share.Namespace {
		ns, err := share.NewV0Namespace(bytes.Repeat([]byte{b}, 10))
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	before, target, after := nsOf(1), nsOf(2), nsOf(3)
	var txs [][]byte
	var want [][]byte // target's blobs' data, in square order
	for i, spec := range []struct {
		ns   share.Namespace
		size int
	}{{before, 3000}, {target, 70_000}, {target, 1}, {after, 600}, {target, 5000}} {
		data := bytes.Repeat([]byte{byte(i + 1)}, spec.size)
		b, err := share.NewBlob(spec.ns, data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		if spec.ns == target {
			want = append(want, data)
		}
		tx, err := share.MarshalBlobTx(fmt.Appendf(nil, "pfb %d", i), b)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	e := edstest.BuildEDS(t, txs, share.SquareSizeUpperBound)
	db := badgertest.Open(t)
	squares := edsstore.New(db, edsstore.Options{})
	if err := db.Update(func(txn *badger.Txn) error { return squares.Put(txn, 7, e) }); err != nil {
		t.Fatal(err)
	}
	squares.Forget(7) // read back from Badger, not the cache
	l := localParts{squares: squares}

	got, err := l.NamespaceBlobs(ctx, 7, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d blobs in the namespace, want %d", len(got), len(want))
	}
	for i, data := range got {
		if !bytes.Equal(data, want[i]) {
			t.Fatalf("blob %d: %d bytes, want the namespace's blob %d (%d bytes)", i, len(data), i, len(want[i]))
		}
	}
	if none, err := l.NamespaceBlobs(ctx, 7, nsOf(9)); err != nil || len(none) != 0 {
		t.Fatalf("a namespace with no blobs: %d blobs, %v", len(none), err)
	}
	if _, err := l.NamespaceBlobs(ctx, 8, target); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Fatalf("a height without a square: %v", err)
	}
}
