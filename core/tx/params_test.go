package tx_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
)

func TestGasUsedOverflow(t *testing.T) {
	p := tx.DefaultParams()
	p.GasPerBlobByte = 1 << 62
	if _, ok := tx.GasUsed(p, &tx.MsgPayForBlobs{BlobSizes: []uint32{8}}); ok {
		t.Fatal("overflow not reported")
	}
	if g, ok := tx.GasUsed(p, &tx.MsgSend{}); !ok || g != p.FixedGas {
		t.Fatalf("send gas %d", g)
	}
}

// ParseGenesisParams reads the chain ID and params of a genesis app_state
// and leaves the rest (the application's) alone; bad params are refused as
// the application refuses them.
func TestParseGenesisParams(t *testing.T) {
	p := tx.DefaultParams()
	params, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	genesis := func(chainID, params string) []byte {
		return []byte(`{"chain_id":"` + chainID + `","authority":"mesh1whatever","accounts":[],"params":` + params + `}`)
	}
	id, got, err := tx.ParseGenesisParams(genesis("mesh-devnet", string(params)))
	if err != nil || id != "mesh-devnet" || got != p {
		t.Fatalf("got %q, %+v, %v; want mesh-devnet, %+v", id, got, err, p)
	}
	bad := map[string][]byte{
		"not json":        []byte("{"),
		"no chain id":     genesis("", string(params)),
		"long chain id":   genesis(strings.Repeat("c", tx.MaxChainIDSize+1), string(params)),
		"no params":       []byte(`{"chain_id":"c"}`),
		"null params":     genesis("c", "null"),
		"unknown param":   genesis("c", strings.Replace(string(params), "{", `{"max_gas":1,`, 1)),
		"square size":     genesis("c", strings.Replace(string(params), `"max_square_size":128`, `"max_square_size":100`, 1)),
		"zero blob size":  genesis("c", strings.Replace(string(params), `"max_blob_size":2097152`, `"max_blob_size":0`, 1)),
		"zero fixed gas":  genesis("c", strings.Replace(string(params), `"fixed_gas":65000`, `"fixed_gas":0`, 1)),
		"params not JSON": genesis("c", `"x"`),
	}
	for name, b := range bad {
		if _, _, err := tx.ParseGenesisParams(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, name := range []string{"null params", "unknown param", "square size", "zero blob size", "zero fixed gas", "params not JSON"} {
		if _, _, err := tx.ParseGenesisParams(bad[name]); !errors.Is(err, tx.ErrInvalidParams) {
			t.Errorf("%s: %v, want ErrInvalidParams", name, err)
		}
	}
}
