package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/cmd/mesh-node/internal/keyring"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/share"
)

// Defaults of the tx commands.
const (
	defaultNode      = "http://127.0.0.1:26657"
	defaultTxTimeout = 30 * time.Second
	pollInterval     = 200 * time.Millisecond
)

// txOptions are the flags every tx command shares.
type txOptions struct {
	from, node string
	gasLimit   uint64
	gasPrice   uint64
	timeout    time.Duration
}

func (c *cli) txCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign transactions with a keyring key and submit them to a core node",
		Long: `Sign a transaction with a key of the keyring (<home>/keys), broadcast it to a
core node's RPC (--node), wait until a block includes it and print the block
height. The chain ID, the fee parameters and the signer's nonce come from the
node: its status, its genesis and the /account query.`,
	}
	cmd.AddCommand(c.txSendCmd(), c.txPayForBlobCmd())
	return cmd
}

func addTxFlags(cmd *cobra.Command, o *txOptions) {
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "name of the signing key in the keyring (required)")
	f.StringVar(&o.node, "node", defaultNode, "core node RPC address")
	f.Uint64Var(&o.gasLimit, "gas-limit", 0, "gas limit (default: the gas the transaction uses under the chain's params)")
	f.Uint64Var(&o.gasPrice, "gas-price", 0, "gas price (default: the chain's min_gas_price)")
	f.DurationVar(&o.timeout, "timeout", defaultTxTimeout, "time limit for the node queries, the broadcast and the wait for inclusion")
	addOutputFlag(cmd)
	_ = cmd.MarkFlagRequired("from") // only fails for an unknown flag name
}

func (c *cli) txSendCmd() *cobra.Command {
	var o txOptions
	var to string
	var amount uint64
	cmd := &cobra.Command{
		Use:   "send --from NAME --to ADDRESS --amount N",
		Short: "Transfer tokens to an address",
		Long: `Transfer --amount tokens from the key --from to the bech32 address --to
(mesh1...). Prints the height of the block that includes the transfer and
its transaction hash.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dest, err := app.ParseAddress(to)
			if err != nil {
				return fmt.Errorf("tx send: --to: %w", err)
			}
			if amount == 0 {
				return errors.New("tx send: --amount must be positive")
			}
			res, err := c.submit(cmd, o, func(k keyring.Key) (app.Msg, []*share.Blob, error) {
				return &app.MsgSend{From: k.Address, To: dest, Amount: amount}, nil, nil
			})
			if err != nil {
				return fmt.Errorf("tx send: %w", err)
			}
			return printTxResult(cmd, res)
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&to, "to", "", "recipient's bech32 address (required)")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "amount to send (required)")
	_ = cmd.MarkFlagRequired("to")
	_ = cmd.MarkFlagRequired("amount")
	return cmd
}

func (c *cli) txPayForBlobCmd() *cobra.Command {
	var o txOptions
	var nsHex, data string
	cmd := &cobra.Command{
		Use:   "pay-for-blob --from NAME --namespace HEX --data @FILE|STRING",
		Short: "Publish a blob under a namespace",
		Long: `Publish one blob (share version 0) under a namespace: sign a PayForBlobs
with the key --from, send it with the blob in a BlobTx, wait for a block to
include it and print the block height, the transaction hash, the namespace
(29 bytes, hex) and the blob's share commitment (hex).

--namespace is hex (an optional 0x prefix): up to 10 bytes are the ID of a
version 0 namespace (left-padded with zeros), 29 bytes a whole namespace
(version byte first). Reserved namespaces are refused.
--data is the blob: @PATH reads the file at PATH, anything else is taken
as the data itself (so data that starts with '@' must come from a file).
The node's mempool max_tx_bytes and rpc max_body_bytes bound the whole
BlobTx (core init sets them so that a blob of max_blob_size, 2 MiB, fits).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := parseNamespace(nsHex)
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: %w", err)
			}
			blobData, err := readData(data)
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: %w", err)
			}
			blob, err := share.NewBlob(ns, blobData, share.ShareVersionZero, nil)
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: blob: %w", err)
			}
			commitment, err := blob.Commitment()
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: share commitment: %w", err)
			}
			res, err := c.submit(cmd, o, func(k keyring.Key) (app.Msg, []*share.Blob, error) {
				return &app.MsgPayForBlobs{
					Signer:           k.Address,
					Namespaces:       []share.Namespace{ns},
					BlobSizes:        []uint32{uint32(len(blobData))}, // NewBlob bounds the size
					ShareCommitments: [][]byte{commitment},
					ShareVersions:    []uint32{uint32(share.ShareVersionZero)},
				}, []*share.Blob{blob}, nil
			})
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: %w", err)
			}
			res.Commitment = hex.EncodeToString(commitment)
			res.Namespace = ns.String()
			return printTxResult(cmd, res)
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&nsHex, "namespace", "", "namespace in hex: a version 0 ID of up to 10 bytes, or all 29 bytes (required)")
	cmd.Flags().StringVar(&data, "data", "", "blob data: @PATH for a file's contents, else the string itself (required)")
	_ = cmd.MarkFlagRequired("namespace")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

// parseNamespace reads a namespace in hex: up to 10 bytes are a version 0
// ID, 29 bytes a whole namespace. It must be allowed for blobs (not
// reserved).
func parseNamespace(s string) (share.Namespace, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		return share.Namespace{}, fmt.Errorf("--namespace %q is not hex: %w", s, err)
	}
	var ns share.Namespace
	switch {
	case len(b) == 0:
		return share.Namespace{}, errors.New("--namespace is empty")
	case len(b) <= share.NamespaceVersionZeroIDSize:
		ns, err = share.NewV0Namespace(b)
	case len(b) == share.NamespaceSize:
		ns, err = share.NamespaceFromBytes(b)
	default:
		return share.Namespace{}, fmt.Errorf("--namespace %q is %d bytes: want up to %d (a version 0 ID) or %d (a namespace)",
			s, len(b), share.NamespaceVersionZeroIDSize, share.NamespaceSize)
	}
	if err != nil {
		return share.Namespace{}, fmt.Errorf("--namespace %q: %w", s, err)
	}
	if err := ns.ValidateForBlob(); err != nil {
		return share.Namespace{}, fmt.Errorf("--namespace %q: %w", s, err)
	}
	return ns, nil
}

// readData returns the blob data of --data: a file's contents for @PATH,
// else the string.
func readData(s string) ([]byte, error) {
	path, isFile := strings.CutPrefix(s, "@")
	if !isFile {
		if s == "" {
			return nil, errors.New("--data is empty")
		}
		return []byte(s), nil
	}
	if path == "" {
		return nil, errors.New("--data @: no file name after @")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--data: read blob file: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("--data: %s is empty", path)
	}
	return b, nil
}

// txResult is what the tx commands print.
type txResult struct {
	Height     int64  `json:"height"`
	TxHash     string `json:"txhash"`
	Commitment string `json:"commitment,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
}

func printTxResult(cmd *cobra.Command, r txResult) error {
	asJSON, err := outputJSON(cmd)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), r)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "height: %d\ntxhash: %s\n", r.Height, r.TxHash)
	if r.Commitment != "" {
		fmt.Fprintf(w, "namespace: %s\ncommitment: %s\n", r.Namespace, r.Commitment)
	}
	return nil
}

// buildMsg returns the message for the signing key and the blobs it pays
// for (none for a bare transaction).
type buildMsg func(k keyring.Key) (app.Msg, []*share.Blob, error)

// submit signs the message build returns with the key --from, broadcasts
// it and waits for its inclusion within --timeout.
func (c *cli) submit(cmd *cobra.Command, o txOptions, build buildMsg) (txResult, error) {
	if _, err := outputJSON(cmd); err != nil {
		return txResult{}, err
	}
	if o.timeout <= 0 {
		return txResult{}, fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	home, err := c.home(cmd)
	if err != nil {
		return txResult{}, err
	}
	k, err := openKeyring(home).Get(o.from)
	if err != nil {
		return txResult{}, fmt.Errorf("--from: %w (see mesh-node keys list)", err)
	}
	msg, blobs, err := build(k)
	if err != nil {
		return txResult{}, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	client, err := rpchttp.New(o.node, "/websocket")
	if err != nil {
		return txResult{}, fmt.Errorf("RPC client for --node %q: %w", o.node, err)
	}
	chain, err := queryChain(ctx, client)
	if err != nil {
		return txResult{}, err
	}
	acc, err := queryAccount(ctx, client, k.Address)
	if err != nil {
		return txResult{}, err
	}
	fee, err := txFee(chain.params, msg, o)
	if err != nil {
		return txResult{}, err
	}
	raw, err := app.SignTx(app.Body{ChainID: chain.id, Nonce: acc.Nonce, Fee: fee, Msg: msg}, k.Priv)
	if err != nil {
		return txResult{}, fmt.Errorf("sign: %w", err)
	}
	if len(blobs) > 0 {
		if raw, err = share.MarshalBlobTx(raw, blobs...); err != nil {
			return txResult{}, fmt.Errorf("wrap in a blob tx: %w", err)
		}
	}
	res, err := client.BroadcastTxSync(ctx, raw)
	if err != nil {
		return txResult{}, fmt.Errorf("broadcast to %s: %w", o.node, err)
	}
	if res.Code != app.CodeOK {
		return txResult{}, fmt.Errorf("rejected by CheckTx (code %d): %s", res.Code, res.Log)
	}
	height, err := waitIncluded(ctx, client, res.Hash)
	if err != nil {
		return txResult{}, fmt.Errorf("transaction %X: %w", []byte(res.Hash), err)
	}
	return txResult{Height: height, TxHash: fmt.Sprintf("%X", []byte(res.Hash))}, nil
}

// chainInfo is what the tx commands need to know about the chain.
type chainInfo struct {
	id     string
	params app.Params
}

// queryChain reads the chain ID from the node's status and the params from
// its genesis (the application has no parameter updates).
func queryChain(ctx context.Context, client *rpchttp.HTTP) (chainInfo, error) {
	st, err := client.Status(ctx)
	if err != nil {
		return chainInfo{}, fmt.Errorf("query node status: %w", err)
	}
	gen, err := client.Genesis(ctx)
	if err != nil {
		return chainInfo{}, fmt.Errorf("query genesis: %w", err)
	}
	if gen == nil || gen.Genesis == nil {
		return chainInfo{}, errors.New("query genesis: empty answer")
	}
	g, err := app.ParseGenesis(gen.Genesis.AppState)
	if err != nil {
		return chainInfo{}, fmt.Errorf("genesis app_state: %w", err)
	}
	if g.ChainID != st.NodeInfo.Network {
		return chainInfo{}, fmt.Errorf("node reports chain %q, its genesis %q", st.NodeInfo.Network, g.ChainID)
	}
	return chainInfo{id: g.ChainID, params: g.Params}, nil
}

// queryAccount asks the application for an account's balance and nonce.
func queryAccount(ctx context.Context, client *rpchttp.HTTP, addr app.Address) (app.AccountInfo, error) {
	q, err := client.ABCIQuery(ctx, "/account", []byte(addr.String()))
	if err != nil {
		return app.AccountInfo{}, fmt.Errorf("query account %s: %w", addr, err)
	}
	if q.Response.Code != app.CodeOK {
		return app.AccountInfo{}, fmt.Errorf("query account %s: code %d: %s", addr, q.Response.Code, q.Response.Log)
	}
	var acc app.AccountInfo
	if err := json.Unmarshal(q.Response.Value, &acc); err != nil {
		return app.AccountInfo{}, fmt.Errorf("query account %s: decode answer: %w", addr, err)
	}
	if acc.Address != addr {
		return app.AccountInfo{}, fmt.Errorf("query account %s: the answer is for %s", addr, acc.Address)
	}
	return acc, nil
}

// txFee returns the fee: --gas-limit or the gas msg uses, at --gas-price or
// the chain's minimum.
func txFee(p app.Params, msg app.Msg, o txOptions) (app.Fee, error) {
	fee := app.Fee{GasLimit: o.gasLimit, GasPrice: o.gasPrice}
	if fee.GasLimit == 0 {
		gas, ok := app.GasUsed(p, msg)
		if !ok {
			return app.Fee{}, errors.New("gas overflows")
		}
		fee.GasLimit = gas
	}
	if fee.GasPrice == 0 {
		fee.GasPrice = p.MinGasPrice
	}
	return fee, nil
}

// waitIncluded polls the node for the transaction until a block includes it
// or ctx ends, and returns the block height. A transaction that failed in
// its block is an error with the application's log.
func waitIncluded(ctx context.Context, client *rpchttp.HTTP, hash []byte) (int64, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		r, err := client.Tx(ctx, hash, false)
		if err == nil && r != nil {
			if r.TxResult.Code != app.CodeOK {
				return 0, fmt.Errorf("failed in block %d (code %d): %s", r.Height, r.TxResult.Code, r.TxResult.Log)
			}
			return r.Height, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("not included before the timeout (last query: %v): %w", lastErr, ctx.Err())
		case <-tick.C:
		}
	}
}
