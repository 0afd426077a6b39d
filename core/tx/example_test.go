package tx_test

import (
	"fmt"

	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/tx"
)

// Sign a transfer, then decode and verify it as a validator does.
func ExampleSignTx() {
	key := secp256k1.GenPrivKeySecp256k1([]byte("example"))
	from, _ := tx.AddressFromPubKey(key.PubKey().Bytes())
	to, _ := tx.AddressFromPubKey(secp256k1.GenPrivKeySecp256k1([]byte("other")).PubKey().Bytes())
	raw, err := tx.SignTx(tx.Body{
		ChainID: "mesh-devnet",
		Nonce:   0,
		Fee:     tx.Fee{GasLimit: 65_000, GasPrice: 1},
		Msg:     &tx.MsgSend{From: from, To: to, Amount: 100},
	}, key)
	if err != nil {
		panic(err)
	}
	decoded, err := tx.UnmarshalTx(raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(decoded.VerifySignature() == nil, decoded.Body.Msg.(*tx.MsgSend).Amount)
	fmt.Println(from.String()[:5])
	// Output:
	// true 100
	// mesh1
}
