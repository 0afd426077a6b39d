package celestia_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/celestiaorg/celestia-node/api/rpc/client"
	"github.com/celestiaorg/celestia-node/header"
)

// verifyHeader checks eh with Celestia's ExtendedHeader code. Validate must
// fail on one rule only, the one DataMesh's design breaks on purpose (the
// data root is committed in the data root transaction, not as the CometBFT
// header's DataHash: docs/api.md); every other rule Validate applies is then
// checked one by one: the commit signs this header and its validators (2/3+
// of the set's power), the set hashes to the header's, and the DAH is
// well formed.
func verifyHeader(t *testing.T, eh *header.ExtendedHeader) {
	t.Helper()
	if eh == nil || eh.Commit == nil || eh.ValidatorSet == nil || eh.DAH == nil {
		t.Fatalf("header %+v: missing part", eh)
	}
	err := eh.Validate()
	if err == nil {
		t.Fatalf("height %d: Validate passed, so DataHash equals the data root: update docs/api.md's design differences", eh.Height())
	}
	if !strings.Contains(err.Error(), "mismatch between data hash commitment from core header and computed data root") {
		t.Fatalf("height %d: Validate: %v (want only the DataHash difference)", eh.Height(), err)
	}
	if err := eh.RawHeader.ValidateBasic(); err != nil {
		t.Fatalf("height %d: header ValidateBasic: %v", eh.Height(), err)
	}
	if err := eh.Commit.ValidateBasic(); err != nil {
		t.Fatalf("height %d: commit ValidateBasic: %v", eh.Height(), err)
	}
	if err := eh.ValidatorSet.ValidateBasic(); err != nil {
		t.Fatalf("height %d: validator set ValidateBasic: %v", eh.Height(), err)
	}
	if !bytes.Equal(eh.ValidatorSet.Hash(), eh.ValidatorsHash) {
		t.Fatalf("height %d: validator set hash %X, header says %X", eh.Height(), eh.ValidatorSet.Hash(), eh.ValidatorsHash)
	}
	if eh.Commit.Height != eh.RawHeader.Height || !bytes.Equal(eh.RawHeader.Hash(), eh.Commit.BlockID.Hash) {
		t.Fatalf("height %d: commit is for %d/%X", eh.Height(), eh.Commit.Height, eh.Commit.BlockID.Hash)
	}
	if err := eh.ValidatorSet.VerifyCommitLight(eh.ChainID(), eh.Commit.BlockID, int64(eh.Height()), eh.Commit); err != nil {
		t.Fatalf("height %d: VerifyCommitLight: %v", eh.Height(), err)
	}
	if err := eh.DAH.ValidateBasic(); err != nil {
		t.Fatalf("height %d: DAH ValidateBasic: %v", eh.Height(), err)
	}
	if eh.ChainID() != dn.ChainID {
		t.Fatalf("height %d: chain %q, devnet is %q", eh.Height(), eh.ChainID(), dn.ChainID)
	}
}

func TestHeaderModule(t *testing.T) {
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		local, err := c.Header.LocalHead(ctx)
		if err != nil {
			t.Fatalf("LocalHead: %v", err)
		}
		verifyHeader(t, local)
		if local.Height() < 3 {
			// Wait for a few blocks so ranges have something to cover.
			if local, err = c.Header.WaitForHeight(ctx, 3); err != nil {
				t.Fatalf("WaitForHeight(3): %v", err)
			}
			verifyHeader(t, local)
		}

		netHead, err := c.Header.NetworkHead(ctx)
		if err != nil {
			t.Fatalf("NetworkHead: %v", err)
		}
		verifyHeader(t, netHead)
		if netHead.Height() < local.Height() {
			t.Fatalf("NetworkHead %d below LocalHead %d", netHead.Height(), local.Height())
		}

		byHeight, err := c.Header.GetByHeight(ctx, local.Height())
		if err != nil {
			t.Fatalf("GetByHeight(%d): %v", local.Height(), err)
		}
		verifyHeader(t, byHeight)
		if !bytes.Equal(byHeight.Hash(), local.Hash()) {
			t.Fatalf("GetByHeight(%d) = %X, LocalHead was %X", local.Height(), byHeight.Hash(), local.Hash())
		}

		byHash, err := c.Header.GetByHash(ctx, local.Hash())
		if err != nil {
			t.Fatalf("GetByHash: %v", err)
		}
		if byHash.Height() != local.Height() || !bytes.Equal(byHash.Hash(), local.Hash()) {
			t.Fatalf("GetByHash(%X) = height %d", local.Hash(), byHash.Height())
		}

		// The client sends `from` as Celestia's header, without our data
		// root transaction and proof.
		from, err := c.Header.GetByHeight(ctx, local.Height()-2)
		if err != nil {
			t.Fatalf("GetByHeight(%d): %v", local.Height()-2, err)
		}
		rng, err := c.Header.GetRangeByHeight(ctx, from, local.Height()+1)
		if err != nil {
			t.Fatalf("GetRangeByHeight(%d, %d): %v", from.Height(), local.Height()+1, err)
		}
		if len(rng) != 2 {
			t.Fatalf("GetRangeByHeight(%d, %d): %d headers, want 2", from.Height(), local.Height()+1, len(rng))
		}
		prev := from
		for _, h := range rng {
			verifyHeader(t, h)
			if err := prev.Verify(h); err != nil {
				t.Fatalf("range header %d does not verify against %d (Celestia's adjacent verification): %v", h.Height(), prev.Height(), err)
			}
			prev = h
		}
		if !bytes.Equal(prev.Hash(), local.Hash()) {
			t.Fatalf("range ends at %X, want %X", prev.Hash(), local.Hash())
		}

		next, err := c.Header.WaitForHeight(ctx, netHead.Height()+1)
		if err != nil {
			t.Fatalf("WaitForHeight(%d): %v", netHead.Height()+1, err)
		}
		verifyHeader(t, next)
		if next.Height() != netHead.Height()+1 {
			t.Fatalf("WaitForHeight(%d) = %d", netHead.Height()+1, next.Height())
		}

		tailH, err := c.Header.Tail(ctx)
		if err != nil {
			t.Fatalf("Tail: %v", err)
		}
		verifyHeader(t, tailH)
		if tailH.Height() < 1 || tailH.Height() > local.Height() {
			t.Fatalf("Tail at %d, local head %d", tailH.Height(), local.Height())
		}

		state, err := c.Header.SyncState(ctx)
		if err != nil {
			t.Fatalf("SyncState: %v", err)
		}
		if mode != "bridge" && state.Height < local.Height() {
			t.Fatalf("SyncState.Height %d below LocalHead %d", state.Height, local.Height())
		}
		if err := c.Header.SyncWait(ctx); err != nil {
			t.Fatalf("SyncWait: %v", err)
		}
	})
}

// TestHeaderSubscribe takes two consecutive headers from header.Subscribe
// over WebSocket (go-jsonrpc's channels need it) on every mode.
func TestHeaderSubscribe(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t)
			c := newClient(t, mode, "ws")
			sub, err := c.Header.Subscribe(ctx)
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			var prev *header.ExtendedHeader
			for i := 0; i < 2; i++ {
				select {
				case h, ok := <-sub:
					if !ok {
						t.Fatal("subscription closed")
					}
					verifyHeader(t, h)
					if prev != nil {
						if err := prev.Verify(h); err != nil {
							t.Fatalf("header %d does not verify against %d: %v", h.Height(), prev.Height(), err)
						}
					}
					prev = h
				case <-ctx.Done():
					t.Fatal(ctx.Err())
				}
			}
		})
	}
}
