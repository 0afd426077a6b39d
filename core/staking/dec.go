package staking

import (
	"fmt"
	"math/big"
	"strings"
)

// DecPrecision is the number of decimal digits after the point that a Dec
// keeps.
const DecPrecision = 18

// maxDecBytes bounds the magnitude of a decoded Dec (and of a parsed one):
// 48 bytes hold 10^115, far above any token amount times 10^18.
const maxDecBytes = 48

var (
	decScale = new(big.Int).Exp(big.NewInt(10), big.NewInt(DecPrecision), nil)
	zeroInt  = new(big.Int)
)

// Dec is a non-negative fixed-point decimal with DecPrecision digits after
// the point: the integer i stands for i / 10^18. Every operation returns a
// new value and never modifies its operands, so a Dec may be copied and
// shared freely. Operations that cannot be exact (Mul, Quo, QuoInt) truncate
// toward zero. The zero value is 0.
type Dec struct{ i *big.Int }

func (d Dec) bi() *big.Int {
	if d.i == nil {
		return zeroInt
	}
	return d.i
}

func decOf(i *big.Int) Dec { return Dec{i: i} }

// NewDec returns the integer n as a Dec.
func NewDec(n uint64) Dec {
	return decOf(new(big.Int).Mul(new(big.Int).SetUint64(n), decScale))
}

// NewDecFrac returns num/den truncated; den 0 yields 0.
func NewDecFrac(num, den uint64) Dec {
	if den == 0 {
		return Dec{}
	}
	return NewDec(num).QuoInt(den)
}

// ParseDec parses a non-negative decimal such as "0.05" or "12". At most
// DecPrecision digits may follow the point.
func ParseDec(s string) (Dec, error) {
	if s == "" || len(s) > 100 {
		return Dec{}, fmt.Errorf("staking: decimal %q: bad length", s)
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (hasPoint && frac == "") || len(frac) > DecPrecision {
		return Dec{}, fmt.Errorf("staking: decimal %q: malformed", s)
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return Dec{}, fmt.Errorf("staking: decimal %q: malformed", s)
		}
	}
	digits := intPart + frac + strings.Repeat("0", DecPrecision-len(frac))
	i, ok := new(big.Int).SetString(digits, 10)
	if !ok || len(i.Bytes()) > maxDecBytes {
		return Dec{}, fmt.Errorf("staking: decimal %q: malformed", s)
	}
	return decOf(i), nil
}

// MustParseDec is ParseDec for constants in code and tests; it panics on a
// malformed literal, so never pass it input.
func MustParseDec(s string) Dec {
	d, err := ParseDec(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String returns the decimal with all DecPrecision fractional digits, as
// Cosmos SDK's LegacyDec does ("0.050000000000000000"). A negative value
// (only reachable through Sub misuse) is prefixed with "-".
func (d Dec) String() string {
	i := d.bi()
	sign := ""
	if i.Sign() < 0 {
		sign = "-"
		i = new(big.Int).Neg(i)
	}
	s := i.String()
	if len(s) <= DecPrecision {
		s = strings.Repeat("0", DecPrecision+1-len(s)) + s
	}
	return sign + s[:len(s)-DecPrecision] + "." + s[len(s)-DecPrecision:]
}

// MarshalText encodes the String form.
func (d Dec) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the form ParseDec accepts.
func (d *Dec) UnmarshalText(b []byte) error {
	v, err := ParseDec(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Add returns d+e.
func (d Dec) Add(e Dec) Dec { return decOf(new(big.Int).Add(d.bi(), e.bi())) }

// Sub returns d-e; callers keep the result non-negative.
func (d Dec) Sub(e Dec) Dec { return decOf(new(big.Int).Sub(d.bi(), e.bi())) }

// Mul returns d*e truncated.
func (d Dec) Mul(e Dec) Dec {
	p := new(big.Int).Mul(d.bi(), e.bi())
	return decOf(p.Quo(p, decScale))
}

// Quo returns d/e truncated; e 0 yields 0.
func (d Dec) Quo(e Dec) Dec {
	if e.bi().Sign() == 0 {
		return Dec{}
	}
	p := new(big.Int).Mul(d.bi(), decScale)
	return decOf(p.Quo(p, e.bi()))
}

// MulInt returns d*n (exact).
func (d Dec) MulInt(n uint64) Dec {
	return decOf(new(big.Int).Mul(d.bi(), new(big.Int).SetUint64(n)))
}

// QuoInt returns d/n truncated; n 0 yields 0.
func (d Dec) QuoInt(n uint64) Dec {
	if n == 0 {
		return Dec{}
	}
	return decOf(new(big.Int).Quo(d.bi(), new(big.Int).SetUint64(n)))
}

// Cmp compares d and e: -1, 0 or +1.
func (d Dec) Cmp(e Dec) int { return d.bi().Cmp(e.bi()) }

// IsZero reports whether d is 0.
func (d Dec) IsZero() bool { return d.bi().Sign() == 0 }

// IsNegative reports whether d < 0.
func (d Dec) IsNegative() bool { return d.bi().Sign() < 0 }

// Equal reports whether d == e.
func (d Dec) Equal(e Dec) bool { return d.Cmp(e) == 0 }

// TruncateInt returns the integer part of d, saturated to [0, MaxUint64].
func (d Dec) TruncateInt() uint64 {
	q := new(big.Int).Quo(d.bi(), decScale)
	if q.Sign() <= 0 {
		return 0
	}
	if !q.IsUint64() {
		return ^uint64(0)
	}
	return q.Uint64()
}

// minDec returns the smaller of a and b.
func minDec(a, b Dec) Dec {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

// mulQuo returns a*n/m, truncated or rounded up; m 0 yields 0.
func mulQuo(a Dec, n, m uint64, ceil bool) Dec {
	if m == 0 {
		return Dec{}
	}
	p := new(big.Int).Mul(a.bi(), new(big.Int).SetUint64(n))
	q, r := p.QuoRem(p, new(big.Int).SetUint64(m), new(big.Int))
	if ceil && r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return decOf(q)
}

// ratioInt returns floor(n*a/b) as an integer (saturated), b > 0; 0 when
// b is not positive.
func ratioInt(n uint64, a, b Dec) uint64 {
	if b.bi().Sign() <= 0 {
		return 0
	}
	p := new(big.Int).Mul(a.bi(), new(big.Int).SetUint64(n))
	p.Quo(p, b.bi())
	if p.Sign() < 0 {
		return 0
	}
	if !p.IsUint64() {
		return ^uint64(0)
	}
	return p.Uint64()
}

// ratioDec returns n*a/b as a Dec, truncated, b > 0; 0 otherwise.
func ratioDec(n uint64, a, b Dec) Dec {
	if b.bi().Sign() <= 0 {
		return Dec{}
	}
	p := new(big.Int).Mul(a.bi(), new(big.Int).SetUint64(n))
	p.Mul(p, decScale)
	return decOf(p.Quo(p, b.bi()))
}
