package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"
)

// ErrInvalidHeaderRef is wrapped by HeaderRef.UnmarshalJSON for JSON that
// does not name a header.
var ErrInvalidHeaderRef = errors.New("api: invalid header")

// HeaderRef names a header by its height and hash: what the header module
// reads of a header a client sends back (header.GetRangeByHeight's from).
// It decodes from the JSON of any extended header: mesh-node's, or
// celestia-node's, which has header, commit, validator_set and dah but not
// mesh-node's data root transaction and proof. Only two parts are read:
// "header", the CometBFT header (in CometBFT's JSON, 64-bit integers as
// strings, or in encoding/json's, as numbers), whose hash it computes, and,
// when present,
// "commit"'s block_id.hash, which must equal that hash. The rest is
// ignored, so nothing in it is trusted: the node looks the header up in its
// own store (Headers.Resolve).
type HeaderRef struct {
	Height uint64
	Hash   Hash
}

// jsonHeaderRef is what HeaderRef reads of a header's JSON.
type jsonHeaderRef struct {
	Header json.RawMessage `json:"header"`
	Commit *struct {
		BlockID struct {
			Hash cmtbytes.HexBytes `json:"hash"`
		} `json:"block_id"`
	} `json:"commit"`
}

// UnmarshalJSON reads the height and hash of an extended header's JSON
// (see HeaderRef). The CometBFT header must pass its ValidateBasic (so its
// height is positive) and hash to commit.block_id.hash when the commit is
// there. Errors wrap ErrInvalidHeaderRef.
func (r *HeaderRef) UnmarshalJSON(b []byte) error {
	var j jsonHeaderRef
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidHeaderRef, err)
	}
	if len(j.Header) == 0 || string(j.Header) == "null" {
		return fmt.Errorf("%w: no \"header\" part", ErrInvalidHeaderRef)
	}
	var raw cmttypes.Header
	if err := cmtjson.Unmarshal(j.Header, &raw); err != nil {
		// The header as encoding/json writes it (64-bit integers as
		// numbers), as in blob subscriptions.
		raw = cmttypes.Header{}
		if json.Unmarshal(j.Header, &raw) != nil {
			return fmt.Errorf("%w: header: %w", ErrInvalidHeaderRef, err)
		}
	}
	if err := raw.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: header: %w", ErrInvalidHeaderRef, err)
	}
	hash := raw.Hash()
	if hash == nil {
		return fmt.Errorf("%w: header at height %d does not hash (fields missing)", ErrInvalidHeaderRef, raw.Height)
	}
	if j.Commit != nil && len(j.Commit.BlockID.Hash) > 0 && !bytes.Equal(j.Commit.BlockID.Hash, hash) {
		return fmt.Errorf("%w: header at height %d hashes to %X, its commit is for %X",
			ErrInvalidHeaderRef, raw.Height, hash, []byte(j.Commit.BlockID.Hash))
	}
	*r = HeaderRef{Height: uint64(raw.Height), Hash: Hash(hash)}
	return nil
}
