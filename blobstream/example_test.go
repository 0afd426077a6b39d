package blobstream_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/datamesh/mesh-node/blobstream"
)

// A settlement test decodes a SharesProof (here the file of a blob of 3
// shares over 2 rows) and checks it against the tuple root the contract
// holds for its nonce.
func ExampleVerifySharesProof() {
	b, err := os.ReadFile("testdata/sharesproof.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	var ex struct {
		TupleRoot   string                 `json:"tupleRoot"`
		SharesProof blobstream.SharesProof `json:"sharesProof"`
	}
	if err := json.Unmarshal(b, &ex); err != nil {
		fmt.Println(err)
		return
	}
	root, _ := hex.DecodeString(strings.TrimPrefix(ex.TupleRoot, "0x"))
	p := &ex.SharesProof
	fmt.Println(len(p.Data), "shares in", len(p.RowRoots), "rows, height", p.AttestationProof.Tuple.Height,
		"nonce", p.AttestationProof.TupleRootNonce)
	fmt.Println(blobstream.VerifySharesProof(p, [32]byte(root)))

	p.Data[1][100] ^= 1
	fmt.Println(blobstream.VerifySharesProof(p, [32]byte(root)))
	// Output:
	// 3 shares in 2 rows, height 13 nonce 3
	// <nil>
	// blobstream: invalid shares proof: InvalidSharesToRowsProof: row 0: shares [6, 8) to row root: blobstream: invalid merkle proof: proof leads to a different root
}
