package api_test

import (
	"encoding/json"
	"testing"

	"github.com/datamesh/mesh-node/api"
)

// TestNodeTypeJSON checks node.Info's type: celestia-node's node.Type
// encodes as its name ("Bridge", "Light"), which its client decodes in any
// case; mesh-node's earlier numbers still decode for its own clients.
func TestNodeTypeJSON(t *testing.T) {
	for _, tc := range []struct {
		t    api.NodeType
		name string
	}{{api.NodeBridge, `"Bridge"`}, {api.NodeLight, `"Light"`}, {api.NodeFull, `"Full"`}} {
		b, err := json.Marshal(api.NodeInfo{Type: tc.t, APIVersion: "v1.2.3"})
		if err != nil || string(b) != `{"type":`+tc.name+`,"api_version":"v1.2.3"}` {
			t.Errorf("%d: %s, %v", tc.t, b, err)
		}
		for _, in := range []string{tc.name, string(mustJSON(t, int(tc.t))), `"` + tc.t.String() + `"`} {
			var got api.NodeType
			if err := json.Unmarshal([]byte(in), &got); err != nil || got != tc.t {
				t.Errorf("decode %s: %d, %v", in, got, err)
			}
		}
	}
	var got api.NodeType
	if err := json.Unmarshal([]byte(`"light"`), &got); err != nil || got != api.NodeLight {
		t.Errorf(`decode "light": %d, %v`, got, err)
	}
	for _, bad := range []string{`"Archival"`, `0`, `4`, `-1`, `300`, `null`, `{}`, `true`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("decoded %s as %d", bad, got)
		}
	}
	if _, err := json.Marshal(api.NodeType(9)); err == nil {
		t.Error("encoded node type 9")
	}
	if api.NodeType(9).String() != "unknown" || api.NodeFull.String() != "Full" {
		t.Errorf("String: %s %s", api.NodeType(9), api.NodeFull)
	}
}
