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

	"github.com/datamesh/mesh-node/api"
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
	headers  client.HeaderAPI
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
	// beforeSubmit and afterSubmit, if not nil, are called with a part's
	// index around its Submit (see cli.beforePartSubmit): an error stops
	// the part there, unrecorded.
	beforeSubmit, afterSubmit func(index int) error

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

// settleBlocks is how many blocks past the network's head seen at resume
// a pending blob not found on chain is waited for before it is posted
// again: a transaction still in a mempool when its put was killed is
// included by then, or never (the node's Submit gives up on it). The
// network's head, not the node's: a light node's store lags the chain by
// a block or so, and a mempool holding up to --parallel parts of up to
// a block's size each drains over a few blocks.
const settleBlocks = 4

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
// commitment that the node finds at its height: that one is reused. Before
// the Submit it records b pending, with the node's head height, synced.
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
	// Pending first: a put killed during the Submit finds the blob on
	// chain above this head when it resumes, instead of posting it again.
	head, err := p.head(ctx)
	if err != nil {
		return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s: %w", what, err)
	}
	pending := journalRecord{Kind: recordPending, Of: rec.Kind, Index: rec.Index, Height: head, Commitment: b.Commitment}
	if err := p.journal.record(pending); err != nil {
		return dataset.PartRef{}, false, fmt.Errorf("dataset put: %s: %w", what, err)
	}
	if err := p.hook(p.beforeSubmit, rec); err != nil {
		return dataset.PartRef{}, false, err
	}
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	height, err := retryBusy(cctx, func(ctx context.Context) (uint64, error) { return p.blobs.Submit(ctx, []*blob.Blob{b}, p.cfg) })
	cancel()
	if err == nil {
		err = p.hook(p.afterSubmit, rec)
	}
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

// hook calls h, if set, for a part record.
func (p *putter) hook(h func(int) error, rec journalRecord) error {
	if h == nil || rec.Kind != recordPart {
		return nil
	}
	return h(rec.Index)
}

// head returns the node's local head height.
func (p *putter) head(ctx context.Context) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	h, err := p.headers.LocalHead(cctx)
	if err != nil {
		return 0, fmt.Errorf("the node's head: %w", err)
	}
	return h.Height(), nil
}

// catchUp waits, up to the put's timeout, for the node's header store to
// reach the highest height the journal records a blob at. A node that
// lags the chain (its headers behind the height its own Submit returned)
// would otherwise answer "from the future" for a recorded blob, and the
// put would post it again. A journal of another chain (a devnet started
// afresh) records heights the chain may never reach: after the wait its
// records are checked as they are, and those not found are posted again.
func (p *putter) catchUp(ctx context.Context) error {
	want := p.journal.highestRecord()
	if want == 0 {
		return nil
	}
	head, err := p.head(ctx)
	if err != nil {
		return fmt.Errorf("dataset put: %w", err)
	}
	if head >= want {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if _, err := p.headers.WaitForHeight(wctx, want); err != nil && ctx.Err() != nil {
		return fmt.Errorf("dataset put: wait for the node to reach height %d, the journal's highest: %w", want, ctx.Err())
	}
	return nil
}

// resolvePending looks on chain for the blobs the journal holds pending
// without a completed record (their put stopped during their Submit), in
// the put's namespace at every height from the pending record's to the
// node's head. A blob not found is looked for again once the node's head
// is settleBlocks past the network's head, over the new heights. Each blob found
// is recorded done at the lowest height it was found at, so the put
// reuses it; the others are left pending, and posted by the put. It
// returns an error, and posts nothing, when the node cannot be asked.
func (p *putter) resolvePending(ctx context.Context) error {
	left := p.journal.pendingRecords()
	if len(left) == 0 {
		return nil
	}
	from := left[0].Height
	for _, r := range left[1:] {
		from = min(from, r.Height)
	}
	head, err := p.head(ctx)
	if err != nil {
		return fmt.Errorf("dataset put: pending blobs: %w", err)
	}
	if left, err = p.scanPending(ctx, left, from, head); err != nil || len(left) == 0 {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	network, err := p.headers.NetworkHead(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("dataset put: pending blobs: the network's head: %w", err)
	}
	until := max(head, network.Height()) + settleBlocks
	wctx, cancel := context.WithTimeout(ctx, p.timeout)
	_, err = p.headers.WaitForHeight(wctx, until)
	cancel()
	if err != nil {
		return fmt.Errorf("dataset put: pending blobs: wait for height %d: %w", until, err)
	}
	now, err := p.head(ctx)
	if err != nil {
		return fmt.Errorf("dataset put: pending blobs: %w", err)
	}
	_, err = p.scanPending(ctx, left, head+1, now)
	return err
}

// scanPending looks for the pending blobs left in the namespace at
// heights from..to (one blob.GetAll a height), records those found and
// returns the others.
func (p *putter) scanPending(ctx context.Context, left []journalRecord, from, to uint64) ([]journalRecord, error) {
	for h := max(from, 1); h <= to && len(left) > 0; h++ {
		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		bs, err := retryBusy(cctx, func(ctx context.Context) ([]*blob.Blob, error) {
			return p.blobs.GetAll(ctx, h, []share.Namespace{p.ns})
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("dataset put: pending blobs: blobs at height %d: %w", h, err)
		}
		kept := left[:0]
		for _, r := range left {
			if !holds(bs, r.Commitment) {
				kept = append(kept, r)
				continue
			}
			done := journalRecord{Kind: r.Of, Index: r.Index, Height: h, Commitment: r.Commitment}
			if err := p.journal.record(done); err != nil {
				return nil, fmt.Errorf("dataset put: pending blobs: %w", err)
			}
		}
		left = kept
	}
	return left, nil
}

// holds reports whether bs has a blob of commitment c.
func holds(bs []*blob.Blob, c blob.Commitment) bool {
	for _, b := range bs {
		if b != nil && bytes.Equal(b.Commitment, c) {
			return true
		}
	}
	return false
}

// onChain reports whether the node finds b at height. A blob the node
// does not find there (blob: not found), or a height the node does not
// have (another chain), is false; any other error is returned, so that a
// part is never posted twice because the node could not be asked.
func (p *putter) onChain(ctx context.Context, height uint64, b *blob.Blob) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	got, err := retryBusy(cctx, func(ctx context.Context) (*blob.Blob, error) { return p.blobs.Get(ctx, height, p.ns, b.Commitment) })
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

// busyRetry is how long a put waits before calling again a node that
// refused a call as busy (api.ErrBusy: its per-token or global limit of
// heavy calls in flight, which up to --parallel parts can reach at once).
const busyRetry = time.Second

// retryBusy calls call until the node does not answer busy, waiting
// busyRetry between tries, or until ctx ends. A busy refusal did nothing
// on the node, so calling again is safe even for a Submit.
func retryBusy[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	for {
		v, err := call(ctx)
		if err == nil || !strings.Contains(err.Error(), api.ErrBusy.Error()) {
			return v, err
		}
		t := time.NewTimer(busyRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("%w (the node stayed busy)", err)
		case <-t.C:
		}
	}
}
