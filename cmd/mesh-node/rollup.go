package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	coreexec "github.com/evstack/ev-node/core/execution"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/execution/evm/ethrpc"
	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/execution/statemachine"
	"github.com/datamesh/mesh-node/execution/wasm"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/rollup/meshapi"
	rollrpc "github.com/datamesh/mesh-node/rollup/rpc"
	"github.com/datamesh/mesh-node/share"
)

// Files of a rollup node's home.
const (
	rollupGenesisFile = "genesis.json"
	rollupKeyFile     = "sequencer.key"
	rollupDevKeyFile  = "dev.key"
	rollupDataDir     = "data"
	maxRollupFileSize = 1 << 20
)

// rollupGenesisDoc is <home>/genesis.json: the rollup's genesis, the VM
// and, for the EVM, the EVM's genesis.
type rollupGenesisDoc struct {
	VM     string          `json:"vm"`
	Rollup *rollup.Genesis `json:"rollup"`
	EVM    *evm.Genesis    `json:"evm,omitempty"`
}

func (c *cli) rollupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollup",
		Short: "Run a rollup on DataMesh",
	}
	cmd.AddCommand(c.rollupRunCmd())
	return cmd
}

type rollupOptions struct {
	vm, home, daURL, daToken, headerURL, headerToken, rpcAddr, genesis, namespace, chainID string
	sequencer                                                                              bool
	blockTime                                                                              time.Duration
}

func (c *cli) rollupRunCmd() *cobra.Command {
	var o rollupOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a built-in kv, wasm or evm rollup node against a DataMesh node's API",
		Long: `Run a rollup node with a built-in executor (--vm kv, wasm or evm) against any
DataMesh node's API (--da.url, --da.token). With --sequencer it makes blocks
and posts them through that node; otherwise it follows the chain of
--genesis FILE (the sequencer's <home>/genesis.json), reading namespace data
with proofs from --da.url and the headers it trusts from --header.url
(default --da.url: normally the user's own light node).

On first start it writes <home>/genesis.json (copied from --genesis for a
follower); a sequencer generates <home>/sequencer.key (0600), the chain ID
(--chain-id, default <vm>-<first 4 bytes of the sequencer key, hex>) and the
namespace (--namespace, default the first 10 bytes of SHA-256 of the chain ID
as a version-0 namespace), and starts at the DataMesh head; an evm sequencer
funds a development account whose hex private key it writes to
<home>/dev.key. A later start reads these files. The state (executor, rollup
store, transaction index) is one Badger database in <home>/data.

It serves JSON-RPC over HTTP POST at --rpc.addr: rollup_submitTx,
rollup_txStatus, rollup_status, rollup_getBlock and rollup_query; an evm node
serves the Ethereum JSON-RPC (eth_*, net_version) there, with the rollup_*
methods beside it. SIGINT or SIGTERM stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.homeOf(cmd, "rollup")
			if err != nil {
				return err
			}
			o.home = home
			return runRollup(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.vm, "vm", "", "executor: kv, wasm or evm (required)")
	f.StringVar(&o.daURL, "da.url", "", "URL of the DataMesh node's API: blobs are posted and namespace data read there (required)")
	f.StringVar(&o.daToken, "da.token", "", "auth token of --da.url")
	f.StringVar(&o.headerURL, "header.url", "", "URL of the trusted node whose headers the follower checks data against (default --da.url)")
	f.StringVar(&o.headerToken, "header.token", "", "auth token of --header.url (default --da.token when --header.url is not set)")
	f.StringVar(&o.rpcAddr, "rpc.addr", "127.0.0.1:8545", "HOST:PORT of the rollup's JSON-RPC")
	f.BoolVar(&o.sequencer, "sequencer", false, "make and post blocks (otherwise follow)")
	f.StringVar(&o.genesis, "genesis", "", "genesis file to copy into the home (a follower's first start)")
	f.StringVar(&o.namespace, "namespace", "", "namespace, 29 bytes hex or a version-0 ID of at most 10 bytes hex (a sequencer's first start)")
	f.StringVar(&o.chainID, "chain-id", "", "chain ID (a sequencer's first start; default <vm>-<key prefix>)")
	f.DurationVar(&o.blockTime, "block-time", time.Second, "how often the sequencer makes a block")
	return cmd
}

// runRollup runs the node until the command's context ends.
func runRollup(cmd *cobra.Command, o rollupOptions) error {
	ctx := cmd.Context()
	switch o.vm {
	case "kv", "wasm", "evm":
	case "":
		return errors.New("rollup run: --vm is required: kv, wasm or evm")
	default:
		return fmt.Errorf("rollup run: --vm %q: want kv, wasm or evm", o.vm)
	}
	if o.daURL == "" {
		return errors.New("rollup run: --da.url is required")
	}
	if _, _, err := net.SplitHostPort(o.rpcAddr); err != nil {
		return fmt.Errorf("rollup run: --rpc.addr %q: want HOST:PORT: %w", o.rpcAddr, err)
	}
	if o.blockTime <= 0 {
		return fmt.Errorf("rollup run: --block-time %s: must be positive", o.blockTime)
	}
	if !o.sequencer && (o.namespace != "" || o.chainID != "") {
		return errors.New("rollup run: --namespace and --chain-id are a sequencer's: a follower takes them from --genesis")
	}
	if o.headerURL == "" {
		o.headerURL, o.headerToken = o.daURL, o.daToken
	}
	if err := os.MkdirAll(o.home, 0o700); err != nil {
		return fmt.Errorf("rollup run: home: %w", err)
	}
	da, err := client.New(ctx, o.daURL, o.daToken)
	if err != nil {
		return fmt.Errorf("rollup run: --da.url: %w", err)
	}
	defer da.Close()
	hc := da
	if o.headerURL != o.daURL || o.headerToken != o.daToken {
		if hc, err = client.New(ctx, o.headerURL, o.headerToken); err != nil {
			return fmt.Errorf("rollup run: --header.url: %w", err)
		}
		defer hc.Close()
	}
	var key ed25519.PrivateKey
	if o.sequencer {
		if key, err = loadSequencerKey(o.home); err != nil {
			return err
		}
	}
	doc, err := rollupGenesis(ctx, o, key, hc)
	if err != nil {
		return err
	}
	g := doc.Rollup

	db, err := badgerdb.Open(badgerdb.Options(filepath.Join(o.home, rollupDataDir)))
	if err != nil {
		return fmt.Errorf("rollup run: database: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "rollup run: closing the database:", err)
		}
	}()
	x, err := openExecutor(ctx, db, doc)
	if err != nil {
		return err
	}
	defer x.close()
	st, err := rollup.OpenStore(db, g)
	if err != nil {
		return fmt.Errorf("rollup run: %w", err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))

	var statusOf func() rollrpc.Status
	var svc interface{ Stop(context.Context) error }
	if o.sequencer {
		// The sequencer reads the forced-inclusion namespace as followers
		// do (verified against trusted headers), so it includes forced
		// transactions before their deadline.
		seq, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: x.exec, Store: st,
			DA: meshapi.Submitter{C: da}, Headers: meshapi.Headers{C: hc}, Data: meshapi.Data{C: da, Name: o.daURL},
			BlockTime: o.blockTime, Logger: log})
		if err != nil {
			return fmt.Errorf("rollup run: %w", err)
		}
		if err := seq.Start(ctx); err != nil {
			return fmt.Errorf("rollup run: start the sequencer: %w", err)
		}
		svc = seq
		statusOf = func() rollrpc.Status {
			s := seq.Status()
			return rollrpc.Status{Role: "sequencer", ChainID: g.ChainID, Height: s.Height, StateRoot: s.StateRoot, DAHeight: s.PostedDA,
				Posted: s.Posted, Unposted: s.Unposted, LastError: s.LastError}
		}
	} else {
		fol, err := rollup.NewFollower(rollup.FollowerConfig{Genesis: g, Executor: x.exec, Store: st,
			Headers: meshapi.Headers{C: hc}, Data: meshapi.Data{C: da, Name: o.daURL}, Logger: log})
		if err != nil {
			return fmt.Errorf("rollup run: %w", err)
		}
		if err := fol.Start(ctx); err != nil {
			return fmt.Errorf("rollup run: start the follower: %w", err)
		}
		svc = fol
		statusOf = func() rollrpc.Status {
			s := fol.Status()
			return rollrpc.Status{Role: "follower", ChainID: g.ChainID, Height: s.Height, StateRoot: s.StateRoot, DAHeight: s.DAHeight,
				LastError: s.LastError, Halted: s.Halted}
		}
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := svc.Stop(sctx); err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "rollup run: stopping:", err)
		}
	}()

	api, err := rollrpc.NewAPI(rollrpc.Config{Store: st, DB: db, Mempool: x.exec, Submit: x.submit, Status: statusOf, Query: x.query,
		Results: x.results})
	if err != nil {
		return fmt.Errorf("rollup run: %w", err)
	}
	var handler http.Handler
	if x.evm != nil {
		eth, err := ethrpc.New(x.evm)
		if err != nil {
			return fmt.Errorf("rollup run: %w", err)
		}
		defer eth.Close()
		if err := eth.RegisterName("rollup", api); err != nil {
			return fmt.Errorf("rollup run: %w", err)
		}
		handler = eth
	} else if handler, err = rollrpc.NewServer(api, log); err != nil {
		return fmt.Errorf("rollup run: %w", err)
	}
	ln, err := net.Listen("tcp", o.rpcAddr)
	if err != nil {
		return fmt.Errorf("rollup run: --rpc.addr: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	role := "follower"
	if o.sequencer {
		role = "sequencer"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "rollup %s (%s) of chain %s, namespace %X: JSON-RPC at http://%s\n", role, o.vm, g.ChainID, g.Namespace.Bytes(), ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("rollup run: JSON-RPC server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("rollup run: stopping the JSON-RPC server: %w", err)
	}
	return nil
}

// loadSequencerKey reads <home>/sequencer.key (the ed25519 seed, hex),
// generating it on first start.
func loadSequencerKey(home string) (ed25519.PrivateKey, error) {
	path := filepath.Join(home, rollupKeyFile)
	b, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("rollup run: sequencer key: %w", err)
		}
		if err := atomicfile.Write(path, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("rollup run: sequencer key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("rollup run: sequencer key: %w", err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("rollup run: %s: want a %d-byte ed25519 seed in hex", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxRollupFileSize {
		return nil, fmt.Errorf("%s: %d bytes, over %d", path, fi.Size(), maxRollupFileSize)
	}
	b := make([]byte, fi.Size())
	_, err = f.Read(b)
	if fi.Size() == 0 {
		err = nil
	}
	return b, err
}

func readGenesisDoc(path string) (*rollupGenesisDoc, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	var doc rollupGenesisDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Rollup == nil {
		return nil, fmt.Errorf("%s: no rollup genesis", path)
	}
	if err := doc.Rollup.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case doc.VM == "evm" && doc.EVM == nil:
		return nil, fmt.Errorf("%s: vm evm without an evm genesis", path)
	case doc.VM != "evm" && doc.EVM != nil:
		return nil, fmt.Errorf("%s: an evm genesis for vm %q", path, doc.VM)
	}
	if doc.EVM != nil {
		if err := doc.EVM.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &doc, nil
}

// rollupGenesis returns the home's genesis, writing it on first start:
// copied from --genesis, or made by a sequencer.
func rollupGenesis(ctx context.Context, o rollupOptions, key ed25519.PrivateKey, hc *client.Client) (*rollupGenesisDoc, error) {
	path := filepath.Join(o.home, rollupGenesisFile)
	doc, err := readGenesisDoc(path)
	switch {
	case err == nil:
		if o.genesis != "" {
			given, err := readGenesisDoc(o.genesis)
			if err != nil {
				return nil, fmt.Errorf("rollup run: --genesis: %w", err)
			}
			a, _ := json.Marshal(given)
			b, _ := json.Marshal(doc)
			if !bytes.Equal(a, b) {
				return nil, fmt.Errorf("rollup run: --genesis %s differs from %s, which this home runs", o.genesis, path)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if doc, err = newRollupGenesis(ctx, o, key, hc); err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("rollup run: genesis: %w", err)
		}
		if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("rollup run: genesis: %w", err)
		}
	default:
		return nil, fmt.Errorf("rollup run: genesis: %w", err)
	}
	if doc.VM != o.vm {
		return nil, fmt.Errorf("rollup run: --vm %s, but %s is a %s rollup", o.vm, path, doc.VM)
	}
	if key != nil && !doc.Rollup.Sequencer.Equal(key.Public()) {
		return nil, fmt.Errorf("rollup run: --sequencer: %s is not the key of the genesis' sequencer", filepath.Join(o.home, rollupKeyFile))
	}
	return doc, nil
}

func newRollupGenesis(ctx context.Context, o rollupOptions, key ed25519.PrivateKey, hc *client.Client) (*rollupGenesisDoc, error) {
	if o.genesis != "" {
		doc, err := readGenesisDoc(o.genesis)
		if err != nil {
			return nil, fmt.Errorf("rollup run: --genesis: %w", err)
		}
		return doc, nil
	}
	if key == nil {
		return nil, errors.New("rollup run: a follower needs --genesis FILE (the sequencer's <home>/genesis.json) on its first start")
	}
	pub := key.Public().(ed25519.PublicKey)
	chainID := o.chainID
	if chainID == "" {
		chainID = fmt.Sprintf("%s-%x", o.vm, pub[:4])
	}
	ns, err := rollupNamespace(o.namespace, chainID)
	if err != nil {
		return nil, err
	}
	head, err := hc.Header.LocalHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup run: the DataMesh head to start at: %w", err)
	}
	doc := &rollupGenesisDoc{VM: o.vm, Rollup: &rollup.Genesis{ChainID: chainID, Namespace: ns, Sequencer: pub,
		DAStartHeight: head.Height(), InitialHeight: 1, Time: time.Now().UTC().Truncate(time.Millisecond)}}
	if err := doc.Rollup.Validate(); err != nil {
		return nil, fmt.Errorf("rollup run: genesis: %w", err)
	}
	if o.vm == "evm" {
		sum := sha256.Sum256([]byte(chainID))
		// A numeric EIP-155 chain ID from the chain ID, below 2^31.
		g, devKey, err := evm.DevGenesis(uint64(binary.BigEndian.Uint32(sum[:4])>>1) + 1)
		if err != nil {
			return nil, fmt.Errorf("rollup run: %w", err)
		}
		if err := atomicfile.Write(filepath.Join(o.home, rollupDevKeyFile), []byte(evm.KeyHex(devKey)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("rollup run: dev key: %w", err)
		}
		doc.EVM = &g
	}
	return doc, nil
}

// rollupNamespace parses --namespace, or derives the namespace from the
// chain ID.
func rollupNamespace(flag, chainID string) (share.Namespace, error) {
	var ns share.Namespace
	var err error
	if flag == "" {
		sum := sha256.Sum256([]byte(chainID))
		ns, err = share.NewV0Namespace(sum[:share.NamespaceVersionZeroIDSize])
	} else {
		b, herr := hex.DecodeString(strings.TrimPrefix(flag, "0x"))
		switch {
		case herr != nil:
			err = fmt.Errorf("not hex: %w", herr)
		case len(b) == share.NamespaceSize:
			ns, err = share.NamespaceFromBytes(b)
		default:
			ns, err = share.NewV0Namespace(b)
		}
	}
	if err == nil {
		err = ns.ValidateForBlob()
	}
	if err != nil {
		return share.Namespace{}, fmt.Errorf("rollup run: --namespace %q: %w", flag, err)
	}
	return ns, nil
}

// rollupExecutor is the node's executor with what the RPC needs of it.
type rollupExecutor struct {
	exec   coreexec.Executor
	submit func(ctx context.Context, tx []byte) error
	query  rollrpc.QueryFunc
	// results are the per-transaction outcomes of a block (kv, wasm).
	results func(ctx context.Context, height uint64) (json.RawMessage, error)
	evm     *evm.Executor
	close   func()
}

func openExecutor(ctx context.Context, db *badger.DB, doc *rollupGenesisDoc) (*rollupExecutor, error) {
	switch doc.VM {
	case "kv":
		x, err := kv.New(db, kv.Config{})
		if err != nil {
			return nil, fmt.Errorf("rollup run: %w", err)
		}
		query := func(ctx context.Context, q []byte) (json.RawMessage, uint64, []byte, error) {
			kq, err := kv.DecodeQuery(q)
			if err != nil {
				return nil, 0, nil, fmt.Errorf("%w: %w", rollrpc.ErrInvalidParams, err)
			}
			a, err := x.Query(ctx, kq)
			if err != nil {
				return nil, 0, nil, err
			}
			b, err := json.Marshal(a)
			return b, a.Height, a.StateRoot, err
		}
		return &rollupExecutor{exec: x, submit: x.SubmitTx, query: query, results: chainResults(x.Chain), close: func() {}}, nil
	case "wasm":
		vm, err := wasm.New(ctx, wasm.Config{})
		if err != nil {
			return nil, fmt.Errorf("rollup run: %w", err)
		}
		x, err := wasm.NewExecutor(db, vm, statemachine.Config{})
		if err != nil {
			_ = vm.Close(ctx)
			return nil, fmt.Errorf("rollup run: %w", err)
		}
		query := func(ctx context.Context, q []byte) (json.RawMessage, uint64, []byte, error) {
			var sq struct {
				Type     string        `json:"type"`
				Contract rollrpc.Bytes `json:"contract"`
				Key      rollrpc.Bytes `json:"key"`
			}
			if err := json.Unmarshal(q, &sq); err != nil || sq.Type != "storage" || len(sq.Contract) != wasm.AddressSize {
				return nil, 0, nil, fmt.Errorf(`%w: want {"type":"storage","contract":HEX of %d bytes,"key":HEX}`, rollrpc.ErrInvalidParams, wasm.AddressSize)
			}
			a, err := x.ProveStorage(ctx, wasm.Address(sq.Contract), sq.Key)
			if err != nil {
				return nil, 0, nil, err
			}
			b, err := json.Marshal(a)
			return b, a.Height, a.StateRoot, err
		}
		return &rollupExecutor{exec: x, submit: x.SubmitTx, query: query, results: chainResults(x.Chain),
			close: func() { _ = vm.Close(context.Background()) }}, nil
	default:
		x, err := evm.New(db, *doc.EVM, evm.Config{})
		if err != nil {
			return nil, fmt.Errorf("rollup run: %w", err)
		}
		return &rollupExecutor{exec: x, submit: x.SubmitTx, evm: x, close: func() {}}, nil
	}
}

// chainResults serves a statemachine chain's per-transaction results.
func chainResults(c *statemachine.Chain) func(context.Context, uint64) (json.RawMessage, error) {
	return func(ctx context.Context, height uint64) (json.RawMessage, error) {
		res, _, err := c.Results(ctx, height)
		if err != nil {
			return nil, err
		}
		if res == nil {
			res = []statemachine.TxResult{}
		}
		return json.Marshal(res)
	}
}
