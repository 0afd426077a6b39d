package validator_test

import (
	"os"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/share"
)

// TestBlockMaxBytes checks CometBFT's block max_bytes against the share
// bytes of a full square: CometBFT's default up to 128, which a 128
// square's 8 MiB fit; room for a full square of 256 (32 MiB); CometBFT's
// hard limit at 512, below a full square's 128 MiB.
func TestBlockMaxBytes(t *testing.T) {
	def := cmttypes.DefaultBlockParams().MaxBytes
	for _, c := range []struct {
		k    int
		want int64
	}{
		{1, def},
		{64, def},
		{128, def},
		{256, 256*256*share.ShareSize*5/4 + 1<<20},
		{512, cmttypes.MaxBlockSizeBytes},
	} {
		got := validator.BlockMaxBytes(c.k)
		if got != c.want {
			t.Errorf("BlockMaxBytes(%d) = %d, want %d", c.k, got, c.want)
		}
		if full := int64(c.k * c.k * share.ShareSize); c.k < 512 && got < full {
			t.Errorf("BlockMaxBytes(%d) = %d, below a full square's %d share bytes", c.k, got, full)
		}
	}
}

// TestInitMaxSquareSize checks that Init writes MaxSquareSize into the
// genesis params and block max_bytes to match, and refuses a width that is
// not a power of two up to 512, or a blob size out of range, before
// writing anything.
func TestInitMaxSquareSize(t *testing.T) {
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "sq", Moniker: "m", BlockTime: time.Second, MaxSquareSize: 256}); err != nil {
		t.Fatal(err)
	}
	doc, g := readGenesis(t, home)
	if g.Params.MaxSquareSize != 256 {
		t.Errorf("genesis max_square_size %d, want 256", g.Params.MaxSquareSize)
	}
	if got, want := doc.ConsensusParams.Block.MaxBytes, validator.BlockMaxBytes(256); got != want {
		t.Errorf("genesis block max_bytes %d, want %d", got, want)
	}

	for _, bad := range []validator.InitOptions{{MaxSquareSize: -1}, {MaxSquareSize: 3}, {MaxSquareSize: 100}, {MaxSquareSize: 1024},
		{MaxBlobSize: -1}, {MaxBlobSize: share.MaxBlobSize + 1}} {
		home := t.TempDir()
		o := bad
		o.ChainID, o.Moniker, o.BlockTime = "sq", "m", time.Second
		if _, err := validator.Init(home, o); err == nil {
			t.Errorf("square %d, blob %d: accepted", bad.MaxSquareSize, bad.MaxBlobSize)
		}
		if entries, err := os.ReadDir(home); err != nil || len(entries) != 0 {
			t.Errorf("square %d, blob %d: the refused Init left %v (%v)", bad.MaxSquareSize, bad.MaxBlobSize, entries, err)
		}
	}
}

// TestTimeoutProposeBySquare checks timeout_propose in new homes: CometBFT's
// default 3 s up to squares of 128, plus 20 ms per 64 KiB block part of a
// full square beyond 128 parts; a testnet's sub-second blocks scale the
// default part only.
func TestTimeoutProposeBySquare(t *testing.T) {
	for _, c := range []struct {
		k    int
		want time.Duration
	}{
		{64, 3 * time.Second},
		{128, 3 * time.Second},
		{256, 3*time.Second + (512-128)*20*time.Millisecond},
		{512, 3*time.Second + (2048-128)*20*time.Millisecond},
	} {
		home := t.TempDir()
		if _, err := validator.Init(home, validator.InitOptions{ChainID: "tp", Moniker: "m", BlockTime: time.Second, MaxSquareSize: c.k}); err != nil {
			t.Fatal(err)
		}
		conf, err := validator.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		if got := conf.Consensus.TimeoutPropose; got != c.want {
			t.Errorf("k = %d: timeout_propose %s, want %s", c.k, got, c.want)
		}
	}

	nodes, err := validator.Testnet(t.TempDir()+"/net", validator.TestnetOptions{Validators: 2, ChainID: "tn", BlockTime: 250 * time.Millisecond,
		BasePort: 40000, Balance: 1, MaxSquareSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := validator.LoadConfig(nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := conf.Consensus.TimeoutPropose, 750*time.Millisecond+(512-128)*20*time.Millisecond; got != want {
		t.Errorf("testnet, 250ms blocks, k = 256: timeout_propose %s, want %s", got, want)
	}
}
