package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// Defaults of the commands that call a running node's API.
const (
	defaultAPIURL     = "http://127.0.0.1:26658"
	defaultAPITimeout = 2 * time.Minute
	// localTokenTTL is the life of the admin token minted from a local
	// node's secret for one command.
	localTokenTTL = 10 * time.Minute
)

// clientFlags are the flags of every command that calls a node's API.
type clientFlags struct {
	url, token string
	timeout    time.Duration
}

func (o *clientFlags) register(cmd *cobra.Command) {
	o.registerConn(cmd)
	addOutputFlag(cmd)
}

// registerConn adds the flags of register but --output.
func (o *clientFlags) registerConn(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "the node's JSON-RPC URL (default: from the local node's config.toml, else "+defaultAPIURL+")")
	f.StringVar(&o.token, "token", "", "API token (default: an admin token made from the local node's secret, <home>/"+nodebuilder.SecretFile+")")
	f.DurationVar(&o.timeout, "timeout", defaultAPITimeout, "time limit of the call")
}

// localNodeHome finds the home of the node to call: --home, else
// $MESH_HOME, else the first of ~/.mesh-node-light, -full and -bridge that
// holds a config.toml. It returns "" when there is none.
func (c *cli) localNodeHome(cmd *cobra.Command) (string, error) {
	h, err := cmd.Flags().GetString("home")
	if err != nil {
		return "", err
	}
	if h == "" {
		h = c.getenv(homeEnv)
	}
	if h != "" {
		return filepath.Abs(h)
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", nil
	}
	for _, m := range []nodebuilder.Mode{nodebuilder.Light, nodebuilder.Full, nodebuilder.Bridge} {
		home := filepath.Join(u, defaultHomeName(string(m)))
		if _, err := os.Stat(filepath.Join(home, nodebuilder.ConfigFile)); err == nil {
			return home, nil
		}
	}
	return "", nil
}

// dial connects to the node's API (see apiTarget); the returned context
// ends after --timeout.
func (c *cli) dial(cmd *cobra.Command, o clientFlags) (context.Context, *client.Client, func(), error) {
	if o.timeout <= 0 {
		return nil, nil, nil, fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	url, token, err := c.apiTarget(cmd, o)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	cl, err := client.New(ctx, url, token)
	if err != nil {
		cancel()
		return nil, nil, nil, fmt.Errorf("connect to %s: %w", url, err)
	}
	return ctx, cl, func() { cl.Close(); cancel() }, nil
}

// apiTarget returns the URL and token of the node's API: --url and
// --token, else what the local node's home gives, else defaultAPIURL and
// no token.
func (c *cli) apiTarget(cmd *cobra.Command, o clientFlags) (url, token string, err error) {
	url, token = o.url, o.token
	if url == "" || token == "" {
		home, err := c.localNodeHome(cmd)
		if err != nil {
			return "", "", err
		}
		if home != "" {
			lurl, ltoken, err := localAPI(home)
			if err != nil {
				return "", "", err
			}
			if url == "" {
				url = lurl
			}
			if token == "" {
				token = ltoken
			}
		}
	}
	if url == "" {
		url = defaultAPIURL
	}
	return url, token, nil
}

// localAPI reads a node home's API URL (config.toml's rpc section) and
// makes an admin token from its secret.
func localAPI(home string) (url, token string, err error) {
	conf, err := nodebuilder.ReadConfig(home)
	if err != nil {
		return "", "", err
	}
	if a := conf.RPC.Address; a == "0.0.0.0" || a == "::" {
		conf.RPC.Address = "127.0.0.1" // listening everywhere: call it here
	}
	url = "http://" + conf.RPCAddr()
	secret, err := os.ReadFile(filepath.Join(home, nodebuilder.SecretFile))
	if errors.Is(err, os.ErrNotExist) {
		// The node never started: it has no secret, and no API either.
		return url, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read the node's API secret: %w", err)
	}
	token, err = api.NewToken(secret, api.AllPerms(), localTokenTTL)
	return url, token, err
}

// parseHeight reads a block height argument.
func parseHeight(s string) (uint64, error) {
	h, err := strconv.ParseUint(s, 10, 64)
	if err != nil || h == 0 {
		return 0, fmt.Errorf("height %q: want a positive integer", s)
	}
	return h, nil
}

// parseCommitment reads a share commitment in base64 (as the CLI and the
// API print it) or hex.
func parseCommitment(s string) (blob.Commitment, error) {
	if b, err := hex.DecodeString(strings.TrimPrefix(s, "0x")); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, fmt.Errorf("commitment %q: want 32 bytes in base64 or hex", s)
}

// parseNamespaceArg reads a namespace argument: hex as in tx pay-for-blob
// --namespace, or the base64 of 29 bytes as the CLI and the API print it.
func parseNamespaceArg(s string) (share.Namespace, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == share.NamespaceSize && !isHex(s) {
		return share.NamespaceFromBytes(b)
	}
	return parseNamespace("NAMESPACE", s)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	return err == nil
}

func (c *cli) blobCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blob",
		Short: "Submit and read blobs through a running node's API",
		Long: `Submit and read blobs through a running bridge, full or light node's JSON-RPC
API (blob.Submit, blob.Get, blob.GetAll). The node is --url with --token,
else the local node of --home ($MESH_HOME, else the first of
~/.mesh-node-light, -full, -bridge that exists), whose config.toml gives the
URL and whose secret makes an admin token. Namespaces are hex (a version 0
ID of up to 10 bytes, or 29 bytes) or the base64 of 29 bytes; commitments
base64 or hex. Namespaces and commitments are printed in base64, as the
JSON-RPC API writes them.`,
	}
	cmd.AddCommand(c.blobSubmitCmd(), c.blobGetCmd(), c.blobGetAllCmd())
	return cmd
}

func (c *cli) blobSubmitCmd() *cobra.Command {
	var o clientFlags
	var cfg state.TxConfig
	cmd := &cobra.Command{
		Use:   "submit NAMESPACE DATA",
		Short: "Submit a blob and wait for its inclusion",
		Long: `Submit one blob (share version 0) under NAMESPACE with blob.Submit: the node
signs a PayForBlobs with its key, sends it to its core node and waits for a
block to include it. NAMESPACE is hex (a version 0 ID of up to 10 bytes, or
29 bytes) or the base64 of 29 bytes. DATA is the blob: @PATH reads a file,
anything else is the data itself. DATA may be at most the chain's
max_blob_size (a genesis parameter: ` + maxBlobSizeText + `);
the node refuses a larger blob with "blob: over size limit" before it signs
anything. Prints the inclusion height and the blob's commitment (base64),
which blob get takes.
--gas-price, --max-gas-price, --key-name and --kzg are blob.Submit's options
(gas_price with is_gas_price_set, max_gas_price, key_name, kzg); by default
the node pays the chain's minimum gas price with its key state.key_name.
With --kzg the node also signs the EIP-4844 KZG commitment and blob proof of
each 130044-byte chunk of DATA into the PayForBlobs (see tx pay-for-blob),
and the command prints their versioned hashes (0x-hex, one per chunk, in
order). blob.Submit returns only the height, so the command computes the
commitments from DATA, the bytes the node committed to: the chain verifies
the proofs against those bytes, so these are the commitments it includes.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := parseNamespaceArg(args[0])
			if err != nil {
				return fmt.Errorf("blob submit: %w", err)
			}
			data, err := readData("DATA", args[1])
			if err != nil {
				return fmt.Errorf("blob submit: %w", err)
			}
			b, err := blob.New(ns, data)
			if err != nil {
				return fmt.Errorf("blob submit: %w", err)
			}
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("blob submit: %w", err)
			}
			defer done()
			if cmd.Flags().Changed("gas-price") {
				cfg.IsGasPriceSet = true
			}
			height, err := cl.Blob.Submit(ctx, []*blob.Blob{b}, &cfg)
			if err != nil {
				return fmt.Errorf("blob submit: %w", err)
			}
			text := fmt.Sprintf("height: %d\ncommitment: %s\n", height, base64.StdEncoding.EncodeToString(b.Commitment))
			var hashes []string
			if cfg.KZG {
				if hashes, err = dataVersionedHashes(b.Data); err != nil {
					return fmt.Errorf("blob submit: included at height %d, but the versioned hashes: %w", height, err)
				}
				text += "versioned_hashes: " + strings.Join(hashes, " ") + "\n"
			}
			return printResult(cmd, struct {
				Height          uint64          `json:"height"`
				Commitment      blob.Commitment `json:"commitment"`
				VersionedHashes []string        `json:"versioned_hashes,omitempty"`
			}{height, b.Commitment, hashes}, text)
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.Float64Var(&cfg.GasPrice, "gas-price", 0, "gas price to pay (default: the chain's minimum)")
	f.Float64Var(&cfg.MaxGasPrice, "max-gas-price", 0, "refuse to pay a gas price above this (0: no limit)")
	f.StringVar(&cfg.KeyName, "key-name", "", "the node's keyring key to sign with (default: its state.key_name)")
	f.BoolVar(&cfg.KZG, "kzg", false, kzgFlagHelp)
	return cmd
}

func (c *cli) blobGetCmd() *cobra.Command {
	var o clientFlags
	cmd := &cobra.Command{
		Use:   "get HEIGHT NAMESPACE COMMITMENT",
		Short: "Get the blob with a commitment at a height",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			height, err := parseHeight(args[0])
			if err != nil {
				return fmt.Errorf("blob get: %w", err)
			}
			ns, err := parseNamespaceArg(args[1])
			if err != nil {
				return fmt.Errorf("blob get: %w", err)
			}
			com, err := parseCommitment(args[2])
			if err != nil {
				return fmt.Errorf("blob get: %w", err)
			}
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("blob get: %w", err)
			}
			defer done()
			b, err := cl.Blob.Get(ctx, height, ns, com)
			if err != nil {
				return fmt.Errorf("blob get: %w", err)
			}
			return printResult(cmd, b, blobText(b))
		},
	}
	o.register(cmd)
	return cmd
}

func (c *cli) blobGetAllCmd() *cobra.Command {
	var o clientFlags
	cmd := &cobra.Command{
		Use:   "get-all HEIGHT NAMESPACE...",
		Short: "Get every blob of the namespaces at a height",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			height, err := parseHeight(args[0])
			if err != nil {
				return fmt.Errorf("blob get-all: %w", err)
			}
			var nss []share.Namespace
			for _, a := range args[1:] {
				ns, err := parseNamespaceArg(a)
				if err != nil {
					return fmt.Errorf("blob get-all: %w", err)
				}
				nss = append(nss, ns)
			}
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("blob get-all: %w", err)
			}
			defer done()
			blobs, err := cl.Blob.GetAll(ctx, height, nss)
			if err != nil {
				return fmt.Errorf("blob get-all: %w", err)
			}
			if blobs == nil {
				blobs = []*blob.Blob{}
			}
			var text strings.Builder
			for i, b := range blobs {
				if i > 0 {
					text.WriteString("\n")
				}
				text.WriteString(blobText(b))
			}
			return printResult(cmd, blobs, text.String())
		},
	}
	o.register(cmd)
	return cmd
}

// blobText is a blob in the text output: its data as a string when it is
// printable, else in base64.
func blobText(b *blob.Blob) string {
	data := string(b.Data)
	if !printable(data) {
		data = "base64:" + base64.StdEncoding.EncodeToString(b.Data)
	}
	return fmt.Sprintf("namespace: %s\ncommitment: %s\nindex: %d\nshare_version: %d\ndata: %s\n",
		base64.StdEncoding.EncodeToString(b.Namespace.Bytes()), base64.StdEncoding.EncodeToString(b.Commitment), b.Index, b.ShareVersion, data)
}

func printable(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\n' && r != '\t') {
			return false
		}
	}
	return true
}

// printResult prints v as JSON with --output json, else text.
func printResult(cmd *cobra.Command, v any, text string) error {
	asJSON, err := outputJSON(cmd)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), v)
	}
	_, err = fmt.Fprint(cmd.OutOrStdout(), text)
	return err
}

func (c *cli) headerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "header",
		Short: "Read headers from a running node's API",
		Long:  "Read extended headers through a running node's JSON-RPC API (see blob for --url, --token and --home).",
	}
	var head, get clientFlags
	headCmd := &cobra.Command{
		Use:   "head",
		Short: "Print the node's newest header (header.LocalHead)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cl, done, err := c.dial(cmd, head)
			if err != nil {
				return fmt.Errorf("header head: %w", err)
			}
			defer done()
			h, err := cl.Header.LocalHead(ctx)
			if err != nil {
				return fmt.Errorf("header head: %w", err)
			}
			return printResult(cmd, h, headerText(h.Height(), h.Hash(), h.Time(), h.DataRoot(), len(h.DAH.RowRoots)/2))
		},
	}
	head.register(headCmd)
	getCmd := &cobra.Command{
		Use:   "get HEIGHT|HASH",
		Short: "Print the header at a height (header.GetByHeight) or with a hash (header.GetByHash)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cl, done, err := c.dial(cmd, get)
			if err != nil {
				return fmt.Errorf("header get: %w", err)
			}
			defer done()
			h, err := getHeader(ctx, cl, args[0])
			if err != nil {
				return fmt.Errorf("header get: %w", err)
			}
			return printResult(cmd, h, headerText(h.Height(), h.Hash(), h.Time(), h.DataRoot(), len(h.DAH.RowRoots)/2))
		},
	}
	get.register(getCmd)
	cmd.AddCommand(headCmd, getCmd)
	return cmd
}

func headerText(height uint64, hash []byte, t time.Time, dataRoot []byte, k int) string {
	return fmt.Sprintf("height: %d\nhash: %X\ntime: %s\ndata_root: %X\nsquare_size: %d\n", height, hash, t.UTC().Format(time.RFC3339Nano), dataRoot, k)
}

func (c *cli) dasCmd() *cobra.Command {
	var o clientFlags
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Print the node's sampling statistics (das.SamplingStats)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("das stats: %w", err)
			}
			defer done()
			s, err := cl.DAS.SamplingStats(ctx)
			if err != nil {
				return fmt.Errorf("das stats: %w", err)
			}
			text := fmt.Sprintf("head_of_sampled_chain: %d\nhead_of_catchup: %d\nnetwork_head_height: %d\ncatch_up_done: %t\nis_running: %t\nfailed: %d\n",
				s.SampledChainHead, s.CatchUpHead, s.NetworkHead, s.CatchUpDone, s.IsRunning, len(s.Failed))
			if b := s.BadEncoding; b != nil {
				text += fmt.Sprintf("halted: block %d (header %s) is proven badly encoded (%s %d): heights from %d on are unavailable\n",
					b.Height, b.HeaderHash, b.Axis, b.Index, b.Height)
			}
			return printResult(cmd, s, text)
		},
	}
	o.register(stats)
	cmd := &cobra.Command{Use: "das", Short: "Read a light or full node's sampling state through its API"}
	cmd.AddCommand(stats)
	return cmd
}

func (c *cli) fraudCmd() *cobra.Command {
	var o clientFlags
	get := &cobra.Command{
		Use:   "get",
		Short: "Print the bad-encoding proofs the node holds (fraud.Get)",
		Long: `Print the bad-encoding proofs the node holds, each validated against its
header: the block's height and header hash and the badly encoded row or
column. A node holding one has halted: it serves no data from that block on.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("fraud get: %w", err)
			}
			defer done()
			ps, err := cl.Fraud.Get(ctx, eds.BadEncodingProofType)
			if err != nil {
				return fmt.Errorf("fraud get: %w", err)
			}
			var text strings.Builder
			if len(ps) == 0 {
				text.WriteString("no bad-encoding proof\n")
			}
			for i, p := range ps {
				if i > 0 {
					text.WriteString("\n")
				}
				fmt.Fprintf(&text, "height: %d\nheader_hash: %X\naxis: %s\nindex: %d\n", p.Proof.Height, p.Proof.HeaderHash, p.Proof.Axis, p.Proof.Index)
			}
			return printResult(cmd, ps, text.String())
		},
	}
	o.register(get)
	cmd := &cobra.Command{Use: "fraud", Short: "Read the bad-encoding proofs a running node holds"}
	cmd.AddCommand(get)
	return cmd
}

func (c *cli) shareCmd() *cobra.Command {
	var o clientFlags
	avail := &cobra.Command{
		Use:   "available HEIGHT",
		Short: "Check that the block at a height is available (share.SharesAvailable)",
		Long: `Ask the node whether the block at HEIGHT is available: a light node answers
from its sampling (sampling it now if it has not), a full or bridge node from
the square it holds or fetches. Exits with an error when it is not.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			height, err := parseHeight(args[0])
			if err != nil {
				return fmt.Errorf("share available: %w", err)
			}
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("share available: %w", err)
			}
			defer done()
			if err := cl.Share.SharesAvailable(ctx, height); err != nil {
				return fmt.Errorf("share available: height %d: %w", height, err)
			}
			return printResult(cmd, map[string]any{"height": height, "available": true}, fmt.Sprintf("height: %d\navailable: true\n", height))
		},
	}
	o.register(avail)
	cmd := &cobra.Command{Use: "share", Short: "Check share availability through a running node's API"}
	cmd.AddCommand(avail)
	return cmd
}

// getHeader gets the header named by arg: a height, else a hex hash.
func getHeader(ctx context.Context, cl *client.Client, arg string) (*header.ExtendedHeader, error) {
	if h, err := strconv.ParseUint(arg, 10, 64); err == nil {
		return cl.Header.GetByHeight(ctx, h)
	}
	hash, err := hex.DecodeString(strings.TrimPrefix(arg, "0x"))
	if err != nil || len(hash) != 32 {
		return nil, fmt.Errorf("%q is neither a height nor a 32-byte hex hash", arg)
	}
	return cl.Header.GetByHash(ctx, hash)
}

func (c *cli) authCmd(mode nodebuilder.Mode) *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "auth read|write|admin",
		Short: "Print a token for the " + string(mode) + " node's JSON-RPC API",
		Long: `Print a JWT (HS256) for the node's JSON-RPC API, signed with the node's
secret (<home>/` + nodebuilder.SecretFile + `, created if missing). A read token
reads; a write token also submits (blob.Submit, state.Transfer); an admin
token also makes tokens and manages peers. --ttl 0 makes a token that never
expires. Send it as "Authorization: Bearer <token>".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			perm, err := api.ParsePermission(args[0])
			if err != nil {
				return fmt.Errorf("%s auth: %w", mode, err)
			}
			if ttl < 0 {
				return fmt.Errorf("%s auth: --ttl %s is negative", mode, ttl)
			}
			home, err := c.homeOf(cmd, string(mode))
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(home, nodebuilder.ConfigFile)); err != nil {
				return fmt.Errorf("%s auth: %s is not initialised (run mesh-node %s init): %w", mode, home, mode, err)
			}
			secret, err := api.LoadOrCreateSecret(filepath.Join(home, nodebuilder.SecretFile))
			if err != nil {
				return fmt.Errorf("%s auth: %w", mode, err)
			}
			token, err := api.NewToken(secret, api.PermsFor(perm), ttl)
			if err != nil {
				return fmt.Errorf("%s auth: %w", mode, err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), token)
			return err
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime, e.g. 720h; 0: no expiry")
	return cmd
}
