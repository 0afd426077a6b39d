package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/state"
)

// blob.Submit's options reach the service as sent: DataMesh's "kzg", and
// every field celestia-node's TxConfig writes, which never include "kzg"
// (so its clients submit without KZG, as before).
func TestSubmitOptions(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	tok := token(t, api.PermsFor(api.PermWrite))
	blobJSON := fmt.Sprintf(`{"namespace":%q,"data":"aGVsbG8=","share_version":0}`, exampleNS)
	for _, tc := range []struct {
		options string
		want    *state.TxConfig
	}{
		{`{"kzg":true}`, &state.TxConfig{KZG: true}},
		{`{"kzg":true,"max_gas_price":0}`, &state.TxConfig{KZG: true}},
		{`{"kzg":false}`, &state.TxConfig{}},
		{`{"gas_price":0.002,"is_gas_price_set":true,"max_gas_price":0.5,"gas":100000,"tx_priority":2,"key_name":"rollup","signer_address":"","fee_granter_address":""}`,
			&state.TxConfig{GasPrice: 0.002, IsGasPriceSet: true, MaxGasPrice: 0.5, Gas: 100000, TxPriority: 2, KeyName: "rollup"}},
		{`{}`, &state.TxConfig{}},
		{`null`, nil},
	} {
		unset := &state.TxConfig{KeyName: "not called"}
		e.blob.mu.Lock()
		e.blob.cfg = unset
		e.blob.mu.Unlock()
		r := callHTTP(t, e.http, tok, "blob.Submit", json.RawMessage(`[[`+blobJSON+`],`+tc.options+`]`))
		if r.Error != nil {
			t.Errorf("options %s: %+v", tc.options, r.Error)
			continue
		}
		e.blob.mu.Lock()
		got := e.blob.cfg
		e.blob.mu.Unlock()
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("options %s reached the service as %+v, want %+v", tc.options, got, tc.want)
		}
	}
	// "kzg" of the wrong type is refused, not read as false.
	r := callHTTP(t, e.http, tok, "blob.Submit", json.RawMessage(`[[`+blobJSON+`],{"kzg":"yes"}]`))
	if r.Error == nil {
		t.Error(`options {"kzg":"yes"} were accepted`)
	}
}
