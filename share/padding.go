package share

// Padding shares (spec section 2): ns | (version<<1 | 1) | seq_len 0 |
// zeros. A padding share never holds a signer, even for share version 1.

// NamespacePaddingShare returns a padding share in namespace ns with the
// given share version. The builder puts these after a blob, with that
// blob's namespace and version, to align the next blob.
func NamespacePaddingShare(ns Namespace, shareVersion uint8) (Share, error) {
	ib, err := NewInfoByte(shareVersion, true)
	if err != nil {
		return nil, err
	}
	s := make(Share, ShareSize)
	writePadding(s, ns, ib)
	return s, nil
}

// PrimaryReservedPaddingShare returns a share version 0 padding share in
// PrimaryReservedPaddingNamespace, which fills the gap between the last
// PayForBlob share and the first blob.
func PrimaryReservedPaddingShare() Share {
	s := make(Share, ShareSize)
	writePadding(s, PrimaryReservedPaddingNamespace, InfoByte(1))
	return s
}

// TailPaddingShare returns a share version 0 padding share in
// TailPaddingNamespace, which fills the square after the last blob.
func TailPaddingShare() Share {
	s := make(Share, ShareSize)
	writePadding(s, TailPaddingNamespace, InfoByte(1))
	return s
}

// writePadding writes a padding share into dst (ShareSize bytes, fully
// overwritten).
func writePadding(dst []byte, ns Namespace, ib InfoByte) {
	copy(dst, ns[:])
	dst[NamespaceSize] = byte(ib)
	clear(dst[NamespaceSize+ShareInfoBytes:])
}
