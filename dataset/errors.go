package dataset

import "errors"

// The errors of the package. Every error it returns about its input wraps
// one of them (errors.Is), with details after the sentinel's text.
var (
	// ErrMalformedCAR: bytes that are not a CARv1 as this package writes it
	// (a bad varint, header or section, a truncated section, a header that
	// is not the canonical one, a part with no block or a block twice).
	ErrMalformedCAR = errors.New("dataset: malformed CAR")
	// ErrWrongRoot: a part whose CAR header names a root other than the
	// dataset's.
	ErrWrongRoot = errors.New("dataset: wrong CAR root")
	// ErrHashMismatch: a block whose data does not hash to its CID.
	ErrHashMismatch = errors.New("dataset: block hash mismatch")
	// ErrUnsupportedCID: a CID that is not CIDv1 with a 32-byte sha2-256
	// multihash, or a codec other than dag-pb and raw in a DAG (dag-cbor in
	// a manifest).
	ErrUnsupportedCID = errors.New("dataset: unsupported CID")
	// ErrTooLarge: input over a size limit (a part over the limit it is
	// decoded with, a block over MaxBlockSize).
	ErrTooLarge = errors.New("dataset: too large")
	// ErrBlockTooLarge: Pack met a block that does not fit in a part of the
	// size asked, even alone.
	ErrBlockTooLarge = errors.New("dataset: block does not fit in a part")
	// ErrMalformedBlock: a dag-pb block of a DAG that does not decode.
	ErrMalformedBlock = errors.New("dataset: malformed block")
	// ErrMissingBlock: a block of the DAG is not in the block source.
	ErrMissingBlock = errors.New("dataset: missing block")
	// ErrMalformedManifest: a manifest CAR whose block is not a valid
	// manifest, or a manifest that cannot be encoded.
	ErrMalformedManifest = errors.New("dataset: malformed manifest")
	// ErrUnsupportedFile: Import met something that is neither a regular
	// file, a directory nor a symbolic link.
	ErrUnsupportedFile = errors.New("dataset: unsupported file type")
	// ErrProfile: the import profile cannot be applied (see Import).
	ErrProfile = errors.New("dataset: import profile")
	// ErrInvalidNamespace: a namespace a dataset may not be posted in.
	ErrInvalidNamespace = errors.New("dataset: invalid namespace")
)
