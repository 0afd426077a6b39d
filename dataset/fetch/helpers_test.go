package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/fetch"
	"github.com/datamesh/mesh-node/share"
)

// The API client is a Node.
var _ fetch.Node = (*client.Client)(nil)

// memNode is an in-memory chain of blobs: a fetch.Node with an optional
// dataset index (manifests by root and manifest CID). tamper, if not nil,
// may change the data GetBlob returns or fail it (the faults of a node
// that lies or loses a blob).
type memNode struct {
	mu        sync.Mutex
	blobs     map[uint64][]memBlob
	manifests map[cid.Cid]memBlob // nil: no index
	tamper    func(height uint64, data []byte) ([]byte, error)
}

type memBlob struct {
	height uint64
	ns     share.Namespace
	data   []byte
	com    []byte
}

func newMemNode(indexed bool) *memNode {
	n := &memNode{blobs: map[uint64][]memBlob{}}
	if indexed {
		n.manifests = map[cid.Cid]memBlob{}
	}
	return n
}

// post adds data as a blob of ns at height and returns its commitment.
func (n *memNode) post(t testing.TB, height uint64, ns share.Namespace, data []byte) []byte {
	t.Helper()
	com, err := n.tryPost(height, ns, data)
	if err != nil {
		t.Fatal(err)
	}
	return com
}

func (n *memNode) tryPost(height uint64, ns share.Namespace, data []byte) ([]byte, error) {
	b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		return nil, err
	}
	com, err := b.Commitment()
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blobs[height] = append(n.blobs[height], memBlob{height, ns, bytes.Clone(data), com})
	return com, nil
}

func (n *memNode) GetBlob(_ context.Context, height uint64, ns share.Namespace, com []byte) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, b := range n.blobs[height] {
		if b.ns == ns && bytes.Equal(b.com, com) {
			if n.tamper != nil {
				return n.tamper(height, bytes.Clone(b.data))
			}
			return bytes.Clone(b.data), nil
		}
	}
	return nil, errors.New("blob: not found")
}

func (n *memNode) GetBlobs(_ context.Context, height uint64, ns share.Namespace) ([][]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out [][]byte
	for _, b := range n.blobs[height] {
		if b.ns == ns {
			out = append(out, bytes.Clone(b.data))
		}
	}
	return out, nil
}

func (n *memNode) ManifestBlob(_ context.Context, c cid.Cid) (uint64, share.Namespace, []byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.manifests == nil {
		return 0, share.Namespace{}, nil, errors.New("dataset: the node keeps no dataset index")
	}
	b, ok := n.manifests[c]
	if !ok {
		return 0, share.Namespace{}, nil, fmt.Errorf("dataset: %s: not found", c)
	}
	return b.height, b.ns, b.com, nil
}

// published is a dataset posted to a memNode.
type published struct {
	root, manifest cid.Cid
	ns             share.Namespace
	parts          [][]byte
	refs           []dataset.PartRef
	height         uint64 // the manifest's
}

// publish imports files small files of seeded bytes as a directory,
// packs them into parts of at most maxPart bytes, posts each part at its
// own height from 10 on and the manifest after them, and indexes the
// manifest if n keeps an index.
func publish(t testing.TB, n *memNode, seed byte, files, maxPart int) published {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for i := range files {
		data := make([]byte, 300+200*i)
		for j := range data {
			data[j] = seed ^ byte(j*7+i)
		}
		writeFile(t, dir, fmt.Sprintf("f%02d", i), data)
	}
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := dataset.Import(ctx, bs, dir)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	p := published{root: root, ns: ns}
	height := uint64(10)
	sum, err := dataset.Pack(ctx, bs, root, maxPart, func(part dataset.Part) error {
		p.parts = append(p.parts, part.Data)
		p.refs = append(p.refs, dataset.PartRef{Height: height, Commitment: n.post(t, height, ns, part.Data)})
		height++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m, mc, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, p.refs)
	if err != nil {
		t.Fatal(err)
	}
	p.manifest, p.height = mc, height
	com := n.post(t, height, ns, m)
	if n.manifests != nil {
		n.mu.Lock()
		n.manifests[root] = memBlob{height, ns, m, com}
		n.manifests[mc] = n.manifests[root]
		n.mu.Unlock()
	}
	return p
}

// publishFile imports a file of size bytes, packs it into parts of at
// most maxPart bytes, posts part i at height from+i and the manifest
// after the last, and returns the dataset's root.
func (n *memNode) publishFile(size, maxPart int, from uint64) (cid.Cid, error) {
	ctx := context.Background()
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	file := make([]byte, size)
	for i := range file {
		file[i] = byte(i % 253)
	}
	root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(file))
	if err != nil {
		return cid.Undef, err
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		return cid.Undef, err
	}
	var refs []dataset.PartRef
	sum, err := dataset.Pack(ctx, bs, root, maxPart, func(p dataset.Part) error {
		h := from + uint64(p.Index)
		com, err := n.tryPost(h, ns, p.Data)
		refs = append(refs, dataset.PartRef{Height: h, Commitment: com})
		return err
	})
	if err != nil {
		return cid.Undef, err
	}
	manifest, _, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		return cid.Undef, err
	}
	_, err = n.tryPost(from+uint64(len(refs)), ns, manifest)
	return root, err
}
