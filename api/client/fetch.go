package client

import (
	"context"
	"errors"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/share"
)

// GetBlob, GetBlobs and ManifestBlob are the node reads of package
// dataset/fetch (its Node interface): a Client is a fetch.Node.

// GetBlob is Blob.Get's data: the blob of ns with commitment com at
// height.
func (c *Client) GetBlob(ctx context.Context, height uint64, ns share.Namespace, com []byte) ([]byte, error) {
	b, err := c.Blob.Get(ctx, height, ns, com)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("client: blob.Get: no blob")
	}
	return b.Data, nil
}

// GetBlobs is Blob.GetAll's data for one namespace, in the node's order.
func (c *Client) GetBlobs(ctx context.Context, height uint64, ns share.Namespace) ([][]byte, error) {
	bs, err := c.Blob.GetAll(ctx, height, []share.Namespace{ns})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(bs))
	for _, b := range bs {
		if b != nil {
			out = append(out, b.Data)
		}
	}
	return out, nil
}

// ManifestBlob is where Dataset.GetManifest says the manifest of id (a
// dataset root or a manifest CID) is: its blob's height, namespace and
// commitment.
func (c *Client) ManifestBlob(ctx context.Context, id cid.Cid) (height uint64, ns share.Namespace, com []byte, err error) {
	m, err := c.Dataset.GetManifest(ctx, id.String())
	if err != nil {
		return 0, share.Namespace{}, nil, err
	}
	if m == nil {
		return 0, share.Namespace{}, nil, errors.New("client: dataset.GetManifest: no manifest")
	}
	return m.Location.Height, m.Location.Namespace, m.Location.Commitment, nil
}
