package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
)

// z travels as a 0x-hex string: the server decodes it exactly, the client
// sends it so, and anything else is refused before the service is called.
// The client has the three KZG methods.
func TestOpenKZGParams(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	tok := token(t, api.PermsFor(api.PermRead))
	commit := base64.StdEncoding.EncodeToString(make([]byte, 32))
	z := "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	r := callHTTP(t, e.http, tok, "blob.OpenKZG", json.RawMessage(fmt.Sprintf(`[1,%q,%q,0,%q]`, exampleNS, commit, z)))
	if r.Error != nil {
		t.Fatalf("blob.OpenKZG: %+v", r.Error)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(r.Result, &got); err != nil {
		t.Fatal(err)
	}
	if string(got["z"]) != `"`+z+`"` {
		t.Fatalf("z came back as %s, want %q", got["z"], z)
	}
	for _, bad := range []string{
		`"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"`, // no 0x
		`"0x0102"`, // short
		`"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fzz"`, // not hex
		`7`,
	} {
		r := callHTTP(t, e.http, tok, "blob.OpenKZG", json.RawMessage(fmt.Sprintf(`[1,%q,%q,0,%s]`, exampleNS, commit, bad)))
		if r.Error == nil || !strings.Contains(r.Error.Message, "Hex32") {
			t.Errorf("z = %s: %s %+v", bad, r.Result, r.Error)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, url := range []string{e.http, e.ws} {
		c := newClient(t, url, tok)
		ns := exampleNamespace(t)
		want := blob.Hex32{0: 0x42, 31: 0x07}
		o, err := c.Blob.OpenKZG(ctx, 1, ns, blob.Commitment(make([]byte, 32)), 0, want)
		if err != nil || o.Z != want {
			t.Errorf("%s: Blob.OpenKZG: %+v %v", url, o, err)
		}
		info, err := c.Blob.GetKZG(ctx, 1, ns, blob.Commitment(make([]byte, 32)))
		if err != nil || info.Codec != blob.KZGCodec || len(info.Chunks) != 1 || info.Chunks[0].Commitment[0] != 0xc0 {
			t.Errorf("%s: Blob.GetKZG: %+v %v", url, info, err)
		}
		cells, err := c.Blob.GetKZGCells(ctx, 1, ns, blob.Commitment(make([]byte, 32)), 0, []uint64{9, 2})
		if err != nil || len(cells.Cells) != 2 || cells.Cells[0].Index != 9 || cells.Cells[0].Cell[0] != 9 || cells.Cells[1].Cell[0] != 2 {
			t.Errorf("%s: Blob.GetKZGCells: %v", url, err)
		}
	}
}
