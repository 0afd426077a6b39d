package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

var (
	// ErrSubmitUnavailable is returned by Submit on a service built without
	// a Submitter (a node that cannot sign transactions).
	ErrSubmitUnavailable = errors.New("blob: this node has no core node to submit to (set core.rpc in config.toml, or --core.rpc)")
	// ErrNoIndex is returned by GetByCommitment on a service built without
	// an Index (light nodes keep none).
	ErrNoIndex = errors.New("blob: this node keeps no commitment index")
	// ErrInvalidProof is wrapped by Included for a proof that is malformed
	// (nil, empty, or with entries no verifier could read), as opposed to
	// a well-formed proof that does not verify, which is (false, nil).
	ErrInvalidProof = errors.New("blob: invalid proof")
	// ErrBlobTooLarge is wrapped by Submit for a blob larger than the
	// chain's max_blob_size, which the Submitter (the state client)
	// refuses before signing; the message gives the size and the limit.
	ErrBlobTooLarge = state.ErrBlobTooLarge
)

// Headers gives the service the headers it reads blobs against. Headers it
// returns are trusted (verified by the node) and not modified by the
// service.
type Headers interface {
	// GetByHeight returns the header at height; it may wait briefly for a
	// height just above the head and errors for one far ahead.
	GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	// WaitForHeight waits until the header at height is held (for
	// Subscribe), or ctx ends.
	WaitForHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	// Head returns the newest header held: Subscribe from height 0 starts
	// above it.
	Head(ctx context.Context) (*header.ExtendedHeader, error)
}

// Getter fetches a square's data for a header. Implementations verify what
// they return against h's DAH (the shrex getter on light nodes, local
// squares on bridge and full nodes); the service relies on that.
type Getter interface {
	// GetNamespaceData returns all the data of ns in h's square, verified
	// (eds.NamespaceData.Verify).
	GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error)
	// GetRow returns row row of h's square, verified against the row's
	// root: all 2k shares (as shrex/getter returns), or the first half (k
	// shares), which the service extends.
	GetRow(ctx context.Context, h *header.ExtendedHeader, row int) ([][]byte, error)
}

// Submitter posts blobs in one PayForBlobs transaction and returns once it
// is included (the state client).
type Submitter interface {
	SubmitPayForBlob(ctx context.Context, blobs []*share.Blob, cfg *state.TxConfig) (*state.TxResponse, error)
}

// Options are the dependencies of a Service.
type Options struct {
	// Headers is required.
	Headers Headers
	// Getter is required.
	Getter Getter
	// Submitter may be nil: Submit is then refused with
	// ErrSubmitUnavailable.
	Submitter Submitter
	// Index may be nil: GetByCommitment is then refused with ErrNoIndex.
	Index *Index
	// Logger defaults to one that discards.
	Logger *slog.Logger
}

// Service is the blob service. Its methods are safe for concurrent use. It
// starts no goroutine but Subscribe's, which ends with the subscriber's
// context.
type Service struct {
	headers   Headers
	getter    Getter
	submitter Submitter
	index     *Index
	log       *slog.Logger
	cells     cellCache // GetKZGCells' computed chunks
}

// NewService returns a service over opts. It does no I/O. It fails if
// Headers or Getter is nil.
func NewService(opts Options) (*Service, error) {
	if opts.Headers == nil || opts.Getter == nil {
		return nil, errors.New("blob: NewService needs Headers and Getter")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{headers: opts.Headers, getter: opts.Getter, submitter: opts.Submitter, index: opts.Index, log: log}, nil
}

// Submit posts blobs in one PayForBlobs transaction through the Submitter
// and returns the height it was included at. Every blob is validated first
// (an error wrapping ErrInvalidBlob names the first bad one, and nothing is
// sent); a blob whose Commitment is set must carry its data's commitment.
// opts may be nil for the Submitter's defaults. A blob over the chain's
// max_blob_size is refused before anything is signed (ErrBlobTooLarge,
// passed on as the Submitter words it: "blob: over size limit: blob I is
// N bytes, the chain's max_blob_size is M"). A failed or rejected
// transaction is an error. opts is passed to the Submitter as it is; with
// opts.KZG the state client signs the blobs' EIP-4844 KZG commitments and
// proofs into the PayForBlobs, or refuses a chain that takes none
// (state.ErrUnsupported) and a transaction they would make too large
// (state.ErrTxTooLarge), before it signs. A blob decoded from JSON and
// not changed since carries its validated form and commitment (see
// Blob.ShareBlob): Submit does not validate or hash it again, and the
// Submitter gets the commitment with it (share.Blob keeps it).
func (s *Service) Submit(ctx context.Context, blobs []*Blob, opts *state.TxConfig) (uint64, error) {
	if s.submitter == nil {
		return 0, ErrSubmitUnavailable
	}
	if len(blobs) == 0 {
		return 0, fmt.Errorf("%w: no blobs to submit", ErrInvalidBlob)
	}
	sbs := make([]*share.Blob, len(blobs))
	for i, b := range blobs {
		if b == nil {
			return 0, fmt.Errorf("%w: blob %d is nil", ErrInvalidBlob, i)
		}
		sb, err := b.ShareBlob()
		if err != nil {
			return 0, fmt.Errorf("blob %d: %w", i, err)
		}
		if len(b.Commitment) > 0 {
			c, err := sb.Commitment()
			if err != nil {
				return 0, fmt.Errorf("%w: blob %d: %w", ErrInvalidBlob, i, err)
			}
			if !bytes.Equal(c, b.Commitment) {
				return 0, fmt.Errorf("%w: blob %d: commitment %X does not match the data's %X", ErrInvalidBlob, i, b.Commitment, c)
			}
		}
		sbs[i] = sb
	}
	resp, err := s.submitter.SubmitPayForBlob(ctx, sbs, opts)
	if errors.Is(err, ErrBlobTooLarge) {
		return 0, err // it names the blob and the limit, in celestia-node's words
	}
	if err != nil {
		return 0, fmt.Errorf("blob: submitting %d blobs: %w", len(blobs), err)
	}
	switch {
	case resp == nil:
		return 0, errors.New("blob: submitter returned no response")
	case resp.Code != 0:
		return 0, fmt.Errorf("blob: transaction %s failed with code %d (%s): %s", resp.TxHash, resp.Code, resp.Codespace, resp.RawLog)
	case resp.Height <= 0:
		return 0, fmt.Errorf("blob: transaction %s included at height %d", resp.TxHash, resp.Height)
	}
	s.log.Debug("blobs submitted", "count", len(blobs), "height", resp.Height, "tx", resp.TxHash)
	return uint64(resp.Height), nil
}

// Get returns the blob of namespace ns with commitment c at height, with
// its Index, or ErrBlobNotFound (unwrapped, so its text is exactly
// celestia-node's). If the namespace holds the same blob twice, the first
// is returned.
func (s *Service) Get(ctx context.Context, height uint64, ns share.Namespace, c Commitment) (*Blob, error) {
	h, err := s.header(ctx, height)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, h, ns, c)
}

func (s *Service) get(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace, c Commitment) (*Blob, error) {
	blobs, err := s.blobsOf(ctx, h, ns)
	if err != nil {
		return nil, err
	}
	for _, b := range blobs {
		if bytes.Equal(b.Commitment, c) {
			return b, nil
		}
	}
	return nil, ErrBlobNotFound
}

// maxParallelNamespaces bounds the namespaces GetAll fetches at once.
const maxParallelNamespaces = 8

// GetAll returns the blobs of the namespaces nss at height, grouped by
// namespace in the order nss names them (celestia-node's order), each
// namespace's blobs in square order (increasing Index), each with its
// Index and Commitment. A namespace
// without blobs contributes none; with none at all the result is an empty,
// non-nil slice. A namespace listed twice counts once. Namespaces are
// fetched in parallel, a few at a time. Any failure (a
// namespace that cannot hold blobs, a fetch that fails) fails the call: no
// partial result is returned.
func (s *Service) GetAll(ctx context.Context, height uint64, nss []share.Namespace) ([]*Blob, error) {
	h, err := s.header(ctx, height)
	if err != nil {
		return nil, err
	}
	return s.getAll(ctx, h, nss)
}

func (s *Service) getAll(ctx context.Context, h *header.ExtendedHeader, nss []share.Namespace) ([]*Blob, error) {
	// The namespaces' blobs come in the order the namespaces are asked
	// for, as celestia-node's; a namespace asked twice counts once.
	seen := make(map[share.Namespace]bool, len(nss))
	var uniq []share.Namespace
	for _, ns := range nss {
		if !seen[ns] {
			seen[ns] = true
			uniq = append(uniq, ns)
		}
	}
	nss = uniq
	for _, ns := range nss {
		if err := checkNamespace(ns); err != nil {
			return nil, err
		}
	}
	results := make([][]*Blob, len(nss))
	errs := make([]error, len(nss))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelNamespaces)
	for i, ns := range nss {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i], errs[i] = s.blobsOf(ctx, h, ns)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := slices.Concat(results...)
	if out == nil {
		out = []*Blob{}
	}
	return out, nil
}

// header returns the header at height, wrapping the Headers error.
func (s *Service) header(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("blob: header at height %d: %w", height, err)
	}
	if h == nil || h.DAH == nil {
		return nil, fmt.Errorf("blob: header at height %d has no DAH", height)
	}
	return h, nil
}

func checkNamespace(ns share.Namespace) error {
	if err := ns.ValidateForBlob(); err != nil {
		return fmt.Errorf("blob: namespace %s: %w", ns, err)
	}
	return nil
}

// blobsOf returns the blobs of ns in h's square in square order, with
// their Index and Commitment.
func (s *Service) blobsOf(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) ([]*Blob, error) {
	if err := checkNamespace(ns); err != nil {
		return nil, err
	}
	nd, err := s.getter.GetNamespaceData(ctx, h, ns)
	if err != nil {
		return nil, fmt.Errorf("blob: namespace %s at height %d: %w", ns, h.Height(), err)
	}
	width := len(h.DAH.RowRoots)
	// positions[i] is the index in the extended square of the i-th share
	// of nd.Flatten().
	var positions []int
	for _, r := range nd {
		n := len(r.Data.Shares)
		if n == 0 {
			continue
		}
		if r.Row < 0 || r.Row >= width/2 || r.Data.Proof.End-r.Data.Proof.Start != n || r.Data.Proof.Start < 0 || r.Data.Proof.End > width/2 {
			return nil, fmt.Errorf("blob: namespace %s at height %d: row %d: %d shares for the proof range [%d, %d) of a square of width %d",
				ns, h.Height(), r.Row, n, r.Data.Proof.Start, r.Data.Proof.End, width)
		}
		for i := range n {
			positions = append(positions, r.Row*width+r.Data.Proof.Start+i)
		}
	}
	placed, err := share.ParseBlobs(nd.Flatten())
	if err != nil {
		return nil, fmt.Errorf("blob: namespace %s at height %d: %w", ns, h.Height(), err)
	}
	out := make([]*Blob, 0, len(placed))
	for _, p := range placed {
		b, err := fromShareBlob(p.Blob, positions[p.Start])
		if err != nil {
			return nil, fmt.Errorf("blob: namespace %s at height %d: %w", ns, h.Height(), err)
		}
		out = append(out, b)
	}
	return out, nil
}

// CommitmentResult is a blob found by its commitment alone and the height
// it was included at.
type CommitmentResult struct {
	Height uint64 `json:"height"`
	Blob   *Blob  `json:"blob"`
}

// GetByCommitment returns the blob with commitment c at the newest height
// the Index holds it at, read back from that height's square. It returns
// ErrNoIndex on a service without an Index and ErrBlobNotFound for a
// commitment the index does not hold (or whose square is gone).
func (s *Service) GetByCommitment(ctx context.Context, c Commitment) (*CommitmentResult, error) {
	if s.index == nil {
		return nil, ErrNoIndex
	}
	height, ns, _, err := s.index.Lookup(ctx, c)
	if err != nil {
		return nil, err
	}
	b, err := s.Get(ctx, height, ns, c)
	if err != nil {
		return nil, err
	}
	return &CommitmentResult{Height: height, Blob: b}, nil
}
