package app

import "bytes"

func blobData(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
