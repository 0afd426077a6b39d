package meshnode_test

// This test enforces the package boundaries of docs/architecture.md on the
// non-test Go files of the module: which of our packages each package may
// import, which third-party modules it may use, and that production code never
// imports the Celestia libraries (they are test oracles only).

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/datamesh/mesh-node"

// allowed lists, per top-level package of ours, the import path prefixes its
// production code may use besides the standard library. A package absent
// from the map fails the test, so a new package must state its rules here.
var allowed = map[string][]string{
	"merkle": {},
	// blobstream: data root tuples, tuple roots and proofs (merkle); the
	// attestation digests and EVM signatures (secp256k1, Keccak-256); the
	// SharesProof of Celestia's contracts, built from eds.ShareProof (eds,
	// nmt, share) and verified as DAVerifier does.
	"blobstream": {module + "/merkle", module + "/eds", module + "/nmt", module + "/share",
		"github.com/decred/dcrd/dcrec/secp256k1/v4", "golang.org/x/crypto/sha3"},
	"nmt":   {"google.golang.org/protobuf/encoding/protowire"},
	"share": {module + "/nmt", module + "/merkle", "google.golang.org/protobuf/encoding/protowire"},
	"eds":   {module + "/share", module + "/nmt", module + "/merkle", "github.com/klauspost/reedsolomon", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	// header owns header-ex, header-sub and the syncer (docs/architecture.md,
	// layer 3), so its subpackages speak libp2p directly; they do
	// not import p2p/, whose host they are handed.
	"header": {module + "/eds", module + "/share", module + "/nmt", module + "/merkle", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire",
		"github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub", "github.com/libp2p/go-msgio", module + "/internal"},
	// das declares the Getter it samples through; shrex implements it, so
	// das imports neither shrex nor libp2p (STYLE example 7).
	"das": {module + "/eds", module + "/share", module + "/nmt", module + "/header", "github.com/dgraph-io/badger/v4"},
	"p2p": {module + "/internal/atomicfile", "github.com/libp2p", "github.com/multiformats", "github.com/ipfs/go-datastore", "github.com/ipfs/go-log/v2"},
	// shrex serves and fetches shares over libp2p; it takes protocol IDs
	// from p2p but not its node, whose host it is handed.
	"shrex": {module + "/internal", module + "/eds", module + "/share", module + "/nmt", module + "/header", module + "/p2p", "github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub", "github.com/libp2p/go-msgio", "github.com/multiformats/go-multistream", "google.golang.org/protobuf/encoding/protowire"},
	// shrex/getter implements das.Getter over shrex and the peer manager;
	// it imports das for the interface and das.ErrUnavailable.
	"shrex/getter": {module + "/shrex", module + "/das", module + "/eds", module + "/share", module + "/nmt", module + "/header", "github.com/libp2p/go-libp2p/core"},
	"nodebuilder":  {module, "github.com/libp2p", "github.com/multiformats", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "github.com/BurntSushi/toml", "github.com/prometheus/client_golang"},
	// core/coretest registers each test validator's blobstream key.
	"core": {module + "/internal/freeport", module + "/header", module + "/eds", module + "/share", module + "/nmt", module + "/merkle", module + "/blobstream", "github.com/decred/dcrd/dcrec/secp256k1/v4", "github.com/cometbft/cometbft", "github.com/cometbft/cometbft-db", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	// cmd also writes a fetched dataset's files with boxo's UnixFS reader
	// (blockservice, merkledag, unixfs/file, files) over the blockstore of
	// its cached parts; its tests build DAGs in in-memory boxo blockstores
	// (go-datastore). rollup run holds its executor as an ev-node Executor.
	"cmd": {module, "github.com/spf13/cobra", "github.com/BurntSushi/toml", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "github.com/filecoin-project/go-jsonrpc",
		"github.com/ipfs/boxo/blockstore", "github.com/ipfs/go-datastore", "github.com/ipfs/go-cid", "github.com/ipfs/go-block-format",
		"github.com/ipfs/boxo/blockservice", "github.com/ipfs/boxo/ipld/merkledag", "github.com/ipfs/boxo/ipld/unixfs/file", "github.com/ipfs/boxo/files",
		"github.com/evstack/ev-node/core/execution"},
	// execution/wasm is the WASM contract VM: wazero runs contracts, wabin
	// decodes and re-encodes modules for validation and gas instrumentation.
	// Its Executor runs contracts over the statemachine base.
	"execution/wasm": {module + "/execution/statemachine", module + "/merkle", "github.com/evstack/ev-node/core/execution", "github.com/dgraph-io/badger/v4",
		"github.com/tetratelabs/wazero", "github.com/tetratelabs/wabin"},
	"internal/fuzzcorpus": {},
	// internal/devnetproc runs a devnet process for the interop modules:
	// the standard library only.
	"internal/devnetproc": {},
	// internal/peerlimit is the per-peer stream and rate limit of the
	// header-ex and shrex servers.
	"internal/peerlimit": {"github.com/libp2p/go-libp2p/core"},
	// internal/streamserver is the stream handler lifecycle of the
	// header-ex and shrex servers, and the settings they share (it builds
	// their per-peer limiter).
	"internal/streamserver": {"github.com/libp2p/go-libp2p/core", module + "/internal/peerlimit"},
	// internal/streamclient is the request stream lifecycle of the
	// header-ex and shrex clients: libp2p's core interfaces only.
	"internal/streamclient": {"github.com/libp2p/go-libp2p/core"},
	// internal/topic is the pubsub topic lifecycle of header-sub and
	// eds-sub.
	"internal/topic": {"github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub"},
	// internal/p2ptest holds the libp2p helpers of tests; it makes hosts,
	// so it needs go-libp2p itself, not only its core.
	"internal/p2ptest": {"github.com/libp2p/go-libp2p", "github.com/libp2p/go-libp2p-pubsub"},
	"tools/benchtable": {},
	// internal/freeport reserves loopback ports for tests and devnets;
	// stdlib only.
	"internal/freeport": {},
	// internal/jsonscan reads JSON tokens in place for the one-pass
	// decoders of blob.Submit; stdlib only.
	"internal/jsonscan": {},
	// internal/fdlimit reads and raises RLIMIT_NOFILE; stdlib only.
	"internal/fdlimit": {},
	// internal/cowmap is the copy-on-write map of the application's
	// per-block state versions; stdlib only.
	"internal/cowmap": {},
	// internal/heappeak measures a test's peak heap in use; stdlib only.
	"internal/heappeak": {},
	// blob is the blob service of the API: it reads blobs from squares
	// (through a getter it declares) and keeps the commitment index in the
	// node's Badger database.
	// It reads the KZG commitments of a blob's PayForBlobs (core/tx) and
	// checks and opens them (kzg).
	"blob": {module + "/internal/jsonscan", module + "/share", module + "/nmt", module + "/merkle", module + "/eds", module + "/header", module + "/state", module + "/core/tx", module + "/kzg", "github.com/dgraph-io/badger/v4"},
	// core/tx is what clients of the chain import to sign transactions:
	// formats, addresses, gas, codes. It is the application's too, so it
	// must stay free of ABCI and Badger (core/app keeps those).
	// It verifies EVM address registrations with blobstream's signatures.
	"core/tx": {module + "/share", module + "/blobstream", "github.com/cometbft/cometbft/crypto/secp256k1", "github.com/cometbft/cometbft/libs/bytes", "github.com/decred/dcrd/dcrec/secp256k1/v4", "golang.org/x/crypto/sha3", "google.golang.org/protobuf/encoding/protowire"},
	// core/tx/txtest signs transactions for tests, KZG commitments
	// included, which it computes with kzg.
	"core/tx/txtest": {module + "/core/tx", module + "/share", module + "/kzg", "github.com/cometbft/cometbft/crypto/secp256k1"},
	// core/app is the chain application; it verifies the KZG proofs of
	// PayForBlobs with kzg.
	// It runs Blobstream's attestations with blobstream.
	"core/app": {module + "/core/tx", module + "/core/staking", module + "/internal/cowmap", module + "/kzg", module + "/header", module + "/eds", module + "/share", module + "/merkle", module + "/blobstream",
		"github.com/decred/dcrd/dcrec/secp256k1/v4", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	// state signs and submits transactions to a core node's RPC, through
	// CometBFT's plain JSON-RPC client: its rpc/client/http would link
	// CometBFT's p2p and config, and through them cometbft-db. Its keyring
	// writes key files through internal/atomicfile. It computes the KZG
	// commitments and proofs a PayForBlobs may carry with kzg.
	"state": {module + "/core/tx", module + "/share", module + "/kzg", module + "/internal/atomicfile", "github.com/cometbft/cometbft/abci/types", "github.com/cometbft/cometbft/libs/bytes",
		"github.com/cometbft/cometbft/rpc/jsonrpc/client", "github.com/cometbft/cometbft/crypto/secp256k1"},
	// api serves the JSON-RPC modules over the domain packages; it never
	// imports nodebuilder or cmd, which hand it the services. Its kzg
	// module computes commitments with kzg itself (no service to hand).
	"api": {module + "/internal/jsonscan", module + "/internal/atomicfile", module + "/internal/logging", module + "/blob", module + "/state", module + "/core/tx", module + "/header", module + "/das", module + "/eds", module + "/share", module + "/nmt", module + "/merkle", module + "/p2p", module + "/kzg", module + "/blobstream",
		"github.com/filecoin-project/go-jsonrpc", "github.com/golang-jwt/jwt/v5", "github.com/libp2p/go-libp2p/core", "github.com/multiformats/go-multiaddr", "github.com/cometbft/cometbft",
		// Its dataset module reads the dataset index (dataset/store) by CID.
		module + "/dataset/store", "github.com/ipfs/go-cid", "github.com/ipfs/go-block-format"},
	// internal/atomicfile writes configuration, keys and secrets so a
	// crash never leaves half a file.
	"internal/atomicfile": {},
	// internal/logging is the slog handler with per-service levels.
	// internal/logging is the slog handler with per-service levels. It
	// routes go-log's records (go-jsonrpc's, libp2p's) through it, as a
	// zap core.
	"internal/logging": {"github.com/ipfs/go-log/v2", "go.uber.org/zap/zapcore"},
	// fraud gossips, syncs, stores and acts on bad-encoding proofs; it
	// validates them against headers (header) it is handed, over libp2p.
	"fraud": {module + "/internal", module + "/eds", module + "/share", module + "/nmt", module + "/header", "github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	// internal/badgerdb opens the node's Badger databases after checking
	// them on disk (Badger's table reader and ristretto's mmap included);
	// its badgertest, which opens databases for tests, inherits the rule.
	"internal/badgerdb": {"github.com/dgraph-io/badger/v4", "github.com/dgraph-io/ristretto/v2/z"},
	// kzg lays blob bytes out in EIP-4844 blobs (the OP Stack blob
	// encoding) and commits to them through go-eth-kzg (which brings
	// gnark-crypto; only go-eth-kzg is imported).
	"kzg": {"github.com/crate-crypto/go-eth-kzg"},
	// dataset builds UnixFS DAGs with boxo (the unixfs-v1-2025 profile) and
	// packs them into CAR parts and a dag-cbor manifest (go-ipld-prime); it
	// names namespaces with share. go-car is its tests' oracle only.
	"dataset": {module + "/share", "github.com/ipfs/boxo", "github.com/ipfs/go-cid", "github.com/ipfs/go-block-format", "github.com/ipfs/go-ipld-format",
		"github.com/ipld/go-ipld-prime", "github.com/multiformats/go-multihash", "github.com/multiformats/go-varint"},
	// dataset/serve serves a blockstore's blocks to IPFS: boxo's bitswap
	// server on a libp2p host it is handed (core interfaces only), boxo's
	// trustless gateway and its Routing V1 server over HTTP, with their
	// metrics in a Prometheus registry it is given.
	"dataset/serve": {module + "/dataset", "github.com/ipfs/boxo", "github.com/ipfs/go-cid", "github.com/ipfs/go-block-format", "github.com/ipfs/go-ipld-format",
		"github.com/libp2p/go-libp2p/core", "github.com/multiformats/go-multiaddr", "github.com/prometheus/client_golang"},
	// dataset/fetch reads a dataset back through a node's API (an
	// interface it declares; api/client implements it) and checks it: the
	// dataset format, namespaces and commitments from share, and an
	// in-memory boxo blockstore (the deprecated Fetch) or a read-only one
	// over the cached part files (ipld.ErrNotFound from go-ipld-format);
	// it caches parts with internal/atomicfile.
	// Not blob (which links the header stack and libp2p), nor nodebuilder,
	// cmd or api.
	"dataset/fetch": {module + "/dataset", module + "/share", module + "/internal/atomicfile", "github.com/ipfs/boxo/blockstore", "github.com/ipfs/go-cid", "github.com/ipfs/go-block-format",
		"github.com/ipfs/go-datastore", "github.com/ipfs/go-ipld-format"},
	// dataset/store indexes dataset parts as the blob index records blobs
	// (a blob.IndexExtension, entries in the node's Badger database) and
	// serves their blocks as a read-only boxo blockstore over the blobs.
	"dataset/store": {module + "/dataset", module + "/internal/badgerdb", module + "/blob", module + "/share", "github.com/dgraph-io/badger/v4",
		"github.com/ipfs/boxo/blockstore", "github.com/ipfs/go-cid", "github.com/ipfs/go-block-format", "github.com/ipfs/go-ipld-format", "golang.org/x/sync/singleflight"},
	// execution holds the rollup executors, each an ev-node
	// execution.Executor (github.com/evstack/ev-node/core, a module with
	// no dependencies); the package itself is documentation only.
	"execution": {},
	// execution/internal/execdb: the block-input hash
	// the executors share.
	"execution/internal": {"github.com/dgraph-io/badger/v4"},
	// execution/kv keeps its state in Badger and its state root is an
	// RFC 6962 tree (merkle).
	"execution/kv": {module + "/execution/statemachine", module + "/merkle", "github.com/evstack/ev-node/core/execution", "github.com/dgraph-io/badger/v4"},
	// execution/statemachine is the executors' VM-independent base: Badger
	// state with an RFC 6962 root (merkle), block bookkeeping, mempool.
	"execution/statemachine": {module + "/execution/internal/execdb", module + "/internal/badgerdb", module + "/merkle", "github.com/evstack/ev-node/core/execution", "github.com/dgraph-io/badger/v4"},
	// rollup is the rollup node: blocks, store, sequencer and follower
	// over an ev-node Executor, reaching DataMesh through interfaces it
	// declares (headers, namespace data with proofs, blob submission).
	"rollup": {module + "/header", module + "/eds", module + "/share", module + "/merkle", "github.com/evstack/ev-node/core/execution",
		"github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	// rollup/meshapi implements rollup's interfaces over the API client.
	"rollup/meshapi": {module + "/rollup", module + "/api/client", module + "/blob", module + "/eds", module + "/header", module + "/share"},
	// rollup/rpc is the rollup node's own JSON-RPC over its store, its
	// executor's mempool and a transaction index in its Badger database.
	"rollup/rpc": {module + "/rollup", "github.com/dgraph-io/badger/v4"},
	// rollup/node wires a rollup node (mesh-node rollup run and the
	// modules rollup new scaffolds): a home, the built-in executors, the
	// API client, the sequencer or follower and the JSON-RPC.
	"rollup/node": {module + "/rollup", module + "/api/client", module + "/execution", module + "/internal/atomicfile", module + "/internal/badgerdb",
		module + "/share", "github.com/dgraph-io/badger/v4", "github.com/evstack/ev-node/core/execution"},
	// execution/evm runs go-ethereum's EVM and state (core, core/vm,
	// core/state, triedb) over Badger; execution/evm/ethrpc serves it
	// with go-ethereum's rpc server. Only this tree may import go-ethereum
	// (TestGoEthereumOnlyInExecutionEVM).
	"execution/evm": {module + "/execution/evm", module + "/execution/internal/execdb", module + "/internal/badgerdb", "github.com/evstack/ev-node/core/execution", "github.com/dgraph-io/badger/v4",
		"github.com/ethereum/go-ethereum", "github.com/holiman/uint256"},
	// core/validator runs the core node: CometBFT with core/app over the
	// app's Badger state, from a home it initialises (its keyring holds the
	// dev key), for cmd (core init, core start, devnet) and core/coretest.
	// It serves the node's RPC itself, CometBFT's routes (with rs/cors, as
	// CometBFT's node does) and core/meshrpc's binary ones. It opens
	// CometBFT's goleveldb databases with options of its own (Bloom
	// filters, larger write buffers), hence goleveldb's opt and filter,
	// and stores transaction index entries without the transactions, by
	// scanning their protobuf wire format (protowire).
	// core/staking is the staking, distribution and slashing state machine
	// the application drives: no I/O, no CometBFT, no Badger; it names
	// accounts by core/tx's Address only.
	"core/staking":   {module + "/core/tx", module + "/internal/cowmap"},
	"core/validator": {module + "/core/meshrpc", "github.com/rs/cors", "github.com/syndtr/goleveldb", module + "/core/app", module + "/core/staking", module + "/core/tx", module + "/share", module + "/eds", module + "/blobstream", module + "/internal/atomicfile", module + "/internal/badgerdb", module + "/state/keyring", "github.com/decred/dcrd/dcrec/secp256k1/v4", "github.com/cometbft/cometbft", "github.com/cometbft/cometbft-db", "github.com/dgraph-io/badger/v4", "github.com/BurntSushi/toml", "google.golang.org/protobuf/encoding/protowire"},
}

// forbiddenEverywhere may appear only in _test.go files.
var forbiddenEverywhere = []string{"github.com/celestiaorg/"}

// neverImport lists, per package tree, what its production code must not
// import whatever allowed says: the clients of the chain sign and read
// transactions with core/tx, never the application.
var neverImport = map[string][]string{
	"state":      {module + "/core/app"},
	"api":        {module + "/core/app"},
	"api/client": {module + "/core/app"},
	"blob":       {module + "/core/app"},
	// The rollup node is a client of DataMesh: never the chain, the node
	// or the network stack (rollup/meshapi reaches a node through
	// api/client).
	"rollup": {module + "/core/app", module + "/nodebuilder", "github.com/libp2p", module + "/p2p"},
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestMainModuleLinksNoCelestia checks that the main module's go.mod does
// not require celestia-node: its client is for the interop module only.
func TestMainModuleLinksNoCelestia(t *testing.T) {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "github.com/celestiaorg/celestia-node") {
		t.Fatal("go.mod requires celestia-node; it belongs in interop/celestia's go.mod")
	}
}

// goSources returns the non-test Go files of the module, leaving out
// hidden directories, testdata, other modules (interop/...) and the
// directories skip names.
func goSources(t *testing.T, skip ...string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if path != "." && fileExists(filepath.Join(path, "go.mod")) {
				return filepath.SkipDir // another module (interop/...): not ours to link
			}
			for _, s := range skip {
				if filepath.ToSlash(path) == s {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("found no Go files; is the test running from the module root?")
	}
	return files
}

func TestImportBoundaries(t *testing.T) {
	imports := map[string]map[string]bool{} // package dir -> imports
	fset := token.NewFileSet()
	for _, path := range goSources(t) {
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			imports[dir][p] = true
		}
	}
	for dir, imps := range imports {
		top, rules, ok := rulesFor(dir)
		if !ok {
			t.Errorf("%s: no import rules; add the package to allowed in deps_test.go", dir)
			continue
		}
		for imp := range imps {
			for _, bad := range forbiddenEverywhere {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s: Celestia libraries are test oracles only", dir, imp)
				}
			}
			// A package tree may use its own packages (header/store imports
			// header).
			if isStdlib(imp) || hasPrefix(imp, []string{module + "/" + top}) {
				continue
			}
			if !hasPrefix(imp, rules) {
				t.Errorf("%s imports %s, which its rules do not allow", dir, imp)
			}
			for tree, never := range neverImport {
				if (dir == tree || strings.HasPrefix(dir, tree+"/")) && hasPrefix(imp, never) {
					t.Errorf("%s imports %s: a client of the chain uses core/tx, never the application", dir, imp)
				}
			}
		}
	}
}

// rulesFor returns the rules of the package at dir, or of its nearest listed
// parent directory (subpackages inherit their parent's rules), and the
// listed directory they come from.
func rulesFor(dir string) (string, []string, bool) {
	for d := dir; d != "." && d != "/"; d = filepath.ToSlash(filepath.Dir(d)) {
		if r, ok := allowed[d]; ok {
			return d, r, true
		}
	}
	return "", nil, false
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// modeNames are the modes nodebuilder assembles, as strings.
var modeNames = map[string]bool{"bridge": true, "full": true, "light": true}

// modeConst matches names like ModeBridge, modeLight or FullMode.
var modeConst = regexp.MustCompile(`^(?i:mode(bridge|full|light)|(bridge|full|light)mode)$`)

// TestNoModeBelowNodebuilder enforces STYLE.md example 6: a node's mode is
// decided in nodebuilder (and named by the CLI) only; other packages
// receive explicit settings and interfaces. Their non-test code may not
// declare a type, struct field or function named Mode, a name like
// ModeLight, or compare a value with "bridge", "full" or "light" (==, !=
// or a switch case).
func TestNoModeBelowNodebuilder(t *testing.T) {
	fset := token.NewFileSet()
	for _, path := range goSources(t, "nodebuilder", "cmd") {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range modeSwitches(f) {
			t.Errorf("%s: %s; the mode belongs to nodebuilder, which passes explicit settings", fset.Position(p.pos), p.what)
		}
	}
}

// lightRoots are the packages a light node's domain, a Go client of the
// API and a rollup node are made of; they must link nothing of a validator.
var lightRoots = []string{
	"header", "header/exchange", "header/gossip", "header/syncer", "header/store",
	"das", "shrex", "shrex/getter", "shrex/peers", "shrex/edssub", "p2p",
	"api", "api/client", "blob", "state", "state/keyring",
	"eds", "eds/store", "share", "nmt", "merkle", "core/tx", "fraud", "dataset/fetch",
	"rollup", "rollup/meshapi", "rollup/rpc", "rollup/node",
}

// validatorOnly are the packages, with their subpackages, that only a core
// node (a validator running CometBFT and the application) links.
var validatorOnly = []string{
	module + "/core/app",
	"github.com/cometbft/cometbft/node",
	"github.com/cometbft/cometbft/consensus",
	"github.com/cometbft/cometbft/store",
	"github.com/cometbft/cometbft/state",
	"github.com/cometbft/cometbft/mempool",
	"github.com/cometbft/cometbft/blocksync",
	"github.com/cometbft/cometbft/statesync",
	"github.com/cometbft/cometbft/evidence",
	"github.com/cometbft/cometbft/proxy",
	"github.com/cometbft/cometbft/privval",
	"github.com/cometbft/cometbft-db",
}

// notInTx is what core/tx, the package any Go program imports to sign a
// transaction, must not link besides validatorOnly.
var notInTx = []string{"github.com/cometbft/cometbft/abci", "github.com/dgraph-io/badger"}

// notInFetch is what dataset/fetch, the dataset reader a Go program
// imports, must not link besides validatorOnly: a node's networking, its
// builder or the CLI.
var notInFetch = []string{"github.com/libp2p/go-libp2p", module + "/nodebuilder", module + "/cmd", module + "/header", module + "/p2p"}

// notInRollup is what package rollup must not link besides validatorOnly:
// the node and its network stack (it reaches DataMesh through interfaces
// rollup/meshapi implements over the API client).
var notInRollup = []string{module + "/nodebuilder", module + "/p2p", module + "/api", "github.com/libp2p"}

// notInClient is what api/client, the SDK's Go client of a node's API
// (docs/api.md, "Go client"), must not link besides validatorOnly: the
// validator, the node builder or the CLI.
var notInClient = []string{module + "/core/validator", module + "/nodebuilder", module + "/cmd"}

// TestImportBoundariesTransitive checks with go list -deps what the light
// roots link, through any path: none of validatorOnly (and for core/tx
// nothing of notInTx, for dataset/fetch nothing of notInFetch, for rollup
// nothing of notInRollup). A failure names the chain of imports that
// pulls the package in.
func TestImportBoundariesTransitive(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	pkgs := make([]string, len(lightRoots))
	for i, r := range lightRoots {
		pkgs[i] = module + "/" + r
	}
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, pkgs...)
	out, err := exec.Command(goCmd, args...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	graph := map[string][]string{} // package -> its imports
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			graph[fields[0]] = fields[1:]
		}
	}
	for _, root := range pkgs {
		if _, ok := graph[root]; !ok {
			t.Fatalf("go list -deps did not list %s", root)
		}
		forbidden := validatorOnly
		switch root {
		case module + "/core/tx":
			forbidden = append(slices.Clip(validatorOnly), notInTx...)
		case module + "/dataset/fetch":
			forbidden = append(slices.Clip(validatorOnly), notInFetch...)
		case module + "/rollup":
			forbidden = append(slices.Clip(validatorOnly), notInRollup...)
		case module + "/api/client":
			forbidden = append(slices.Clip(validatorOnly), notInClient...)
		}
		for _, chain := range linkChains(graph, root, forbidden) {
			t.Errorf("%s links %s: %s", strings.TrimPrefix(root, module+"/"), chain[len(chain)-1], strings.Join(chain, " -> "))
		}
	}
}

type modeUse struct {
	pos  token.Pos
	what string
}

// modeSwitches returns the declarations and comparisons in f that make a
// decision on a node's mode.
func modeSwitches(f *ast.File) []modeUse {
	var out []modeUse
	declared := func(id *ast.Ident, kind string) {
		if id.Name == "Mode" || modeConst.MatchString(id.Name) {
			out = append(out, modeUse{id.Pos(), kind + " " + id.Name})
		}
	}
	isModeName := func(e ast.Expr) bool {
		lit, ok := ast.Unparen(e).(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return false
		}
		s, err := strconv.Unquote(lit.Value)
		return err == nil && modeNames[s]
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.TypeSpec:
			declared(n.Name, "type")
		case *ast.FuncDecl:
			declared(n.Name, "func")
		case *ast.Field:
			for _, id := range n.Names {
				declared(id, "field")
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				declared(id, "const or var")
			}
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && (isModeName(n.X) || isModeName(n.Y)) {
				out = append(out, modeUse{n.OpPos, "compares with a mode's name"})
			}
		case *ast.CaseClause:
			for _, e := range n.List {
				if isModeName(e) {
					out = append(out, modeUse{e.Pos(), "switches on a mode's name"})
				}
			}
		}
		return true
	})
	return out
}

// linkChains returns a shortest chain of imports from root to each package
// under one of the forbidden prefixes that root links without going through
// another (what only a forbidden package links is not listed again).
func linkChains(graph map[string][]string, root string, forbidden []string) [][]string {
	parent := map[string]string{root: ""}
	queue := []string{root}
	var chains [][]string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if hasPrefix(p, forbidden) {
			var chain []string
			for q := p; q != ""; q = parent[q] {
				chain = append(chain, q)
			}
			slices.Reverse(chain)
			chains = append(chains, chain)
			continue // one chain per forbidden package reached first
		}
		for _, imp := range graph[p] {
			if _, seen := parent[imp]; !seen {
				parent[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return chains
}

// TestGoEthereumOnlyInExecutionEVM checks that only execution/evm and its
// subpackages import go-ethereum, and that what they link of it leaves
// out its on-disk databases (pebble, which refuses Go 1.26 without the
// untested_go_version tag, and leveldb): the state lives in Badger.
func TestGoEthereumOnlyInExecutionEVM(t *testing.T) {
	fset := token.NewFileSet()
	for _, path := range goSources(t) {
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "execution/evm" || strings.HasPrefix(dir, "execution/evm/") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if hasPrefix(p, []string{"github.com/ethereum/go-ethereum"}) {
				t.Errorf("%s imports %s: only execution/evm may", path, p)
			}
		}
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "./execution/evm/...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./execution/evm/...: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "cockroachdb/pebble") || strings.Contains(p, "syndtr/goleveldb") {
			t.Errorf("execution/evm links %s", p)
		}
	}
}
