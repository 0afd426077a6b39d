package meshnode_test

// This test enforces the package boundaries of ../shared/DESIGN.md on the
// non-test Go files of the module: which of our packages each package may
// import, which third-party modules it may use, and that production code never
// imports the Celestia libraries (they are test oracles only).

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
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
	"nmt":    {"google.golang.org/protobuf/encoding/protowire"},
	"share":  {module + "/nmt", module + "/merkle", "google.golang.org/protobuf/encoding/protowire"},
	"eds":    {module + "/share", module + "/nmt", module + "/merkle", "github.com/klauspost/reedsolomon", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	// header owns header-ex, header-sub and the syncer (DESIGN: "p2p
	// exchange, syncer"), so its subpackages speak libp2p directly; they do
	// not import p2p/, whose host they are handed.
	"header": {module + "/eds", module + "/share", module + "/nmt", module + "/merkle", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire",
		"github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub", "github.com/libp2p/go-msgio", module + "/internal"},
	// das declares the Getter it samples through; shrex implements it, so
	// das imports neither shrex nor libp2p (STYLE example 7).
	"das": {module + "/eds", module + "/share", module + "/nmt", module + "/header", "github.com/dgraph-io/badger/v4"},
	"p2p": {module + "/internal/atomicfile", "github.com/libp2p", "github.com/multiformats", "github.com/ipfs/go-datastore", "github.com/ipfs/go-log/v2"},
	// shrex serves and fetches shares over libp2p; it takes protocol IDs
	// from p2p but not its node, whose host it is handed.
	"shrex": {module + "/internal", module + "/eds", module + "/share", module + "/nmt", module + "/header", module + "/p2p", "github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub", "github.com/libp2p/go-msgio", "google.golang.org/protobuf/encoding/protowire"},
	// shrex/getter implements das.Getter over shrex and the peer manager;
	// it imports das for the interface and das.ErrUnavailable.
	"shrex/getter":        {module + "/shrex", module + "/das", module + "/eds", module + "/share", module + "/nmt", module + "/header", "github.com/libp2p/go-libp2p/core"},
	"nodebuilder":         {module, "github.com/libp2p", "github.com/multiformats", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "github.com/BurntSushi/toml", "github.com/prometheus/client_golang"},
	"core":                {module + "/header", module + "/eds", module + "/share", module + "/nmt", module + "/merkle", "github.com/cometbft/cometbft", "github.com/cometbft/cometbft-db", "github.com/dgraph-io/badger/v4", "google.golang.org/protobuf/encoding/protowire"},
	"cmd":                 {module, "github.com/spf13/cobra", "github.com/BurntSushi/toml", "github.com/cometbft/cometbft", "github.com/dgraph-io/badger/v4", "github.com/filecoin-project/go-jsonrpc"},
	"internal/fuzzcorpus": {},
	// internal/peerlimit is the per-peer stream and rate limit of the
	// header-ex and shrex servers.
	"internal/peerlimit": {"github.com/libp2p/go-libp2p/core"},
	// internal/streamserver is the stream handler lifecycle of the
	// header-ex and shrex servers.
	"internal/streamserver": {"github.com/libp2p/go-libp2p/core"},
	// internal/topic is the pubsub topic lifecycle of header-sub and
	// eds-sub.
	"internal/topic": {"github.com/libp2p/go-libp2p/core", "github.com/libp2p/go-libp2p-pubsub"},
	// internal/p2ptest holds the libp2p helpers of tests; it makes hosts,
	// so it needs go-libp2p itself, not only its core.
	"internal/p2ptest": {"github.com/libp2p/go-libp2p", "github.com/libp2p/go-libp2p-pubsub"},
	"tools/benchtable": {},
	// internal/fdlimit reads and raises RLIMIT_NOFILE; stdlib only.
	"internal/fdlimit": {},
	// blob is the blob service of the API: it reads blobs from squares
	// (through a getter it declares) and keeps the commitment index in the
	// node's Badger database.
	"blob": {module + "/share", module + "/nmt", module + "/merkle", module + "/eds", module + "/header", module + "/state", "github.com/dgraph-io/badger/v4"},
	// state signs and submits transactions to a core node's RPC.
	"state": {module + "/core/app", module + "/share", module + "/internal/atomicfile", "github.com/cometbft/cometbft"},
	// api serves the JSON-RPC modules over the domain packages; it never
	// imports nodebuilder or cmd, which hand it the services.
	"api": {module + "/internal/atomicfile", module + "/internal/logging", module + "/blob", module + "/state", module + "/core/app", module + "/header", module + "/das", module + "/eds", module + "/share", module + "/nmt", module + "/merkle", module + "/p2p",
		"github.com/filecoin-project/go-jsonrpc", "github.com/golang-jwt/jwt/v5", "github.com/libp2p/go-libp2p/core", "github.com/multiformats/go-multiaddr", "github.com/cometbft/cometbft"},
	// internal/atomicfile writes configuration, keys and secrets so a
	// crash never leaves half a file.
	"internal/atomicfile": {},
	// internal/logging is the slog handler with per-service levels.
	// internal/logging is the slog handler with per-service levels. It
	// routes go-log's records (go-jsonrpc's, libp2p's) through it, as a
	// zap core.
	"internal/logging": {"github.com/ipfs/go-log/v2", "go.uber.org/zap/zapcore"},
	// internal/badgerdb opens the node's Badger databases after checking
	// them on disk (Badger's table reader and ristretto's mmap included).
	"internal/badgerdb": {"github.com/dgraph-io/badger/v4", "github.com/dgraph-io/ristretto/v2/z"},
	// core/validator runs the core node: CometBFT with core/app over the
	// app's Badger state, from a home it initialises (its keyring holds the
	// dev key), for cmd (core init, core start, devnet) and core/coretest.
	"core/validator": {module + "/core/app", module + "/internal/badgerdb", module + "/state/keyring", "github.com/cometbft/cometbft", "github.com/cometbft/cometbft-db", "github.com/dgraph-io/badger/v4", "github.com/BurntSushi/toml"},
}

// forbiddenEverywhere may appear only in _test.go files.
var forbiddenEverywhere = []string{"github.com/celestiaorg/"}

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

func TestImportBoundaries(t *testing.T) {
	imports := map[string]map[string]bool{} // package dir -> imports
	fset := token.NewFileSet()
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
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			imports[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) == 0 {
		t.Fatal("found no Go packages; is the test running from the module root?")
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
