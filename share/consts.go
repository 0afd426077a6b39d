package share

const (
	// ShareSize is the size of a share in bytes.
	ShareSize = 512
	// ShareInfoBytes is the size of the info byte (share version and
	// sequence start flag).
	ShareInfoBytes = 1
	// SequenceLenBytes is the size of the sequence length of a first share.
	SequenceLenBytes = 4
	// ShareReservedBytes is the size of the reserved-bytes field of a
	// compact share.
	ShareReservedBytes = 4
	// SignerSize is the size of the signer of a share version 1 blob.
	SignerSize = 20

	// ShareVersionZero is the share version of ordinary blobs.
	ShareVersionZero = uint8(0)
	// ShareVersionOne is the share version of blobs that carry a signer.
	ShareVersionOne = uint8(1)
	// MaxShareVersion is the largest share version the info byte can hold.
	MaxShareVersion = 127

	// FirstSparseShareContentSize is the data capacity of a blob's first
	// share without a signer.
	FirstSparseShareContentSize = ShareSize - NamespaceSize - ShareInfoBytes - SequenceLenBytes // 478
	// FirstSparseShareContentSizeWithSigner is the data capacity of a share
	// version 1 blob's first share, which also holds the signer.
	FirstSparseShareContentSizeWithSigner = FirstSparseShareContentSize - SignerSize // 458
	// ContinuationSparseShareContentSize is the data capacity of a blob's
	// continuation share.
	ContinuationSparseShareContentSize = ShareSize - NamespaceSize - ShareInfoBytes // 482
	// FirstCompactShareContentSize is the unit capacity of a first compact
	// share.
	FirstCompactShareContentSize = ShareSize - NamespaceSize - ShareInfoBytes - SequenceLenBytes - ShareReservedBytes // 474
	// ContinuationCompactShareContentSize is the unit capacity of a
	// continuation compact share.
	ContinuationCompactShareContentSize = ShareSize - NamespaceSize - ShareInfoBytes - ShareReservedBytes // 478

	// SubtreeRootThreshold bounds the number of subtree roots of a blob's
	// share commitment (spec section 3.5); 64 in every Celestia app version.
	SubtreeRootThreshold = 64
	// SquareSizeUpperBound is the largest original square width the builder
	// accepts.
	SquareSizeUpperBound = 512
	// DefaultMaxSquareSize is the default governance maximum square width.
	DefaultMaxSquareSize = 128
	// MinSquareSize is the width of the smallest (empty) square.
	MinSquareSize = 1
	// MaxShareCount is the number of shares of the largest original square,
	// SquareSizeUpperBound². No blob or transaction set larger than this
	// can be laid out.
	MaxShareCount = SquareSizeUpperBound * SquareSizeUpperBound

	// The header sizes below are the byte offsets at which the
	// payload of each share kind starts.
	sparseFirstHeaderSize         = NamespaceSize + ShareInfoBytes + SequenceLenBytes // 34
	sparseContinuationHeaderSize  = NamespaceSize + ShareInfoBytes                    // 30
	compactFirstHeaderSize        = sparseFirstHeaderSize + ShareReservedBytes        // 38
	compactContinuationHeaderSize = sparseContinuationHeaderSize + ShareReservedBytes // 34
)
