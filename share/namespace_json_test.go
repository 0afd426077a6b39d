package share_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

func TestNamespaceJSON(t *testing.T) {
	ns, err := share.NewV0Namespace([]byte("example"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ns)
	if err != nil {
		t.Fatal(err)
	}
	// The namespace of celestia-node's docs: version 0, ID "example".
	if want := `"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAGV4YW1wbGU="`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var got share.Namespace
	if err := json.Unmarshal(b, &got); err != nil || got != ns {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for _, bad := range []string{`"AAAA"`, `12`, `"!!"`, `"` + "AP//////////////////////////////////////" + `"`} {
		if err := json.Unmarshal([]byte(bad), &got); !errors.Is(err, share.ErrInvalidNamespace) {
			t.Errorf("%s: err %v, want ErrInvalidNamespace", bad, err)
		}
	}
}
