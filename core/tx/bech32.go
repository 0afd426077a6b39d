package tx

import (
	"errors"
	"fmt"
	"strings"
)

// BIP-173 bech32, written for addresses: encodeBech32 and decodeBech32 work
// on 8-bit data and do the 5-bit regrouping themselves.

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// ErrBech32 is wrapped by every bech32 decoding error.
var ErrBech32 = errors.New("tx: invalid bech32")

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>uint(i))&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func bech32HRPExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

// convertBits regroups data from fromBits-bit to toBits-bit groups. With pad
// the last group is zero-padded; without, leftover bits must be zero padding
// of fewer than fromBits bits.
func convertBits(data []byte, fromBits, toBits uint, pad bool) ([]byte, error) {
	var acc, bits uint
	maxv := uint(1)<<toBits - 1
	out := make([]byte, 0, len(data)*int(fromBits)/int(toBits)+1)
	for _, b := range data {
		if uint(b)>>fromBits != 0 {
			return nil, fmt.Errorf("%w: value %d does not fit %d bits", ErrBech32, b, fromBits)
		}
		acc = acc<<fromBits | uint(b)
		bits += fromBits
		for bits >= toBits {
			bits -= toBits
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(toBits-bits)&maxv))
		}
	} else if bits >= fromBits || acc<<(toBits-bits)&maxv != 0 {
		return nil, fmt.Errorf("%w: non-zero or excess padding", ErrBech32)
	}
	return out, nil
}

// encodeBech32Words encodes 5-bit words under hrp (lower case).
func encodeBech32Words(hrp string, words []byte) string {
	values := append(bech32HRPExpand(hrp), words...)
	pm := bech32Polymod(append(values, 0, 0, 0, 0, 0, 0)) ^ 1
	var sb strings.Builder
	sb.Grow(len(hrp) + 1 + len(words) + 6)
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, w := range words {
		sb.WriteByte(bech32Charset[w])
	}
	for i := 0; i < 6; i++ {
		sb.WriteByte(bech32Charset[(pm>>uint(5*(5-i)))&31])
	}
	return sb.String()
}

// decodeBech32Words decodes a BIP-173 string into its (lower-case) hrp and
// 5-bit data words, checksum removed.
func decodeBech32Words(s string) (string, []byte, error) {
	if len(s) < 8 || len(s) > 90 {
		return "", nil, fmt.Errorf("%w: length %d outside 8..90", ErrBech32, len(s))
	}
	lower, upper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			return "", nil, fmt.Errorf("%w: character %q at %d", ErrBech32, c, i)
		}
		lower = lower || (c >= 'a' && c <= 'z')
		upper = upper || (c >= 'A' && c <= 'Z')
	}
	if lower && upper {
		return "", nil, fmt.Errorf("%w: mixed case", ErrBech32)
	}
	s = strings.ToLower(s)
	pos := strings.LastIndexByte(s, '1')
	if pos < 1 || pos+7 > len(s) {
		return "", nil, fmt.Errorf("%w: separator at %d", ErrBech32, pos)
	}
	hrp := s[:pos]
	words := make([]byte, 0, len(s)-pos-1)
	for i := pos + 1; i < len(s); i++ {
		d := strings.IndexByte(bech32Charset, s[i])
		if d < 0 {
			return "", nil, fmt.Errorf("%w: character %q at %d", ErrBech32, s[i], i)
		}
		words = append(words, byte(d))
	}
	if bech32Polymod(append(bech32HRPExpand(hrp), words...)) != 1 {
		return "", nil, fmt.Errorf("%w: checksum mismatch", ErrBech32)
	}
	return hrp, words[:len(words)-6], nil
}

// EncodeBech32 encodes data under hrp.
func EncodeBech32(hrp string, data []byte) (string, error) {
	words, err := convertBits(data, 8, 5, true)
	if err != nil {
		return "", err
	}
	s := encodeBech32Words(strings.ToLower(hrp), words)
	if len(s) > 90 {
		return "", fmt.Errorf("%w: %d characters, at most 90", ErrBech32, len(s))
	}
	return s, nil
}

// DecodeBech32 decodes s into its lower-case human-readable part and data.
func DecodeBech32(s string) (hrp string, data []byte, err error) {
	hrp, words, err := decodeBech32Words(s)
	if err != nil {
		return "", nil, err
	}
	data, err = convertBits(words, 5, 8, false)
	if err != nil {
		return "", nil, err
	}
	return hrp, data, nil
}
