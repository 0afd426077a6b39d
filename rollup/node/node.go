package node

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
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/execution/evm/ethrpc"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/rollup/meshapi"
	rollrpc "github.com/datamesh/mesh-node/rollup/rpc"
	"github.com/datamesh/mesh-node/share"
)

// Files of a rollup node's home.
const (
	GenesisFile = "genesis.json"
	KeyFile     = "sequencer.key"
	DevKeyFile  = "dev.key"
	DataDir     = "data"
	maxFileSize = 1 << 20
)

// GenesisDoc is <home>/genesis.json: the rollup's genesis, the VM and, for
// the EVM, the EVM's genesis.
type GenesisDoc struct {
	VM     string          `json:"vm"`
	Rollup *rollup.Genesis `json:"rollup"`
	EVM    *evm.Genesis    `json:"evm,omitempty"`
}

// Config is a node's configuration; the fields mirror the flags of
// `mesh-node rollup run`.
type Config struct {
	// VM is the genesis' VM: kv, wasm or evm for OpenBuiltin, any name
	// for a custom Open (a non-evm VM has no EVM genesis).
	VM string
	// Home holds genesis.json, sequencer.key, dev.key and data/.
	Home string
	// DAURL and DAToken reach the DataMesh node blobs are posted to and
	// namespace data read from.
	DAURL, DAToken string
	// HeaderURL and HeaderToken reach the node whose headers are trusted
	// (default DAURL and DAToken).
	HeaderURL, HeaderToken string
	// RPCAddr is HOST:PORT of the rollup's JSON-RPC (Run only).
	RPCAddr string
	// Sequencer makes and posts blocks; otherwise the node follows.
	Sequencer bool
	// Genesis is a genesis file to copy into the home on first start.
	Genesis string
	// Namespace and ChainID are a sequencer's first start's: see
	// `mesh-node rollup run --help` for their defaults.
	Namespace, ChainID string
	// BlockTime is how often the sequencer makes a block (Run only).
	BlockTime time.Duration
	// Open opens the executor; nil is OpenBuiltin.
	Open OpenFunc
	// Out receives the line saying where the JSON-RPC listens; Log the
	// node's logs (default: discarded and a text handler on os.Stderr).
	Out io.Writer
	Log *slog.Logger
}

func (o *Config) check(run bool) error {
	if o.VM == "" {
		return errors.New("rollup node: no VM")
	}
	if o.Open == nil {
		switch o.VM {
		case "kv", "wasm", "evm":
		default:
			return fmt.Errorf("rollup node: --vm %q: want kv, wasm or evm", o.VM)
		}
	}
	if o.Home == "" {
		return errors.New("rollup node: no home directory")
	}
	if o.DAURL == "" {
		return errors.New("rollup node: --da.url is required")
	}
	if run {
		if _, _, err := net.SplitHostPort(o.RPCAddr); err != nil {
			return fmt.Errorf("rollup node: --rpc.addr %q: want HOST:PORT: %w", o.RPCAddr, err)
		}
		if o.BlockTime <= 0 {
			return fmt.Errorf("rollup node: --block-time %s: must be positive", o.BlockTime)
		}
	}
	if !o.Sequencer && (o.Namespace != "" || o.ChainID != "") {
		return errors.New("rollup node: --namespace and --chain-id are a sequencer's: a follower takes them from --genesis")
	}
	if o.HeaderURL == "" {
		o.HeaderURL, o.HeaderToken = o.DAURL, o.DAToken
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Open == nil {
		o.Open = OpenBuiltin
	}
	return os.MkdirAll(o.Home, 0o700)
}

// Init writes the home's genesis (and a sequencer's key, and an EVM
// sequencer's dev.key) as Run's first start would, and returns it; a home
// that has them is read and checked against cfg.
func Init(ctx context.Context, cfg Config) (*GenesisDoc, error) {
	if err := cfg.check(false); err != nil {
		return nil, err
	}
	hc, err := client.New(ctx, cfg.HeaderURL, cfg.HeaderToken)
	if err != nil {
		return nil, fmt.Errorf("rollup node: header API: %w", err)
	}
	defer hc.Close()
	var key ed25519.PrivateKey
	if cfg.Sequencer {
		if key, err = loadSequencerKey(cfg.Home); err != nil {
			return nil, err
		}
	}
	return homeGenesis(ctx, cfg, key, hc)
}

// Run runs the node until ctx ends: it stops the sequencer or follower
// and the JSON-RPC server and returns nil then.
func Run(ctx context.Context, o Config) error {
	if err := o.check(true); err != nil {
		return err
	}
	da, err := client.New(ctx, o.DAURL, o.DAToken)
	if err != nil {
		return fmt.Errorf("rollup node: --da.url: %w", err)
	}
	defer da.Close()
	hc := da
	if o.HeaderURL != o.DAURL || o.HeaderToken != o.DAToken {
		if hc, err = client.New(ctx, o.HeaderURL, o.HeaderToken); err != nil {
			return fmt.Errorf("rollup node: --header.url: %w", err)
		}
		defer hc.Close()
	}
	var key ed25519.PrivateKey
	if o.Sequencer {
		if key, err = loadSequencerKey(o.Home); err != nil {
			return err
		}
	}
	doc, err := homeGenesis(ctx, o, key, hc)
	if err != nil {
		return err
	}
	g := doc.Rollup

	db, err := badgerdb.Open(badgerdb.Options(filepath.Join(o.Home, DataDir)))
	if err != nil {
		return fmt.Errorf("rollup node: database: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			o.Log.Error("rollup node: closing the database", "err", err)
		}
	}()
	x, err := o.Open(ctx, db, doc)
	if err != nil {
		return err
	}
	if x.Close != nil {
		defer x.Close()
	}
	st, err := rollup.OpenStore(db, g)
	if err != nil {
		return fmt.Errorf("rollup node: %w", err)
	}
	log := o.Log

	var statusOf func() rollrpc.Status
	var svc interface{ Stop(context.Context) error }
	if o.Sequencer {
		// The sequencer reads the forced-inclusion namespace as followers
		// do (verified against trusted headers), so it includes forced
		// transactions before their deadline.
		seq, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: x.Exec, Store: st,
			DA: meshapi.Submitter{C: da}, Headers: meshapi.Headers{C: hc}, Data: meshapi.Data{C: da, Name: o.DAURL},
			BlockTime: o.BlockTime, Logger: log})
		if err != nil {
			return fmt.Errorf("rollup node: %w", err)
		}
		if err := seq.Start(ctx); err != nil {
			return fmt.Errorf("rollup node: start the sequencer: %w", err)
		}
		svc = seq
		statusOf = func() rollrpc.Status {
			s := seq.Status()
			return rollrpc.Status{Role: "sequencer", ChainID: g.ChainID, Height: s.Height, StateRoot: s.StateRoot, DAHeight: s.PostedDA,
				Posted: s.Posted, Unposted: s.Unposted, LastError: s.LastError}
		}
	} else {
		fol, err := rollup.NewFollower(rollup.FollowerConfig{Genesis: g, Executor: x.Exec, Store: st,
			Headers: meshapi.Headers{C: hc}, Data: meshapi.Data{C: da, Name: o.DAURL}, Logger: log})
		if err != nil {
			return fmt.Errorf("rollup node: %w", err)
		}
		if err := fol.Start(ctx); err != nil {
			return fmt.Errorf("rollup node: start the follower: %w", err)
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
			o.Log.Error("rollup node: stopping", "err", err)
		}
	}()

	api, err := rollrpc.NewAPI(rollrpc.Config{Store: st, DB: db, Mempool: x.Exec, Submit: x.Submit, Status: statusOf, Query: x.Query,
		Results: x.Results})
	if err != nil {
		return fmt.Errorf("rollup node: %w", err)
	}
	var handler http.Handler
	if x.EVM != nil {
		eth, err := ethrpc.New(x.EVM)
		if err != nil {
			return fmt.Errorf("rollup node: %w", err)
		}
		defer eth.Close()
		if err := eth.RegisterName("rollup", api); err != nil {
			return fmt.Errorf("rollup node: %w", err)
		}
		handler = eth
	} else if handler, err = rollrpc.NewServer(api, log); err != nil {
		return fmt.Errorf("rollup node: %w", err)
	}
	ln, err := net.Listen("tcp", o.RPCAddr)
	if err != nil {
		return fmt.Errorf("rollup node: --rpc.addr: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	role := "follower"
	if o.Sequencer {
		role = "sequencer"
	}
	fmt.Fprintf(o.Out, "rollup %s (%s) of chain %s, namespace %X: JSON-RPC at http://%s\n", role, o.VM, g.ChainID, g.Namespace.Bytes(), ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("rollup node: JSON-RPC server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("rollup node: stopping the JSON-RPC server: %w", err)
	}
	return nil
}

// loadSequencerKey reads <home>/sequencer.key (the ed25519 seed, hex),
// generating it on first start.
func loadSequencerKey(home string) (ed25519.PrivateKey, error) {
	path := filepath.Join(home, KeyFile)
	b, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("rollup node: sequencer key: %w", err)
		}
		if err := atomicfile.Write(path, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("rollup node: sequencer key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("rollup node: sequencer key: %w", err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("rollup node: %s: want a %d-byte ed25519 seed in hex", path, ed25519.SeedSize)
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
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, over %d", path, fi.Size(), maxFileSize)
	}
	b := make([]byte, fi.Size())
	_, err = f.Read(b)
	if fi.Size() == 0 {
		err = nil
	}
	return b, err
}

// ReadGenesisDoc reads a home's genesis.json (GenesisFile), strictly.
func ReadGenesisDoc(path string) (*GenesisDoc, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	var doc GenesisDoc
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
func homeGenesis(ctx context.Context, o Config, key ed25519.PrivateKey, hc *client.Client) (*GenesisDoc, error) {
	path := filepath.Join(o.Home, GenesisFile)
	doc, err := ReadGenesisDoc(path)
	switch {
	case err == nil:
		if o.Genesis != "" {
			given, err := ReadGenesisDoc(o.Genesis)
			if err != nil {
				return nil, fmt.Errorf("rollup node: --genesis: %w", err)
			}
			a, _ := json.Marshal(given)
			b, _ := json.Marshal(doc)
			if !bytes.Equal(a, b) {
				return nil, fmt.Errorf("rollup node: --genesis %s differs from %s, which this home runs", o.Genesis, path)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if doc, err = newGenesis(ctx, o, key, hc); err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("rollup node: genesis: %w", err)
		}
		if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("rollup node: genesis: %w", err)
		}
	default:
		return nil, fmt.Errorf("rollup node: genesis: %w", err)
	}
	if doc.VM != o.VM {
		return nil, fmt.Errorf("rollup node: --vm %s, but %s is a %s rollup", o.VM, path, doc.VM)
	}
	if key != nil && !doc.Rollup.Sequencer.Equal(key.Public()) {
		return nil, fmt.Errorf("rollup node: --sequencer: %s is not the key of the genesis' sequencer", filepath.Join(o.Home, KeyFile))
	}
	return doc, nil
}

func newGenesis(ctx context.Context, o Config, key ed25519.PrivateKey, hc *client.Client) (*GenesisDoc, error) {
	if o.Genesis != "" {
		doc, err := ReadGenesisDoc(o.Genesis)
		if err != nil {
			return nil, fmt.Errorf("rollup node: --genesis: %w", err)
		}
		return doc, nil
	}
	if key == nil {
		return nil, errors.New("rollup node: a follower needs --genesis FILE (the sequencer's <home>/genesis.json) on its first start")
	}
	pub := key.Public().(ed25519.PublicKey)
	chainID := o.ChainID
	if chainID == "" {
		chainID = fmt.Sprintf("%s-%x", o.VM, pub[:4])
	}
	ns, err := ParseNamespace(o.Namespace, chainID)
	if err != nil {
		return nil, err
	}
	head, err := hc.Header.LocalHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup node: the DataMesh head to start at: %w", err)
	}
	doc := &GenesisDoc{VM: o.VM, Rollup: &rollup.Genesis{ChainID: chainID, Namespace: ns, Sequencer: pub,
		DAStartHeight: head.Height(), InitialHeight: 1, Time: time.Now().UTC().Truncate(time.Millisecond)}}
	if err := doc.Rollup.Validate(); err != nil {
		return nil, fmt.Errorf("rollup node: genesis: %w", err)
	}
	if o.VM == "evm" {
		sum := sha256.Sum256([]byte(chainID))
		// A numeric EIP-155 chain ID from the chain ID, below 2^31.
		g, devKey, err := evm.DevGenesis(uint64(binary.BigEndian.Uint32(sum[:4])>>1) + 1)
		if err != nil {
			return nil, fmt.Errorf("rollup node: %w", err)
		}
		if err := atomicfile.Write(filepath.Join(o.Home, DevKeyFile), []byte(evm.KeyHex(devKey)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("rollup node: dev key: %w", err)
		}
		doc.EVM = &g
	}
	return doc, nil
}

// rollupNamespace parses --namespace, or derives the namespace from the
// chain ID.
func ParseNamespace(flag, chainID string) (share.Namespace, error) {
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
		return share.Namespace{}, fmt.Errorf("rollup node: --namespace %q: %w", flag, err)
	}
	return ns, nil
}
