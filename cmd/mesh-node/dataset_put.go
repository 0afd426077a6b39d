package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// putter posts a dataset's parts and manifest through a node's blob.Submit,
// recording each in the journal, and reuses what the journal holds once it
// has read it back from the chain.
type putter struct {
	blobs    client.BlobAPI
	ns       share.Namespace
	cfg      *state.TxConfig
	timeout  time.Duration // of each call to the node
	journal  *putJournal
	parallel int
	maxPart  int
	total    int // parts
	// progress, if not nil, is called after each part (under mu).
	progress func(done, total int)
	// afterRecord, if not nil, is called after a part is recorded in the
	// journal, with its index (tests stop a put there).
	afterRecord func(index int)

	mu     sync.Mutex
	refs   []dataset.PartRef // by part index
	done   int               // parts posted or reused
	posted int               // blobs this run submitted
	reused int               // blobs of the journal found on chain
	shares int               // shares of the dataset's blobs
	bytes  int               // bytes of the dataset's blobs
}

// errStopped stops Pack once a part failed.
var errStopped = errors.New("dataset put: stopped")

// postParts packs the DAG under root from src and posts its parts, up to
// p.parallel at once, in order of their index. It returns the first error;
// parts whose Submit was already in flight then are still recorded when
// it returns. Once it returns nil, p.refs holds every part's reference.
func (p *putter) postParts(ctx context.Context, src dataset.BlockGetter, root cid.Cid) error {
	p.refs = make([]dataset.PartRef, p.total)
	jobs := make(chan dataset.Part)
	stop := make(chan struct{})
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() {
			first = err
			close(stop)
		})
	}
	for range p.parallel {
		wg.Go(func() {
			for part := range jobs {
				select {
				case <-stop:
					continue
				default:
				}
				if err := p.postPart(ctx, part); err != nil {
					fail(err)
				}
			}
		})
	}
	sum, err := dataset.Pack(ctx, src, root, p.maxPart, func(part dataset.Part) error {
		select {
		case jobs <- part:
			return nil
		case <-stop:
			return errStopped
		case <-ctx.Done():
			return fmt.Errorf("dataset put: %w", ctx.Err())
		}
	})
	close(jobs)
	wg.Wait()
	if first != nil {
		return first
	}
	if err != nil {
		return fmt.Errorf("dataset put: %w", err)
	}
	if sum.Parts != p.total {
		return fmt.Errorf("dataset put: packed %d parts, counted %d before", sum.Parts, p.total)
	}
	return nil
}

// postPart posts one part, or reuses the journal's record of it once the
// node finds it on chain.
func (p *putter) postPart(ctx context.Context, part dataset.Part) error {
	b, err := blob.New(p.ns, part.Data)
	if err != nil {
		return fmt.Errorf("dataset put: part %d: %w", part.Index, err)
	}
	ref, reused, err := p.post(ctx, b, fmt.Sprintf("part %d", part.Index), func() (journalRecord, bool) { return p.journal.part(part.Index) },
		journalRecord{Kind: recordPart, Index: part.Index})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.refs[part.Index] = ref
	p.count(b, reused)
	p.done++
	if p.progress != nil {
		p.progress(p.done, p.total)
	}
	p.mu.Unlock()
	if p.afterRecord != nil && !reused {
		p.afterRecord(part.Index)
	}
	return nil
}

// postManifest posts the manifest blob data (or reuses the journal's).
func (p *putter) postManifest(ctx context.Context, data []byte) (dataset.PartRef, error) {
	b, err := blob.New(p.ns, data)
	if err != nil {
		return dataset.PartRef{}, fmt.Errorf("dataset put: manifest: %w", err)
	}
	ref, reused, err := p.post(ctx, b, "the manifest", p.journal.manifestRecord, journalRecord{Kind: recordManifest})
	if err != nil {
		return dataset.PartRef{}, err
	}
	p.mu.Lock()
	p.count(b, reused)
	p.mu.Unlock()
	return ref, nil
}

// count adds b to the totals; p.mu is held.
func (p *putter) count(b *blob.Blob, reused bool) {
	if reused {
		p.reused++
	} else {
		p.posted++
	}
	p.shares += share.SparseSharesNeeded(len(b.Data), false)
	p.bytes += len(b.Data)
}

// post submits b, named what in errors, and records it as rec (with its
// height and commitment), unless recorded() gives a record of the same
// commitment that the node finds at its height: that one is reused.
func (p *putter) post(ctx context.Context, b *blob.Blob, what string, recorded func() (journalRecord, bool), rec journalRecord) (dataset.PartRef, bool, error) {
	if r, ok := recorded(); ok {
		if !bytes.Equal(r.Commitment, b.Commitment) {
			if rec.Kind == recordPart {
				return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s: the journal %s records commitment %x, the part has %x: the journal is not of these bytes (remove it)",
					what, p.journal.path, []byte(r.Commitment), []byte(b.Commitment))
			}
			// A manifest listing other heights: a part was posted again.
		} else {
			found, err := p.onChain(ctx, r.Height, b)
			if err != nil {
				return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s: check the journal's record (height %d) on chain: %w", what, r.Height, err)
			}
			if found {
				return dataset.PartRef{Height: r.Height, Commitment: b.Commitment}, true, nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s: %w", what, err)
	}
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	height, err := p.blobs.Submit(cctx, []*blob.Blob{b}, p.cfg)
	cancel()
	if err != nil {
		if strings.Contains(err.Error(), "over size limit") {
			return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s (%d bytes): %w (pass --max-part-size with the chain's max_blob_size)", what, len(b.Data), err)
		}
		return dataset.PartRef{}, false, fmt.Errorf("dataset put: submit %s: %w", what, err)
	}
	rec.Height, rec.Commitment = height, b.Commitment
	if err := p.journal.record(rec); err != nil {
		return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s posted at height %d, but: %w", what, height, err)
	}
	return dataset.PartRef{Height: height, Commitment: b.Commitment}, false, nil
}

// onChain reports whether the node finds b at height. A blob the node
// does not find there (blob: not found), or a height the node does not
// have (another chain), is false; any other error is returned, so that a
// part is never posted twice because the node could not be asked.
func (p *putter) onChain(ctx context.Context, height uint64, b *blob.Blob) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	got, err := p.blobs.Get(cctx, height, p.ns, b.Commitment)
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, blob.ErrBlobNotFound.Error()) || strings.Contains(msg, "from the future") {
			return false, nil
		}
		return false, err
	}
	if got == nil || !bytes.Equal(got.Commitment, b.Commitment) || !bytes.Equal(got.Data, b.Data) {
		return false, fmt.Errorf("the node answered with another blob")
	}
	return true, nil
}
