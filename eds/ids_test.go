package eds_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

func TestIDsKnownBytes(t *testing.T) {
	ns, err := share.NewV0Namespace([]byte("oracle-ns1"))
	if err != nil {
		t.Fatal(err)
	}
	const height = "0000000000bf5bd3" // 12540883
	tests := []struct {
		name string
		id   interface{ MarshalBinary() ([]byte, error) }
		hex  string
		size int
	}{
		{"EdsID", eds.EdsID{Height: 12540883}, height, eds.EdsIDSize},
		{"RowID", eds.RowID{Height: 12540883, Row: 0x0102}, height + "0102", eds.RowIDSize},
		{"SampleID", eds.SampleID{Height: 12540883, Row: 7, Col: 0xFFFF}, height + "0007ffff", eds.SampleIDSize},
		{"RowNamespaceDataID", eds.RowNamespaceDataID{Height: 12540883, Row: 3, Namespace: ns}, height + "0003" + hex.EncodeToString(ns[:]), eds.RowNamespaceDataIDSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.id.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(b) != tt.hex || len(b) != tt.size {
				t.Fatalf("encoding %x, want %s (%d bytes)", b, tt.hex, tt.size)
			}
			var back any
			switch tt.id.(type) {
			case eds.EdsID:
				back, err = eds.UnmarshalEdsID(b)
			case eds.RowID:
				back, err = eds.UnmarshalRowID(b)
			case eds.SampleID:
				back, err = eds.UnmarshalSampleID(b)
			case eds.RowNamespaceDataID:
				back, err = eds.UnmarshalRowNamespaceDataID(b)
			}
			if err != nil || back != tt.id {
				t.Fatalf("round trip: got (%v, %v), want %v", back, err, tt.id)
			}
			// Every other length is rejected.
			for _, n := range []int{0, len(b) - 1, len(b) + 1} {
				in := append(bytes.Clone(b), 0)[:n]
				var err error
				switch tt.id.(type) {
				case eds.EdsID:
					_, err = eds.UnmarshalEdsID(in)
				case eds.RowID:
					_, err = eds.UnmarshalRowID(in)
				case eds.SampleID:
					_, err = eds.UnmarshalSampleID(in)
				case eds.RowNamespaceDataID:
					_, err = eds.UnmarshalRowNamespaceDataID(in)
				}
				if !errors.Is(err, eds.ErrInvalidID) || !strings.Contains(err.Error(), "bytes, want") {
					t.Fatalf("%d bytes: %v", n, err)
				}
			}
		})
	}
}

func TestIDParents(t *testing.T) {
	ns, _ := share.NewV0Namespace([]byte{1})
	s := eds.SampleID{Height: 9, Row: 2, Col: 3}
	nd := eds.RowNamespaceDataID{Height: 9, Row: 2, Namespace: ns}
	if s.RowID() != (eds.RowID{Height: 9, Row: 2}) || nd.RowID() != s.RowID() || s.RowID().EdsID() != (eds.EdsID{Height: 9}) {
		t.Fatal("parent IDs")
	}
}

func TestIDErrors(t *testing.T) {
	ns, _ := share.NewV0Namespace([]byte{1})
	badNs := ns
	badNs[0] = 7 // unsupported version
	tests := []struct {
		name string
		err  error
		want error // besides ErrInvalidID
	}{
		{"zero height", eds.EdsID{}.Validate(), nil},
		{"zero height row", eds.RowID{Row: 1}.Validate(8), nil},
		{"row past the square", eds.RowID{Height: 1, Row: 8}.Validate(8), eds.ErrOutOfRange},
		{"negative row", eds.RowID{Height: 1, Row: -1}.Validate(8), eds.ErrOutOfRange},
		{"column past the square", eds.SampleID{Height: 1, Row: 7, Col: 8}.Validate(8), eds.ErrOutOfRange},
		{"row of a sample", eds.SampleID{Height: 1, Row: 8, Col: 0}.Validate(8), eds.ErrOutOfRange},
		{"namespace version", eds.RowNamespaceDataID{Height: 1, Namespace: badNs}.Validate(8), share.ErrInvalidNamespace},
		{"parity namespace", eds.RowNamespaceDataID{Height: 1, Namespace: share.ParitySharesNamespace}.Validate(8), share.ErrInvalidNamespace},
		{"row of namespace data", eds.RowNamespaceDataID{Height: 1, Row: 9, Namespace: ns}.Validate(8), eds.ErrOutOfRange},
	}
	marshal := []struct {
		name string
		id   interface{ MarshalBinary() ([]byte, error) }
	}{
		{"zero height", eds.EdsID{}},
		{"row over 16 bits", eds.RowID{Height: 1, Row: 1 << 16}},
		{"negative column", eds.SampleID{Height: 1, Col: -1}},
		{"column over 16 bits", eds.SampleID{Height: 1, Col: 1 << 16}},
		{"parity namespace", eds.RowNamespaceDataID{Height: 1, Namespace: share.ParitySharesNamespace}},
		{"zero height namespace data", eds.RowNamespaceDataID{Namespace: ns}},
	}
	for _, m := range marshal {
		b, err := m.id.MarshalBinary()
		if b != nil {
			t.Fatalf("%s: encoded %x", m.name, b)
		}
		tests = append(tests, struct {
			name string
			err  error
			want error
		}{"marshal " + m.name, err, nil})
	}
	zeroHeight := make([]byte, eds.RowNamespaceDataIDSize)
	copy(zeroHeight[eds.RowIDSize:], ns[:])
	parity := append(append([]byte{0, 0, 0, 0, 0, 0, 0, 1}, 0, 0), share.ParitySharesNamespace[:]...)
	_, errEds := eds.UnmarshalEdsID(zeroHeight[:eds.EdsIDSize])
	_, errRow := eds.UnmarshalRowID(zeroHeight[:eds.RowIDSize])
	_, errSample := eds.UnmarshalSampleID(zeroHeight[:eds.SampleIDSize])
	_, errNd := eds.UnmarshalRowNamespaceDataID(zeroHeight)
	_, errParity := eds.UnmarshalRowNamespaceDataID(parity)
	tests = append(tests, []struct {
		name string
		err  error
		want error
	}{
		{"unmarshal zero height", errEds, nil},
		{"unmarshal zero height row", errRow, nil},
		{"unmarshal zero height sample", errSample, nil},
		{"unmarshal zero height namespace data", errNd, nil},
		{"unmarshal parity namespace", errParity, share.ErrInvalidNamespace},
	}...)
	for _, tt := range tests {
		if !errors.Is(tt.err, eds.ErrInvalidID) || (tt.want != nil && !errors.Is(tt.err, tt.want)) {
			t.Errorf("%s: got %v, want ErrInvalidID and %v", tt.name, tt.err, tt.want)
		}
	}
	// Valid IDs at the edges.
	for _, err := range []error{
		eds.EdsID{Height: 1}.Validate(),
		eds.RowID{Height: 1, Row: 7}.Validate(8),
		eds.SampleID{Height: 1, Row: 7, Col: 7}.Validate(8),
		eds.RowNamespaceDataID{Height: 1, Row: 7, Namespace: share.TailPaddingNamespace}.Validate(8),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}
