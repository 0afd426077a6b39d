package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/dataset/fetch"
)

// getCacheDirName is the directory of dataset get's part caches in a home.
const getCacheDirName = "dataset-get"

// locate finds the manifest of t's CID (package dataset/fetch): through
// the node's index without --height, else among the blobs at --height,
// and words fetch's errors in the command's flags.
func (t *datasetTarget) locate(ctx context.Context, l locateFlags) (fetch.Located, error) {
	var (
		loc fetch.Located
		err error
	)
	if l.height == 0 {
		loc, err = t.f.Locate(ctx, t.c)
	} else {
		loc, err = t.f.LocateAt(ctx, t.c, l.height, t.ns)
	}
	switch {
	case errors.Is(err, fetch.ErrNoIndex):
		err = fmt.Errorf("%w: pass --height, the manifest_height dataset put printed, to read the manifest from the blobs at that height", err)
	case errors.Is(err, fetch.ErrNeedNamespace):
		err = fmt.Errorf("%w: pass --namespace, or the dataset's root CID", err)
	case errors.Is(err, fetch.ErrNoManifest):
		err = fmt.Errorf("%w (--height is the manifest_height dataset put printed)", err)
	}
	if err != nil {
		return fetch.Located{}, fmt.Errorf("dataset %s: %w", t.cmd, err)
	}
	return loc, nil
}
