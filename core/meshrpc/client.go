package meshrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped when an answer of the routes does not decode.
var ErrMalformed = errors.New("meshrpc: malformed answer")

// Block is BlockPath's answer, decoded.
type Block struct {
	Block  *cmttypes.Block
	Commit *cmttypes.Commit
	// Validators is the validator set of the block's height in the
	// order the core node stores it; DecodeBlock checks each and their
	// number (1 to the limit it is given), not the set as a whole.
	Validators []*cmttypes.Validator
}

// FetchBlock asks the core node at base (its RPC URL, http://host:port)
// for the block of height with hc, which should bound the answer's size.
// It fails with ErrNotServed when the node does not serve the route,
// with an *HTTPError for an answer of the route other than 200, and with
// ErrMalformed when the answer does not decode (DecodeBlock).
func FetchBlock(ctx context.Context, hc *http.Client, base string, height int64, maxValidators int) (*Block, error) {
	u := strings.TrimSuffix(base, "/") + BlockPath + "?height=" + strconv.FormatInt(height, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("meshrpc: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("meshrpc: block %d: %w", height, err)
	}
	defer res.Body.Close()
	if err := CheckResponse(res); err != nil {
		return nil, fmt.Errorf("meshrpc: block %d: %w", height, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != ContentTypeProtobuf {
		return nil, fmt.Errorf("%w: block %d: content type %q", ErrMalformed, height, ct)
	}
	var body []byte
	if res.ContentLength > 0 {
		// hc's transport bounds the body it reads; a Content-Length it
		// has not refused is one it lets through.
		body = make([]byte, res.ContentLength)
		if _, err = io.ReadFull(res.Body, body); err != nil {
			return nil, fmt.Errorf("meshrpc: block %d: reading the answer: %w", height, err)
		}
	} else if body, err = io.ReadAll(res.Body); err != nil {
		return nil, fmt.Errorf("meshrpc: block %d: reading the answer: %w", height, err)
	}
	b, err := DecodeBlock(body, maxValidators)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	return b, nil
}

// HTTPError is an answer of the routes with a status other than 200.
type HTTPError struct {
	Status int
	Body   Error
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Body.Error)
}

// NotFound reports whether the route answered that what was asked for is
// not there (a height not stored, a transaction not indexed).
func (e *HTTPError) NotFound() bool { return e.Body.NotFound }

// CheckResponse returns nil for a 200 answer of the routes, ErrNotServed
// for a 404 without VersionHeader (a node that does not serve them), and
// an *HTTPError for any other status, its body's Error read (at most
// MaxTxStatusBytes). A 200 without VersionHeader is ErrMalformed.
func CheckResponse(res *http.Response) error {
	served := res.Header.Get(VersionHeader) != ""
	switch {
	case res.StatusCode == http.StatusOK && served:
		return nil
	case res.StatusCode == http.StatusNotFound && !served:
		return ErrNotServed
	case !served:
		return fmt.Errorf("%w: status %d without the %s header", ErrMalformed, res.StatusCode, VersionHeader)
	}
	e := &HTTPError{Status: res.StatusCode}
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxTxStatusBytes))
	if err != nil || json.Unmarshal(b, &e.Body) != nil || e.Body.Error == "" {
		e.Body.Error = "(no readable error)"
	}
	return e
}

// DecodeBlock decodes a BlockResponse message: its block, commit and
// validator set each exactly once, in any order, unknown fields skipped.
// The block and commit are converted with CometBFT's BlockFromProto
// (which runs the block's ValidateBasic) and CommitFromProto; the
// validator set must hold 1 to maxValidators validators, each checked by
// ValidatorFromProto. Any failure wraps ErrMalformed; it never panics.
// The returned values do not alias data.
func DecodeBlock(data []byte, maxValidators int) (*Block, error) {
	var fields [4][]byte
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
		}
		data = data[n:]
		if num >= fieldBlock && num <= fieldValidatorSet && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return nil, fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
			}
			if fields[num] != nil {
				return nil, fmt.Errorf("%w: field %d repeated", ErrMalformed, num)
			}
			fields[num], data = v, data[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return nil, fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
		}
		data = data[n:]
	}
	for _, f := range []protowire.Number{fieldBlock, fieldCommit, fieldValidatorSet} {
		if fields[f] == nil {
			return nil, fmt.Errorf("%w: field %d missing", ErrMalformed, f)
		}
	}
	var bpb cmtproto.Block
	if err := bpb.Unmarshal(fields[fieldBlock]); err != nil {
		return nil, fmt.Errorf("%w: block: %w", ErrMalformed, err)
	}
	block, err := cmttypes.BlockFromProto(&bpb)
	if err != nil {
		return nil, fmt.Errorf("%w: block: %w", ErrMalformed, err)
	}
	var cpb cmtproto.Commit
	if err := cpb.Unmarshal(fields[fieldCommit]); err != nil {
		return nil, fmt.Errorf("%w: commit: %w", ErrMalformed, err)
	}
	commit, err := cmttypes.CommitFromProto(&cpb)
	if err != nil {
		return nil, fmt.Errorf("%w: commit: %w", ErrMalformed, err)
	}
	var vpb cmtproto.ValidatorSet
	if err := vpb.Unmarshal(fields[fieldValidatorSet]); err != nil {
		return nil, fmt.Errorf("%w: validator set: %w", ErrMalformed, err)
	}
	if len(vpb.Validators) < 1 || len(vpb.Validators) > maxValidators {
		return nil, fmt.Errorf("%w: %d validators, want 1 to %d", ErrMalformed, len(vpb.Validators), maxValidators)
	}
	vals := make([]*cmttypes.Validator, len(vpb.Validators))
	for i, v := range vpb.Validators {
		if v == nil {
			return nil, fmt.Errorf("%w: validator %d is empty", ErrMalformed, i)
		}
		if vals[i], err = cmttypes.ValidatorFromProto(v); err != nil {
			return nil, fmt.Errorf("%w: validator %d: %w", ErrMalformed, i, err)
		}
	}
	return &Block{Block: block, Commit: commit, Validators: vals}, nil
}
