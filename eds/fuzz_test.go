package eds_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/eds"
)

// FuzzUnmarshalDAH decodes arbitrary bytes as a header. Its seed corpus is in
// testdata/fuzz/FuzzUnmarshalDAH and runs with plain go test.
func FuzzUnmarshalDAH(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := eds.UnmarshalDAH(data)
		if err != nil {
			if d != nil || !errors.Is(err, eds.ErrInvalidDAH) {
				t.Fatalf("got (%v, %v)", d, err)
			}
			return
		}
		if err := d.ValidateBasic(); err != nil {
			t.Fatalf("decoded an invalid header: %v", err)
		}
		enc, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) > len(data) || len(enc) > eds.MaxDAHEncodedSize {
			t.Fatalf("canonical encoding (%d bytes) longer than the input (%d)", len(enc), len(data))
		}
		again, err := eds.UnmarshalDAH(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Equals(d) || !bytes.Equal(again.Hash(), d.Hash()) {
			t.Fatal("round trip changed the header")
		}
		enc2, err := again.MarshalBinary()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not canonical: %v", err)
		}
	})
}
