package shrex

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// MaxSamplesPerRequest bounds the cells of one samples request: a light
// node samples 16 cells of a header by default, and a request of 64 proves
// at most 64 axes on the server.
const MaxSamplesPerRequest = 64

// SamplesRequestSize returns the size of a samples request of n cells:
// height u64 | count u16 | n × (row u16, col u16).
func SamplesRequestSize(n int) int { return eds.EdsIDSize + 2 + 4*n }

// ErrNotSupported is wrapped when the peer does not speak the protocol
// asked for (an older peer, for KindSamples): it is not a fault, and the
// caller may ask it with another protocol.
var ErrNotSupported = errors.New("shrex: protocol not supported by the peer")

// Cell is the position of a share in an extended data square.
type Cell struct{ Row, Col int }

// InvalidSamplesError is returned by GetSamples when samples the peer
// sent decode but do not verify against the header: Cells lists those
// cells, in request order, and Errs the reason for each. It wraps
// ErrInvalidResponse.
type InvalidSamplesError struct {
	Height uint64
	Cells  []Cell
	Errs   []error
}

func (e *InvalidSamplesError) Error() string {
	return fmt.Sprintf("%v: %d of the samples at height %d do not verify, first (%d, %d): %v",
		ErrInvalidResponse, len(e.Cells), e.Height, e.Cells[0].Row, e.Cells[0].Col, e.Errs[0])
}

// Unwrap makes errors.Is(err, ErrInvalidResponse) true.
func (e *InvalidSamplesError) Unwrap() error { return ErrInvalidResponse }

// marshalSamplesRequest encodes a samples request. It fails, wrapping
// eds.ErrInvalidID, for a height of 0, no cell or more than
// MaxSamplesPerRequest, a coordinate outside [0, 65535], or a cell named
// twice.
func marshalSamplesRequest(height uint64, cells []Cell) ([]byte, error) {
	if err := checkCells(height, cells, math.MaxUint16+1); err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, SamplesRequestSize(len(cells))), height)
	b = binary.BigEndian.AppendUint16(b, uint16(len(cells)))
	for _, c := range cells {
		b = binary.BigEndian.AppendUint16(b, uint16(c.Row))
		b = binary.BigEndian.AppendUint16(b, uint16(c.Col))
	}
	return b, nil
}

// parseSamplesRequest decodes a samples request of exactly
// SamplesRequestSize(count) bytes. Coordinates are checked against the
// square later (checkCells with its width). Errors wrap eds.ErrInvalidID.
func parseSamplesRequest(b []byte) (request, error) {
	r := request{kind: KindSamples}
	if len(b) < SamplesRequestSize(0) {
		return r, fmt.Errorf("%w: samples request of %d bytes", eds.ErrInvalidID, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[eds.EdsIDSize:]))
	if n > MaxSamplesPerRequest || len(b) != SamplesRequestSize(n) {
		return r, fmt.Errorf("%w: samples request of %d bytes for %d cells (at most %d)", eds.ErrInvalidID, len(b), n, MaxSamplesPerRequest)
	}
	r.height = binary.BigEndian.Uint64(b)
	r.cells = make([]Cell, n)
	for i := range r.cells {
		off := SamplesRequestSize(i)
		r.cells[i] = Cell{Row: int(binary.BigEndian.Uint16(b[off:])), Col: int(binary.BigEndian.Uint16(b[off+2:]))}
	}
	if err := checkCells(r.height, r.cells, math.MaxUint16+1); err != nil {
		return request{kind: KindSamples}, err
	}
	return r, nil
}

// checkCells checks a samples request against a square of width w: a
// height above 0, 1 to MaxSamplesPerRequest cells, no more than the w²
// cells of the square, each inside it and named once. Errors wrap
// eds.ErrInvalidID, or eds.ErrOutOfRange for a cell outside the square.
func checkCells(height uint64, cells []Cell, w int) error {
	if height == 0 {
		return fmt.Errorf("%w: height 0", eds.ErrInvalidID)
	}
	if len(cells) == 0 || len(cells) > MaxSamplesPerRequest || len(cells) > w*w {
		return fmt.Errorf("%w: %d cells, want 1 to %d and at most %d", eds.ErrInvalidID, len(cells), MaxSamplesPerRequest, w*w)
	}
	for i, c := range cells {
		if err := (eds.SampleID{Height: height, Row: c.Row, Col: c.Col}).Validate(w); err != nil {
			return err
		}
		for _, d := range cells[:i] {
			if d == c {
				return fmt.Errorf("%w: cell (%d, %d) named twice", eds.ErrInvalidID, c.Row, c.Col)
			}
		}
	}
	return nil
}

// GetSamples returns the shares at cells of the extended square of h with
// their proofs, in the order of cells, each verified against h.DAH
// (Sample.Verify), in one request of the samples protocol. cells must hold
// 1 to MaxSamplesPerRequest distinct cells of the square; otherwise the
// error is ours, wrapping eds.ErrInvalidID or eds.ErrOutOfRange, and
// nothing is asked.
//
// The result is all or nothing. Samples that decode but do not verify are
// reported as an *InvalidSamplesError naming their cells; a malformed,
// short or long response wraps ErrInvalidResponse too. A peer that does not
// speak the samples protocol gives an error wrapping ErrNotSupported: ask
// it for each cell with GetSample.
func (c *Client) GetSamples(ctx context.Context, p peer.ID, h *header.ExtendedHeader, cells []Cell) ([]*eds.Sample, error) {
	dah, err := checkHeader(h)
	if err != nil {
		return nil, err
	}
	req := request{kind: KindSamples, height: h.Height(), cells: cells}
	if err := req.checkRange(2 * dah.SquareSize()); err != nil {
		return nil, fmt.Errorf("shrex: %v: %w", req, err)
	}
	var smps []*eds.Sample
	err = c.do(ctx, p, req, len(cells)*sampleLimit(dah.SquareSize()), func(r *bufio.Reader) (err error) {
		smps, err = readSamples(r, dah, h.Height(), cells)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotSupported) && errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) {
		err = fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return smps, err
}

// readSamples reads one framed eds.Sample for each of cells, in order, and
// verifies each: all of them are read before any is verified, so that the
// error names every cell that failed.
func readSamples(r *bufio.Reader, dah *eds.DataAvailabilityHeader, height uint64, cells []Cell) ([]*eds.Sample, error) {
	if err := readOK(r); err != nil {
		return nil, err
	}
	limit := sampleLimit(dah.SquareSize())
	smps := make([]*eds.Sample, len(cells))
	for i, c := range cells {
		b, err := readFrame(r, limit, "sample")
		if err != nil {
			return nil, err
		}
		if smps[i], err = eds.UnmarshalSample(b); err != nil {
			return nil, fmt.Errorf("%w: sample %d (%d, %d): %w", ErrInvalidResponse, i, c.Row, c.Col, err)
		}
	}
	if err := expectEnd(r); err != nil {
		return nil, err
	}
	var bad *InvalidSamplesError
	for i, c := range cells {
		if err := smps[i].Verify(dah, c.Row, c.Col); err != nil {
			if bad == nil {
				bad = &InvalidSamplesError{Height: height}
			}
			bad.Cells = append(bad.Cells, c)
			bad.Errs = append(bad.Errs, err)
		}
	}
	if bad != nil {
		return nil, bad
	}
	return smps, nil
}
