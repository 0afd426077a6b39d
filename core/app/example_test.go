package app_test

import (
	"fmt"

	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/app"
)

// Sign a transfer, then decode and verify it as a validator does.
func ExampleSignTx() {
	key := secp256k1.GenPrivKeySecp256k1([]byte("example"))
	from, _ := app.AddressFromPubKey(key.PubKey().Bytes())
	to, _ := app.AddressFromPubKey(secp256k1.GenPrivKeySecp256k1([]byte("other")).PubKey().Bytes())
	raw, err := app.SignTx(app.Body{
		ChainID: "mesh-devnet",
		Nonce:   0,
		Fee:     app.Fee{GasLimit: 65_000, GasPrice: 1},
		Msg:     &app.MsgSend{From: from, To: to, Amount: 100},
	}, key)
	if err != nil {
		panic(err)
	}
	tx, err := app.UnmarshalTx(raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(tx.VerifySignature() == nil, tx.Body.Msg.(*app.MsgSend).Amount)
	fmt.Println(from.String()[:5])
	// Output:
	// true 100
	// mesh1
}
