package exchange

// White-box tests of the wire decoders (fuzzed) and of the server's
// per-peer limits, which are the point here and need a fake clock.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []request{{head: true}, {hash: bytes.Repeat([]byte{7}, 32)}, {from: 1, amount: 1}, {from: 1 << 40, amount: 64}} {
		got, err := unmarshalRequest(r.marshal())
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if got.String() != r.String() {
			t.Errorf("got %v, want %v", got, r)
		}
	}
	for _, r := range []request{{}, {from: 1, amount: 0}, {from: 0, amount: 1}, {from: 1, amount: 65}, {from: ^uint64(0), amount: 2}, {hash: []byte{1, 2}}} {
		if _, err := unmarshalRequest(r.marshal()); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%+v: got %v, want ErrInvalidMessage", r, err)
		}
	}
}

// FuzzUnmarshalRequest decodes arbitrary bytes as a request; what decodes
// must be valid and survive re-encoding. Seeds: testdata/fuzz, written by
// TestWriteFuzzSeeds.
func FuzzUnmarshalRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := unmarshalRequest(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		again, err := unmarshalRequest(r.marshal())
		if err != nil {
			t.Fatalf("re-encoded %v: %v", r, err)
		}
		if again.String() != r.String() {
			t.Fatalf("re-encoding changed %v to %v", r, again)
		}
	})
}

// FuzzReadResponse reads arbitrary bytes as the response stream to a
// request for want%65 headers: it must fail with ErrInvalidResponse or
// return at most want headers (exactly want with status OK).
func FuzzReadResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, want byte) {
		n := int(want % (MaxHeadersPerRequest + 1))
		resp, err := readResponse(bufio.NewReader(bytes.NewReader(b)), &network.NullScope{}, n)
		if err != nil {
			if !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("error %v does not wrap ErrInvalidResponse", err)
			}
			return
		}
		if len(resp.headers) > n || resp.status == StatusOK && len(resp.headers) != n || resp.status == 0 {
			t.Fatalf("%d headers, status %v, for %d asked", len(resp.headers), resp.status, n)
		}
	})
}

// TestWriteFuzzSeeds regenerates the seed corpora when
// HEADEREX_WRITE_FUZZ_SEEDS=1; otherwise it checks they are current.
func TestWriteFuzzSeeds(t *testing.T) {
	var seeds []fuzzcorpus.Seed
	add := func(target, name string, args ...any) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: target, Name: name, Args: args})
	}
	add("FuzzUnmarshalRequest", "head", request{head: true}.marshal())
	add("FuzzUnmarshalRequest", "range", request{from: 100, amount: 64}.marshal())
	add("FuzzUnmarshalRequest", "hash", request{hash: bytes.Repeat([]byte{0xAB}, 32)}.marshal())
	add("FuzzUnmarshalRequest", "two_kinds", append(request{head: true}.marshal(), request{from: 1, amount: 1}.marshal()...))
	add("FuzzUnmarshalRequest", "overflow", request{from: ^uint64(0) - 1, amount: 64}.marshal())

	hs := headertest.NewGenerator(headertest.Options{Seed: 12, Validators: 2, Blobs: 1, MaxBlobSize: 50, StartTime: time.Unix(1_700_000_000, 0)}).Chain(t, 2)
	var two []byte
	for _, h := range hs {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		two = append(two, frame(marshalResponse(StatusOK, b))...)
	}
	notFound := frame(marshalResponse(StatusNotFound, nil))
	add("FuzzReadResponse", "two_headers", two, byte(2))
	add("FuzzReadResponse", "partial", append(bytes.Clone(two), notFound...), byte(5))
	add("FuzzReadResponse", "not_found", notFound, byte(1))
	add("FuzzReadResponse", "rate_limited", frame(marshalResponse(StatusRateLimited, nil)), byte(64))
	add("FuzzReadResponse", "too_many", two, byte(1))
	add("FuzzReadResponse", "oversized_prefix", binary.AppendUvarint(nil, 1<<40), byte(1))

	if os.Getenv("HEADEREX_WRITE_FUZZ_SEEDS") == "1" {
		fuzzcorpus.Write(t, seeds, true)
		return
	}
	fuzzcorpus.Check(t, seeds, "HEADEREX_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./header/exchange")
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Status]string{StatusOK: "OK", StatusRateLimited: "RATE_LIMITED", StatusInternal: "INTERNAL", 9: "Status(9)"} {
		if got := fmt.Sprint(st); got != want {
			t.Errorf("%d: %q, want %q", uint32(st), got, want)
		}
	}
}
