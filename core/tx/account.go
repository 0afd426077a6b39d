package tx

// AccountQueryPath is the ABCI query path of an account: its data is the
// bech32 address, its answer an AccountInfo in JSON.
const AccountQueryPath = "/account"

// AccountInfo is the JSON answer to the query AccountQueryPath, at the
// last committed height.
type AccountInfo struct {
	Address Address `json:"address"`
	Balance uint64  `json:"balance"`
	// Nonce is the account sequence: the nonce its next transaction must
	// carry.
	Nonce uint64 `json:"nonce"`
}
