package header_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"
	cmtmath "github.com/cometbft/cometbft/libs/math"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// now is a time at which every header of a fresh chain is trusted.
func now(chain []*header.ExtendedHeader) time.Time {
	return chain[len(chain)-1].Time().Add(time.Minute)
}

func TestValidChainValidatesAndVerifies(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 1}).Chain(t, 8)
	opts := header.VerifyOptions{Now: now(chain)}
	for i, h := range chain {
		if err := h.Validate(); err != nil {
			t.Fatalf("header %d: Validate: %v", i, err)
		}
		if h.Height() != uint64(i+1) || h.ChainID() != "test-chain" || len(h.Hash()) != 32 {
			t.Fatalf("header %d: height %d chain %q hash %x", i, h.Height(), h.ChainID(), h.Hash())
		}
		if i > 0 {
			if err := header.Verify(chain[i-1], h, opts); err != nil {
				t.Fatalf("adjacent %d->%d: %v", i, i+1, err)
			}
			if err := header.VerifyAdjacent(chain[i-1], h, opts); err != nil {
				t.Fatalf("VerifyAdjacent %d->%d: %v", i, i+1, err)
			}
			if err := header.Verify(chain[0], h, opts); err != nil {
				t.Fatalf("from the first header to %d: %v", i+1, err)
			}
		}
	}
}

func TestVerifyAcrossValidatorRotation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change headertest.ValidatorChange
		want   error
	}{
		{"half kept", headertest.ValidatorChange{Keep: 2, Add: 2}, nil},
		{"a quarter kept", headertest.ValidatorChange{Keep: 1, Add: 3}, header.ErrNotEnoughTrust},
		{"all replaced", headertest.ValidatorChange{Keep: 0, Add: 4}, header.ErrNotEnoughTrust},
		{"grown", headertest.ValidatorChange{Keep: 4, Add: 4}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := headertest.NewGenerator(headertest.Options{Changes: map[int64]headertest.ValidatorChange{5: tc.change}})
			chain := g.Chain(t, 8)
			opts := header.VerifyOptions{Now: now(chain)}
			// Sequential verification always works: each step is adjacent.
			for i := 1; i < len(chain); i++ {
				if err := header.Verify(chain[i-1], chain[i], opts); err != nil {
					t.Fatalf("adjacent %d: %v", i+1, err)
				}
			}
			if bytes.Equal(chain[3].RawHeader.ValidatorsHash, chain[4].RawHeader.ValidatorsHash) {
				t.Fatal("the validator set did not change at height 5")
			}
			if !bytes.Equal(chain[3].RawHeader.NextValidatorsHash, chain[4].RawHeader.ValidatorsHash) {
				t.Fatal("height 4 does not announce the set of height 5")
			}
			// Skipping from height 2 (old set) to 7 (new set).
			err := header.Verify(chain[1], chain[6], opts)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("skipping 2->7: got %v, want %v", err, tc.want)
			}
			// Asking for more than 3/4 of the trusted power fails unless
			// every trusted validator is still there.
			opts.TrustLevel = cmtmath.Fraction{Numerator: 3, Denominator: 4}
			err = header.Verify(chain[1], chain[6], opts)
			if tc.change.Keep == 4 {
				if err != nil {
					t.Fatalf("trust level 3/4, all kept: %v", err)
				}
			} else if !errors.Is(err, header.ErrNotEnoughTrust) {
				t.Fatalf("trust level 3/4: got %v", err)
			}
		})
	}
}

func TestForgeriesRejectedWithTheirOwnError(t *testing.T) {
	g := headertest.NewGenerator(headertest.Options{Seed: 2})
	chain := g.Chain(t, 5)
	other := headertest.NewGenerator(headertest.Options{Seed: 3, ChainID: "other-chain"}).Chain(t, 5)
	trusted, good := chain[2], chain[3]
	opts := header.VerifyOptions{Now: now(chain)}
	if err := header.Verify(trusted, good, opts); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		forge func(h *header.ExtendedHeader) *header.ExtendedHeader
		want  error
	}{
		{"signature", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.Commit.Signatures[0].Signature[5] ^= 1
			return h
		}, header.ErrInvalidCommit},
		{"last signature", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			last := len(h.Commit.Signatures) - 1
			h.Commit.Signatures[last].Signature[5] ^= 1
			return h
		}, header.ErrInvalidCommit},
		{"too few signatures", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			for i := 0; i < 2; i++ {
				h.Commit.Signatures[i] = cmttypes.NewCommitSigAbsent()
			}
			return h
		}, header.ErrInvalidCommit},
		{"validator set", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.ValidatorSet = other[3].ValidatorSet
			return h
		}, header.ErrValidatorSetMismatch},
		{"validator power", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			vals := h.ValidatorSet.Copy()
			vals.Validators[0].VotingPower++
			h.ValidatorSet = cmttypes.NewValidatorSet(vals.Validators)
			return h
		}, header.ErrValidatorSetMismatch},
		{"DAH of another block", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.DAH = chain[1].DAH
			return h
		}, header.ErrDAHMismatch},
		{"data root proof of another block", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.DataRootTx, h.DataRootProof = chain[1].DataRootTx, chain[1].DataRootProof
			return h
		}, header.ErrInvalidDataRootProof},
		{"data root proof of another block, own tx", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.DataRootProof = chain[1].DataRootProof
			return h
		}, header.ErrInvalidDataRootProof},
		{"proof of a transaction not last", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.DataRootProof.Total++
			return h
		}, header.ErrInvalidDataRootProof},
		{"data root tx changed", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.DataRootTx[len(h.DataRootTx)-1] ^= 1
			return h
		}, header.ErrInvalidDataRootProof},
		{"missing proof", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.DataRootProof = cmtmerkle.Proof{}
			return h
		}, header.ErrInvalidDataRootProof},
		{"header field", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.RawHeader.AppHash[0] ^= 1 // the commit is for the original block
			return h
		}, header.ErrInvalidHeader},
		{"height relabelled", func(h *header.ExtendedHeader) *header.ExtendedHeader {
			h.RawHeader.Height++ // a gap for VerifyAdjacent, before signatures are checked
			return h
		}, header.ErrHeightGap},
		{"height gap", func(*header.ExtendedHeader) *header.ExtendedHeader {
			return chain[4]
		}, header.ErrHeightGap},
		{"backwards", func(*header.ExtendedHeader) *header.ExtendedHeader {
			return chain[1]
		}, header.ErrNonIncreasingHeight},
		{"same height", func(*header.ExtendedHeader) *header.ExtendedHeader {
			return chain[2]
		}, header.ErrNonIncreasingHeight},
		{"another chain ID", func(*header.ExtendedHeader) *header.ExtendedHeader {
			return other[3]
		}, header.ErrChainIDMismatch},
		{"next validators", func(*header.ExtendedHeader) *header.ExtendedHeader {
			// A valid header of height 4 signed by another set: adjacent
			// headers must be signed by the trusted NextValidatorsHash.
			g2 := headertest.NewGenerator(headertest.Options{Seed: 4, StartHeight: 4, StartTime: good.Time()})
			return g2.Must(t)
		}, header.ErrValidatorSetMismatch},
		{"nil", func(*header.ExtendedHeader) *header.ExtendedHeader { return nil }, header.ErrInvalidHeader},
		{"no commit", func(h *header.ExtendedHeader) *header.ExtendedHeader { h.Commit = nil; return h }, header.ErrInvalidHeader},
		{"no DAH", func(h *header.ExtendedHeader) *header.ExtendedHeader { h.DAH = nil; return h }, header.ErrInvalidHeader},
		{"no validators", func(h *header.ExtendedHeader) *header.ExtendedHeader { h.ValidatorSet = nil; return h }, header.ErrInvalidHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forged := tc.forge(headertest.Clone(t, good))
			err := header.VerifyAdjacent(trusted, forged, opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, other := range allSentinels {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			// The same forgery, verified across a gap from height 1.
			want := tc.want
			switch tc.name {
			case "height gap", "height relabelled", "backwards", "same height":
				return // about adjacency itself
			case "next validators":
				want = header.ErrNotEnoughTrust // no trusted validator signed it
			}
			if err := header.Verify(chain[0], forged, opts); !errors.Is(err, want) {
				t.Errorf("non-adjacent: got %v, want %v", err, want)
			}
		})
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("a forgery modified the fixture: %v", err)
	}
	// Validate alone names the relabelled height, and Verify across a gap.
	relabelled := headertest.Clone(t, good)
	relabelled.RawHeader.Height++
	if err := relabelled.Validate(); !errors.Is(err, header.ErrInvalidHeader) {
		t.Errorf("Validate of a relabelled height: %v", err)
	}
	if err := header.Verify(chain[1], relabelled, opts); !errors.Is(err, header.ErrInvalidHeader) {
		t.Errorf("Verify of a relabelled height: %v", err)
	}
}

var allSentinels = []error{
	header.ErrInvalidHeader, header.ErrValidatorSetMismatch, header.ErrInvalidCommit,
	header.ErrInvalidDataRootProof, header.ErrDAHMismatch, header.ErrChainIDMismatch,
	header.ErrNonIncreasingHeight, header.ErrHeightGap, header.ErrNotAdjacent,
	header.ErrExpiredTrust, header.ErrFromFuture, header.ErrNotEnoughTrust,
	header.ErrInvalidVerifyOptions,
}

func TestVerifyTime(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	chain := headertest.NewGenerator(headertest.Options{StartTime: start, BlockTime: time.Minute}).Chain(t, 4)
	for _, tc := range []struct {
		name    string
		opts    header.VerifyOptions
		to      int
		want    error
		wantNil bool
	}{
		{name: "within trusting period", opts: header.VerifyOptions{Now: start.Add(13 * 24 * time.Hour)}, to: 1, wantNil: true},
		{name: "expired trusting period", opts: header.VerifyOptions{Now: start.Add(14*24*time.Hour + time.Second)}, to: 1, want: header.ErrExpiredTrust},
		{name: "expired non-adjacent", opts: header.VerifyOptions{Now: start.Add(15 * 24 * time.Hour)}, to: 3, want: header.ErrExpiredTrust},
		{name: "short trusting period", opts: header.VerifyOptions{Now: start.Add(time.Hour), TrustingPeriod: time.Minute}, to: 1, want: header.ErrExpiredTrust},
		{name: "from the future", opts: header.VerifyOptions{Now: start}, to: 1, want: header.ErrFromFuture},
		{name: "within drift", opts: header.VerifyOptions{Now: start, MaxClockDrift: 2 * time.Minute}, to: 1, wantNil: true},
		{name: "beyond drift", opts: header.VerifyOptions{Now: start, MaxClockDrift: 2 * time.Minute}, to: 3, want: header.ErrFromFuture},
		{name: "exactly at the drift", opts: header.VerifyOptions{Now: start, MaxClockDrift: time.Minute}, to: 1, want: header.ErrFromFuture},
		{name: "expires exactly now", opts: header.VerifyOptions{Now: start.Add(14 * 24 * time.Hour)}, to: 1, want: header.ErrExpiredTrust},
		{name: "negative drift", opts: header.VerifyOptions{Now: start.Add(time.Hour), MaxClockDrift: -time.Second}, to: 1, want: header.ErrInvalidVerifyOptions},
		{name: "trust level below 1/3", opts: header.VerifyOptions{Now: start.Add(time.Hour), TrustLevel: cmtmath.Fraction{Numerator: 1, Denominator: 4}}, to: 3, want: header.ErrInvalidVerifyOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := header.Verify(chain[0], chain[tc.to], tc.opts)
			if tc.wantNil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMakeExtendedHeader(t *testing.T) {
	h := headertest.NewGenerator(headertest.Options{Seed: 12}).Chain(t, 1)[0]
	drt := cmttypes.Tx(h.DataRootTx)
	for name, tc := range map[string]struct {
		txs  cmttypes.Txs
		want error
	}{
		"no transactions":       {nil, header.ErrInvalidDataRootProof},
		"data root tx not last": {cmttypes.Txs{drt, cmttypes.Tx("x")}, header.ErrInvalidDataRootProof},
		"other transactions":    {cmttypes.Txs{cmttypes.Tx("x"), drt}, header.ErrInvalidDataRootProof},
	} {
		if _, err := header.MakeExtendedHeader(&h.RawHeader, tc.txs, h.Commit, h.ValidatorSet, h.DAH); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	if _, err := header.MakeExtendedHeader(nil, nil, nil, nil, nil); !errors.Is(err, header.ErrInvalidHeader) {
		t.Errorf("nil header: %v", err)
	}
}

// Blocks a faulty majority signed: the signatures are genuine, the data
// commitment is not.
func TestByzantineBlocksRejected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(txs cmttypes.Txs) cmttypes.Txs
		want    error
	}{
		{"data root tx not last", func(txs cmttypes.Txs) cmttypes.Txs {
			return append(txs, cmttypes.Tx("a transaction after the data root"))
		}, header.ErrInvalidDataRootProof},
		{"data root of another square", func(txs cmttypes.Txs) cmttypes.Txs {
			d, err := header.UnmarshalDataRootTx(txs[len(txs)-1])
			if err != nil {
				t.Fatal(err)
			}
			d.DataRoot[0] ^= 1
			b, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			txs[len(txs)-1] = b
			return txs
		}, header.ErrDAHMismatch},
		{"square size", func(txs cmttypes.Txs) cmttypes.Txs {
			d, _ := header.UnmarshalDataRootTx(txs[len(txs)-1])
			d.SquareSize *= 2
			txs[len(txs)-1], _ = d.Marshal()
			return txs
		}, header.ErrDAHMismatch},
		{"no data root tx", func(txs cmttypes.Txs) cmttypes.Txs {
			return txs[:len(txs)-1]
		}, header.ErrInvalidDataRootProof},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := headertest.NewGenerator(headertest.Options{Byzantine: func(height int64, txs cmttypes.Txs) cmttypes.Txs {
				if height == 3 {
					return tc.rewrite(txs)
				}
				return txs
			}})
			chain := g.Chain(t, 4)
			for i, h := range chain {
				err := h.Validate()
				if i == 2 {
					if !errors.Is(err, tc.want) {
						t.Fatalf("height 3: got %v, want %v", err, tc.want)
					}
					continue
				}
				if err != nil {
					t.Fatalf("height %d: %v", i+1, err)
				}
			}
			opts := header.VerifyOptions{Now: now(chain)}
			if err := header.Verify(chain[1], chain[2], opts); !errors.Is(err, tc.want) {
				t.Fatalf("Verify: got %v, want %v", err, tc.want)
			}
			if err := header.Verify(chain[1], chain[3], opts); err != nil {
				t.Fatalf("the chain goes on: %v", err)
			}
		})
	}
}

// TestMakeExtendedHeaderWithProof: the block's own proof gives the header
// MakeExtendedHeader gives; a proof of another transaction, or of the data
// root transaction under other transactions, is refused.
func TestMakeExtendedHeaderWithProof(t *testing.T) {
	var txs cmttypes.Txs
	h := headertest.NewGenerator(headertest.Options{Seed: 12, Blobs: 2,
		Byzantine: func(_ int64, in cmttypes.Txs) cmttypes.Txs { txs = in; return in }}).Chain(t, 1)[0]
	if len(txs) < 2 {
		t.Fatalf("%d transactions, want blobs and the data root transaction", len(txs))
	}
	last := len(txs) - 1
	want, err := header.MakeExtendedHeader(&h.RawHeader, txs, h.Commit, h.ValidatorSet, h.DAH)
	if err != nil {
		t.Fatal(err)
	}
	got, err := header.MakeExtendedHeaderWithProof(&h.RawHeader, txs.Proof(last), h.Commit, h.ValidatorSet, h.DAH)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.DataRootTx, want.DataRootTx) || got.DataRootProof.Index != want.DataRootProof.Index ||
		!bytes.Equal(got.DataRootProof.LeafHash, want.DataRootProof.LeafHash) || len(got.DataRootProof.Aunts) != len(want.DataRootProof.Aunts) {
		t.Fatal("the header differs from MakeExtendedHeader's")
	}
	if _, err := header.MakeExtendedHeaderWithProof(&h.RawHeader, txs.Proof(0), h.Commit, h.ValidatorSet, h.DAH); !errors.Is(err, header.ErrInvalidDataRootProof) {
		t.Errorf("proof of the first transaction: %v", err)
	}
	other := append(cmttypes.Txs{cmttypes.Tx("x")}, txs...)
	if _, err := header.MakeExtendedHeaderWithProof(&h.RawHeader, other.Proof(len(other)-1), h.Commit, h.ValidatorSet, h.DAH); !errors.Is(err, header.ErrInvalidDataRootProof) {
		t.Errorf("proof under other transactions: %v", err)
	}
	if _, err := header.MakeExtendedHeaderWithProof(nil, txs.Proof(last), nil, nil, nil); !errors.Is(err, header.ErrInvalidHeader) {
		t.Errorf("nil header: %v", err)
	}
}
