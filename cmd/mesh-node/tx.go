package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

// Defaults of the tx commands.
const (
	defaultNode      = "http://127.0.0.1:26657"
	defaultTxTimeout = 30 * time.Second
)

// maxBlobSizeText is the max_blob_size of the chains core init and devnet
// make, for the help of the commands that submit blobs; the limit they
// enforce is the chain's own, read from its genesis.
var maxBlobSizeText = fmt.Sprintf("%d bytes (2 MiB) on a chain made by core init or devnet", tx.DefaultParams().MaxBlobSize)

// txOptions are the flags every tx command shares, and pay-for-blob's
// --kzg.
type txOptions struct {
	from, node string
	gasLimit   uint64
	gasPrice   uint64
	timeout    time.Duration
	kzg        bool
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
	cmd.AddCommand(c.txSendCmd(), c.txPayForBlobCmd(), c.txBlobstreamCmd(), c.txStakingCmd(), c.txDistributionCmd())
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
			dest, err := tx.ParseAddress(to)
			if err != nil {
				return fmt.Errorf("tx send: --to: %w", err)
			}
			if amount == 0 {
				return errors.New("tx send: --amount must be positive")
			}
			res, err := c.submit(cmd, o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.Transfer(ctx, dest, state.Int(amount), cfg)
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
(29 bytes) and the blob's share commitment, both in base64 as the JSON-RPC
API writes them (blob get and blob get-all take them as they are).

--namespace is hex (an optional 0x prefix): up to 10 bytes are the ID of a
version 0 namespace (left-padded with zeros), 29 bytes a whole namespace
(version byte first). Reserved namespaces are refused.
--data is the blob: @PATH reads the file at PATH, anything else is taken
as the data itself (so data that starts with '@' must come from a file).
It may be at most the chain's max_blob_size (a genesis parameter: ` + maxBlobSizeText + `):
a larger blob is refused with "blob: over size limit" before it is signed.
--kzg also signs into the PayForBlobs the EIP-4844 KZG commitment and blob
proof of each 130044-byte chunk of the data (the OP Stack blob encoding;
about 60 ms a chunk, after a few seconds loading the trusted setup), paid
with the chain's gas_per_kzg_chunk gas each, and prints the versioned hashes
of the commitments signed (0x-hex, one per chunk, in order): the ones a
rollup records and Ethereum's point-evaluation precompile takes. A chain
whose gas_per_kzg_chunk is 0 takes no KZG: --kzg is then refused before
anything is signed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := parseNamespace("--namespace", nsHex)
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: %w", err)
			}
			blobData, err := readData("--data", data)
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
			res, err := c.submit(cmd, o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.SubmitPayForBlob(ctx, []*share.Blob{blob}, cfg)
			})
			if err != nil {
				return fmt.Errorf("tx pay-for-blob: %w", err)
			}
			res.Commitment = base64.StdEncoding.EncodeToString(commitment)
			res.Namespace = base64.StdEncoding.EncodeToString(ns.Bytes())
			return printTxResult(cmd, res)
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&nsHex, "namespace", "", "namespace in hex: a version 0 ID of up to 10 bytes, or all 29 bytes (required)")
	cmd.Flags().StringVar(&data, "data", "", "blob data: @PATH for a file's contents, else the string itself (required)")
	cmd.Flags().BoolVar(&o.kzg, "kzg", false, kzgFlagHelp)
	_ = cmd.MarkFlagRequired("namespace")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

// parseNamespace reads a namespace in hex: up to 10 bytes are a version 0
// ID, 29 bytes a whole namespace. It must be allowed for blobs (not
// reserved). name is how the user gave it (a flag such as --namespace, or
// an argument such as NAMESPACE), for the errors.
func parseNamespace(name, s string) (share.Namespace, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		return share.Namespace{}, fmt.Errorf("%s %q is not hex: %w", name, s, err)
	}
	var ns share.Namespace
	switch {
	case len(b) == 0:
		return share.Namespace{}, fmt.Errorf("%s is empty", name)
	case len(b) <= share.NamespaceVersionZeroIDSize:
		ns, err = share.NewV0Namespace(b)
	case len(b) == share.NamespaceSize:
		ns, err = share.NamespaceFromBytes(b)
	default:
		return share.Namespace{}, fmt.Errorf("%s %q is %d bytes: want up to %d (a version 0 ID) or %d (a namespace)",
			name, s, len(b), share.NamespaceVersionZeroIDSize, share.NamespaceSize)
	}
	if err != nil {
		return share.Namespace{}, fmt.Errorf("%s %q: %w", name, s, err)
	}
	if err := ns.ValidateForBlob(); err != nil {
		return share.Namespace{}, fmt.Errorf("%s %q: %w", name, s, err)
	}
	return ns, nil
}

// readData returns blob data given as name (a flag such as --data, or an
// argument such as DATA): a file's contents for @PATH, else the string.
func readData(name, s string) ([]byte, error) {
	path, isFile := strings.CutPrefix(s, "@")
	if !isFile {
		if s == "" {
			return nil, fmt.Errorf("%s is empty", name)
		}
		return []byte(s), nil
	}
	if path == "" {
		return nil, fmt.Errorf("%s @: no file name after @", name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: read blob file: %w", name, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", name, path)
	}
	return b, nil
}

// txResult is what the tx commands print.
type txResult struct {
	Height     int64  `json:"height"`
	TxHash     string `json:"txhash"`
	Commitment string `json:"commitment,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	// VersionedHashes are those of the KZG commitments the transaction
	// was signed with (pay-for-blob --kzg), 0x-hex.
	VersionedHashes []string `json:"versioned_hashes,omitempty"`
	// EVMAddress is the address tx blobstream register-evm-address
	// registered, 0x-hex.
	EVMAddress string `json:"evm_address,omitempty"`
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
	if r.EVMAddress != "" {
		fmt.Fprintf(w, "evm_address: %s\n", r.EVMAddress)
	}
	if len(r.VersionedHashes) > 0 {
		fmt.Fprintf(w, "versioned_hashes: %s\n", strings.Join(r.VersionedHashes, " "))
	}
	return nil
}

// submitFunc submits a transaction with the client's default key (--from).
type submitFunc func(ctx context.Context, c *state.Client, cfg *state.TxConfig) (*state.TxResponse, error)

// submit signs and submits a transaction with the key --from through a
// state.Client of --node, which waits for its inclusion within --timeout.
func (c *cli) submit(cmd *cobra.Command, o txOptions, send submitFunc) (txResult, error) {
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
	client, err := state.New(state.Options{RPC: o.node, Keyring: validator.Keyring(home), DefaultKey: o.from, Timeout: o.timeout})
	if errors.Is(err, keyring.ErrNotFound) {
		return txResult{}, fmt.Errorf("--from: %w (see mesh-node keys list)", err)
	}
	if err != nil {
		return txResult{}, err
	}
	defer func() { _ = client.Stop(context.Background()) }() // nothing runs once the call returned
	cfg := &state.TxConfig{Gas: o.gasLimit, KZG: o.kzg}
	if o.gasPrice > 0 {
		cfg.GasPrice, cfg.IsGasPriceSet = float64(o.gasPrice), true
	}
	res, err := send(cmd.Context(), client, cfg)
	if err != nil {
		return txResult{}, err
	}
	return txResult{Height: res.Height, TxHash: res.TxHash, VersionedHashes: versionedHashes(res.KZG)}, nil
}
