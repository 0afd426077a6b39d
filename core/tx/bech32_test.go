package tx

import (
	"bytes"
	"strings"
	"testing"
)

// The BIP-173 test vectors.
func TestBech32BIP173Vectors(t *testing.T) {
	valid := []string{
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	}
	for _, s := range valid {
		hrp, words, err := decodeBech32Words(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if got := encodeBech32Words(hrp, words); got != strings.ToLower(s) {
			t.Errorf("%q: re-encoded as %q", s, got)
		}
	}
	invalid := []string{
		"\x201nwldj5", // HRP character out of range
		"\x7f1axkwrx", // HRP character out of range
		"\x801eym55h", // HRP character out of range
		"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", // overall max length exceeded
		"pzry9x0s0muk",  // no separator
		"1pzry9x0s0muk", // empty HRP
		"x1b4n0q5v",     // invalid data character
		"li1dgmt3",      // too short checksum
		"de1lg7wt\xff",  // invalid character in checksum
		"A1G7SGD8",      // checksum calculated with uppercase HRP
		"10a06t8",       // empty HRP
		"1qzzfhee",      // empty HRP
	}
	for _, s := range invalid {
		if _, _, err := decodeBech32Words(s); err == nil {
			t.Errorf("%q decoded; want an error", s)
		}
	}
}

func TestBech32RoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte{0xab, 0x01}, 10)
	s, err := EncodeBech32("mesh", data)
	if err != nil {
		t.Fatal(err)
	}
	hrp, got, err := DecodeBech32(s)
	if err != nil || hrp != "mesh" || !bytes.Equal(got, data) {
		t.Fatalf("DecodeBech32(%q) = %q, %x, %v", s, hrp, got, err)
	}
	// A flipped character breaks the checksum.
	bad := []byte(s)
	bad[len(bad)-1] ^= 1
	if _, _, err := DecodeBech32(string(bad)); err == nil {
		t.Fatal("corrupted string decoded")
	}
}
