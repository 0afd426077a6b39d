package shrex

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/streamclient"
	"github.com/datamesh/mesh-node/share"
)

// Errors. Those a Client returns name the peer and the request.
var (
	// ErrNotFound is wrapped when the peer answered NOT_FOUND: it does not
	// hold the square. A Store wraps it for a height it does not hold.
	ErrNotFound = errors.New("shrex: not found")
	// ErrRateLimited is wrapped when the peer answered RATE_LIMITED.
	ErrRateLimited = errors.New("shrex: rate limited")
	// ErrInternal is wrapped when the peer answered INTERNAL: it failed to
	// read or encode what it holds. It is not counted as a fault.
	ErrInternal = errors.New("shrex: peer failed internally")
	// ErrInvalidResponse is wrapped when the peer's answer is provably
	// wrong: malformed, truncated, oversized, BAD_REQUEST to a valid
	// request, or data that does not verify against the header. The
	// caller should block the peer (p2p.Node.BlockPeer).
	ErrInvalidResponse = errors.New("shrex: invalid response")
)

// DataRootMismatchError is returned by GetEDS when the square a peer sent
// extends to a header other than the one asked for: the evidence is both
// data roots and the header the square really has. It wraps
// ErrInvalidResponse.
type DataRootMismatchError struct {
	Height uint64
	// Want is the data root of the client's header, Got that of the
	// square received, whose header is DAH.
	Want, Got []byte
	DAH       *eds.DataAvailabilityHeader
}

func (e *DataRootMismatchError) Error() string {
	return fmt.Sprintf("%v: square at height %d has data root %X, want %X", ErrInvalidResponse, e.Height, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrInvalidResponse) true.
func (e *DataRootMismatchError) Unwrap() error { return ErrInvalidResponse }

// Client defaults.
const (
	// DefaultRequestTimeout is the base time limit of one request, from
	// opening the stream to the last byte of the response; a response of n
	// bytes gets n/DefaultMinThroughput more (verification is not counted).
	DefaultRequestTimeout = 10 * time.Second
)

type clientConfig struct {
	timeout       time.Duration
	minThroughput int
	log           *slog.Logger
	metrics       Metrics // may be nil
}

// ClientOption configures a Client; it returns an error for a value out of
// range.
type ClientOption func(*clientConfig) error

// WithRequestTimeout sets the base time limit of one request (d > 0).
func WithRequestTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("shrex: request timeout %v, want > 0", d)
		}
		c.timeout = d
		return nil
	}
}

// WithMinThroughput sets the slowest transfer, in bytes a second (> 0),
// the time limit of a request allows for (default DefaultMinThroughput).
func WithMinThroughput(bytesPerSecond int) ClientOption {
	return func(c *clientConfig) error {
		if bytesPerSecond <= 0 {
			return fmt.Errorf("shrex: min throughput %d, want > 0", bytesPerSecond)
		}
		c.minThroughput = bytesPerSecond
		return nil
	}
}

// WithLogger sets the client's logger; the default discards.
func WithLogger(l *slog.Logger) ClientOption {
	return func(c *clientConfig) error {
		if l == nil {
			return errors.New("shrex: nil logger")
		}
		c.log = l
		return nil
	}
}

// Client fetches shares over shrex from the peer it is told to ask and
// verifies them against the header it is given: it returns only verified
// data. It does not choose, rank or block peers; the caller does, on
// errors.Is(err, ErrInvalidResponse). Its methods are safe for concurrent
// use, and everything they return is owned by the caller.
type Client struct {
	sc   *streamclient.Client
	pids [len(kinds) + 1][]protocol.ID // by protocol, for streamclient.Request
	cfg  clientConfig
}

// NewClient returns a client for network (the chain ID). It does no I/O.
func NewClient(h host.Host, network string, opts ...ClientOption) (*Client, error) {
	if h == nil {
		return nil, errors.New("shrex: NewClient needs a host")
	}
	if network == "" {
		return nil, errors.New("shrex: empty network ID")
	}
	cfg := clientConfig{timeout: DefaultRequestTimeout, minThroughput: DefaultMinThroughput, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg, sc: streamclient.New(h, streamclient.Config{
		Name: "shrex", Service: ServiceName, Fault: ErrInvalidResponse, Log: cfg.log,
	})}
	for _, k := range kinds {
		c.pids[k] = []protocol.ID{ProtocolID(network, k)}
	}
	return c, nil
}

// checkHeader returns h's DAH after checking its shape. A bad header is the
// caller's error, not the peer's.
func checkHeader(h *header.ExtendedHeader) (*eds.DataAvailabilityHeader, error) {
	if h == nil || h.DAH == nil {
		return nil, errors.New("shrex: no header")
	}
	if err := h.DAH.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("shrex: header at height %d: %w", h.Height(), err)
	}
	return h.DAH, nil
}

// GetSample returns the share at (row, col) of the extended square of h
// with its proof, verified against h.DAH (Sample.Verify). The proof is
// against the row's root, the one the server sends, but a proof against the
// column's root is accepted as well. Coordinates outside the square are
// our error, wrapping eds.ErrOutOfRange, and nothing is asked.
func (c *Client) GetSample(ctx context.Context, p peer.ID, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	dah, err := checkHeader(h)
	if err != nil {
		return nil, err
	}
	req := request{kind: KindSample, height: h.Height(), row: row, col: col}
	if err := req.checkRange(2 * dah.SquareSize()); err != nil {
		return nil, fmt.Errorf("shrex: %v: %w", req, err)
	}
	var smp *eds.Sample
	err = c.do(ctx, p, req, sampleLimit(dah.SquareSize()), func(r *bufio.Reader) (err error) {
		smp, err = readSample(r, dah, row, col)
		return err
	})
	return smp, err
}

// GetRow returns the 2k shares of row row of the extended square of h. The
// peer sends the first half of the row; the client extends it
// (eds.ExtendAxis) and checks the root of the whole row against
// h.DAH.RowRoots[row]. The shares are one new buffer, owned by the caller.
func (c *Client) GetRow(ctx context.Context, p peer.ID, h *header.ExtendedHeader, row int) ([][]byte, error) {
	dah, err := checkHeader(h)
	if err != nil {
		return nil, err
	}
	req := request{kind: KindRow, height: h.Height(), row: row}
	if err := req.checkRange(2 * dah.SquareSize()); err != nil {
		return nil, fmt.Errorf("shrex: %v: %w", req, err)
	}
	var shares [][]byte
	err = c.do(ctx, p, req, dah.SquareSize()*share.ShareSize, func(r *bufio.Reader) (err error) {
		shares, err = readRow(r, dah, row)
		return err
	})
	return shares, err
}

// GetNamespaceData returns all the shares of ns in the square of h, with
// their proofs: one entry per row eds.RowsWithNamespace names, verified
// to be complete (eds.NamespaceData.Verify). When no row of h may hold ns,
// it returns an empty result without asking anyone. An invalid namespace,
// or the parity namespace, is our error (eds.ErrInvalidID).
func (c *Client) GetNamespaceData(ctx context.Context, p peer.ID, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	dah, err := checkHeader(h)
	if err != nil {
		return nil, err
	}
	if err := (NamespaceDataID{Height: h.Height(), Namespace: ns}).Validate(); err != nil {
		return nil, fmt.Errorf("shrex: namespace data: %w", err)
	}
	rows := eds.RowsWithNamespace(dah, ns)
	if len(rows) == 0 {
		return eds.NamespaceData{}, nil
	}
	req := request{kind: KindNamespaceData, height: h.Height(), ns: ns}
	var nd eds.NamespaceData
	err = c.do(ctx, p, req, len(rows)*rowNamespaceDataLimit(dah.SquareSize()), func(r *bufio.Reader) (err error) {
		nd, err = readNamespaceData(r, dah, ns)
		return err
	})
	return nd, err
}

// GetEDS returns the extended square of h. The peer sends the k×k original
// square; the client extends it and checks that its data root is h's. A
// square with another root is reported as a *DataRootMismatchError.
func (c *Client) GetEDS(ctx context.Context, p peer.ID, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	dah, err := checkHeader(h)
	if err != nil {
		return nil, err
	}
	req := request{kind: KindEDS, height: h.Height()}
	k := dah.SquareSize()
	var e *eds.ExtendedDataSquare
	err = c.do(ctx, p, req, k*k*share.ShareSize, func(r *bufio.Reader) (err error) {
		e, err = readEDS(r, dah, h.Height())
		return err
	})
	return e, err
}

// do sends req to p and reads the response with read, through
// streamclient. payload is the largest response the header allows, which
// extends the time limit. Errors wrapping ErrInvalidResponse are p's fault;
// when ctx ends first, the error wraps ctx.Err() instead.
func (c *Client) do(ctx context.Context, p peer.ID, req request, payload int, read func(*bufio.Reader) error) (err error) {
	id, err := req.marshal()
	if err != nil {
		return fmt.Errorf("shrex: %v: %w", req, err)
	}
	timeout := c.cfg.timeout + time.Duration(float64(payload)/float64(c.cfg.minThroughput)*float64(time.Second))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if m := c.cfg.metrics; m != nil {
		// Deferred after cancel, so run before it: ctx.Err() is still
		// the request's own.
		start := time.Now()
		defer func() { m.ObserveRequest(SideClient, req.kind.String(), clientOutcome(ctx, err), time.Since(start)) }()
	}
	return c.sc.Do(ctx, streamclient.Request{Peer: p, Protocols: c.pids[req.kind], Body: id, What: req},
		func(r *bufio.Reader, _ network.ResourceScope) error { return read(r) })
}

// statusErr returns the error of a response with status st other than OK.
func statusErr(st Status) error {
	switch st {
	case StatusNotFound:
		return ErrNotFound
	case StatusRateLimited:
		return ErrRateLimited
	case StatusInternal:
		return ErrInternal
	}
	// We only send valid requests, checked against the header.
	return fmt.Errorf("%w: %v to a valid request", ErrInvalidResponse, st)
}

// readOK reads the response header and returns nil for OK, the status's
// error otherwise.
func readOK(r *bufio.Reader) error {
	st, err := readHeader(r)
	if err != nil {
		return err
	}
	if st != StatusOK {
		return statusErr(st)
	}
	return nil
}

// The read functions below decode a response to a request about the square
// committed to by dah (which passes ValidateBasic), and verify it. Errors
// wrap ErrInvalidResponse when the bytes are at fault, ErrNotFound,
// ErrRateLimited or ErrInternal for those statuses, and are the reader's
// own otherwise.

// readSample reads one framed eds.Sample of cell (row, col).
func readSample(r *bufio.Reader, dah *eds.DataAvailabilityHeader, row, col int) (*eds.Sample, error) {
	if err := readOK(r); err != nil {
		return nil, err
	}
	b, err := readFrame(r, sampleLimit(dah.SquareSize()), "sample")
	if err != nil {
		return nil, err
	}
	if err := expectEnd(r); err != nil {
		return nil, err
	}
	smp, err := eds.UnmarshalSample(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	if err := smp.Verify(dah, row, col); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return smp, nil
}

// readRow reads the k shares of the first half of row row, extends them and
// checks the row's root.
func readRow(r *bufio.Reader, dah *eds.DataAvailabilityHeader, row int) ([][]byte, error) {
	if err := readOK(r); err != nil {
		return nil, err
	}
	k := dah.SquareSize()
	half, err := readShares(r, k)
	if err != nil {
		return nil, err
	}
	full, err := eds.ExtendAxis(half)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	root, err := eds.AxisRoot(full, row)
	if err != nil {
		return nil, fmt.Errorf("%w: row %d: %w", ErrInvalidResponse, row, err)
	}
	if !bytes.Equal(root, dah.RowRoots[row]) {
		return nil, fmt.Errorf("%w: row %d does not extend to its root", ErrInvalidResponse, row)
	}
	return full, nil
}

// readNamespaceData reads one framed eds.RowNamespaceData per row
// eds.RowsWithNamespace(dah, ns) names and verifies them together.
func readNamespaceData(r *bufio.Reader, dah *eds.DataAvailabilityHeader, ns share.Namespace) (eds.NamespaceData, error) {
	if err := readOK(r); err != nil {
		return nil, err
	}
	rows := eds.RowsWithNamespace(dah, ns)
	limit := rowNamespaceDataLimit(dah.SquareSize())
	nd := make(eds.NamespaceData, len(rows))
	for i, row := range rows {
		b, err := readFrame(r, limit, "row namespace data")
		if err != nil {
			return nil, err
		}
		d, err := eds.UnmarshalRowNamespaceData(b)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %w", ErrInvalidResponse, row, err)
		}
		nd[i] = eds.NamespaceRow{Row: row, Data: *d}
	}
	if err := expectEnd(r); err != nil {
		return nil, err
	}
	if err := nd.Verify(dah, ns); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return nd, nil
}

// readEDS reads the k×k original square row by row and checks its data
// root. Each row is extended and hashed (eds.SquareBuilder) while the next
// ones arrive; the columns and the remaining roots follow the last row.
func readEDS(r *bufio.Reader, dah *eds.DataAvailabilityHeader, height uint64) (*eds.ExtendedDataSquare, error) {
	if err := readOK(r); err != nil {
		return nil, err
	}
	b, err := eds.NewSquareBuilder(dah.SquareSize())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	for range dah.SquareSize() {
		if err := b.ReadRow(r); err != nil {
			return nil, eofFault(err, "shares")
		}
	}
	if err := expectEnd(r); err != nil {
		return nil, err
	}
	e, err := b.Finish()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	got, err := eds.NewDAH(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	if want := dah.Hash(); !bytes.Equal(got.Hash(), want) {
		return nil, &DataRootMismatchError{Height: height, Want: want, Got: got.Hash(), DAH: got}
	}
	return e, nil
}

// readShares reads exactly n shares, the end of the response.
func readShares(r *bufio.Reader, n int) ([][]byte, error) {
	buf := make([]byte, n*share.ShareSize)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, eofFault(err, "shares")
	}
	if err := expectEnd(r); err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*share.ShareSize : (i+1)*share.ShareSize : (i+1)*share.ShareSize]
	}
	return out, nil
}
