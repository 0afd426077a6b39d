package dataset

import (
	"crypto/sha256"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/share"
)

// DefaultNamespace returns the namespace a dataset's parts and manifest are
// posted in unless the publisher chooses one: the version-0 namespace whose
// 10-byte ID is the last 10 bytes of sha256(root.Bytes()), the binary CID.
// Anyone holding the root CID can compute it. It fails only in the
// improbable case (2^-72) that this ID makes a reserved namespace.
func DefaultNamespace(root cid.Cid) (share.Namespace, error) {
	if !root.Defined() {
		return share.Namespace{}, fmt.Errorf("%w: undefined root", ErrUnsupportedCID)
	}
	sum := sha256.Sum256(root.Bytes())
	ns, err := share.NewV0Namespace(sum[len(sum)-share.NamespaceVersionZeroIDSize:])
	if err != nil {
		return share.Namespace{}, fmt.Errorf("%w: %w", ErrInvalidNamespace, err)
	}
	if err := ns.ValidateForBlob(); err != nil {
		return share.Namespace{}, fmt.Errorf("%w: default namespace of %s: %w", ErrInvalidNamespace, root, err)
	}
	return ns, nil
}

// NamespaceFor returns the namespace of the dataset under root: override
// when it is not nil, after checking that blobs may be posted in it, and
// DefaultNamespace(root) otherwise.
func NamespaceFor(root cid.Cid, override *share.Namespace) (share.Namespace, error) {
	if override == nil {
		return DefaultNamespace(root)
	}
	if err := override.ValidateForBlob(); err != nil {
		return share.Namespace{}, fmt.Errorf("%w: %w", ErrInvalidNamespace, err)
	}
	return *override, nil
}
