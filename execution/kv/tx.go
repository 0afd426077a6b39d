package kv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits of a transaction and of a query. They are part of the state
// machine: a transaction over a limit fails the same way on every node.
const (
	// MaxKeySize is the most bytes a key has (UTF-8, after JSON unescaping).
	MaxKeySize = 256
	// MaxValueSize is the most bytes a value has.
	MaxValueSize = 4096
	// MaxTxSize is the most bytes of an encoded transaction or query, the
	// JSON as sent: room for a key and a value of the largest sizes
	// written with escapes.
	MaxTxSize = 16 << 10
)

// The transaction and query types.
const (
	TypeSet    = "set"    // sets Key to Value
	TypeDelete = "delete" // removes Key; deleting a missing key is no change
	TypeGet    = "get"    // a query: Key's value with its proof
)

// ErrInvalidTx is wrapped by every error of DecodeTx, DecodeQuery and
// Tx.Marshal.
var ErrInvalidTx = errors.New("kv: invalid transaction")

// Tx is a transaction of the key-value machine, in JSON
// {"type":"set","key":"foo","value":"bar"} or {"type":"delete","key":"foo"}.
type Tx struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Query asks for a key's value: {"type":"get","key":"foo"}.
type Query struct {
	Type string `json:"type"`
	Key  string `json:"key"`
}

// Marshal checks tx as DecodeTx does and returns its JSON, which DecodeTx
// reads back to tx. Errors wrap ErrInvalidTx.
func (tx Tx) Marshal() ([]byte, error) {
	if err := tx.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(tx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidTx, len(b), MaxTxSize)
	}
	return b, nil
}

func (tx Tx) validate() error {
	if err := checkKey(tx.Key); err != nil {
		return err
	}
	switch tx.Type {
	case TypeSet:
		if tx.Value == "" {
			return fmt.Errorf("%w: set with an empty value (delete the key instead)", ErrInvalidTx)
		}
		if len(tx.Value) > MaxValueSize {
			return fmt.Errorf("%w: value of %d bytes, at most %d", ErrInvalidTx, len(tx.Value), MaxValueSize)
		}
		if !utf8.ValidString(tx.Value) {
			return fmt.Errorf("%w: value is not UTF-8", ErrInvalidTx)
		}
	case TypeDelete:
		if tx.Value != "" {
			return fmt.Errorf("%w: delete with a value", ErrInvalidTx)
		}
	default:
		return fmt.Errorf("%w: type %q, want %q or %q", ErrInvalidTx, tx.Type, TypeSet, TypeDelete)
	}
	return nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidTx)
	case len(key) > MaxKeySize:
		return fmt.Errorf("%w: key of %d bytes, at most %d", ErrInvalidTx, len(key), MaxKeySize)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not UTF-8", ErrInvalidTx)
	}
	return nil
}

// DecodeTx reads a transaction strictly: at most MaxTxSize bytes of UTF-8
// holding one JSON object whose members are strings named type, key and
// value, each at most once, and nothing after it; type "set" with a
// non-empty value, or "delete" without one; a non-empty key. Errors wrap
// ErrInvalidTx and say what is wrong. It never panics.
func DecodeTx(b []byte) (Tx, error) {
	m, err := decodeObject(b, "type", "key", "value")
	if err != nil {
		return Tx{}, err
	}
	tx := Tx{Type: m["type"], Key: m["key"], Value: m["value"]}
	if _, ok := m["value"]; ok && tx.Type == TypeSet && tx.Value == "" {
		return Tx{}, fmt.Errorf("%w: set with an empty value (delete the key instead)", ErrInvalidTx)
	}
	if _, ok := m["value"]; ok && tx.Type == TypeDelete {
		return Tx{}, fmt.Errorf("%w: delete with a value", ErrInvalidTx)
	}
	if err := tx.validate(); err != nil {
		return Tx{}, err
	}
	return tx, nil
}

// DecodeQuery reads a query as DecodeTx reads a transaction: one JSON
// object with the string members type ("get") and key (non-empty, at
// most MaxKeySize bytes). Errors wrap ErrInvalidTx.
func DecodeQuery(b []byte) (Query, error) {
	m, err := decodeObject(b, "type", "key")
	if err != nil {
		return Query{}, err
	}
	q := Query{Type: m["type"], Key: m["key"]}
	if q.Type != TypeGet {
		return Query{}, fmt.Errorf("%w: query type %q, want %q", ErrInvalidTx, q.Type, TypeGet)
	}
	if err := checkKey(q.Key); err != nil {
		return Query{}, err
	}
	return q, nil
}

// decodeObject reads b as one JSON object of string members named in
// fields, each at most once. encoding/json would replace bytes that are
// not UTF-8 with U+FFFD, keep the last of repeated members and accept
// trailing data; this rejects all three.
func decodeObject(b []byte, fields ...string) (map[string]string, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidTx)
	}
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidTx, len(b), MaxTxSize)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrInvalidTx)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidTx)
	}
	m := make(map[string]string, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidTx, err)
		}
		name, _ := tok.(string) // an object's member names are strings
		known := false
		for _, f := range fields {
			known = known || f == name
		}
		if !known {
			return nil, fmt.Errorf("%w: unknown field %q", ErrInvalidTx, name)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("%w: field %q given twice", ErrInvalidTx, name)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: field %q: %w", ErrInvalidTx, name, err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: field %q is not a string", ErrInvalidTx, name)
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrInvalidTx)
	}
	return m, nil
}
