package validator_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/validator"
)

// Testnet writes homes that share one genesis listing every validator, its
// EVM address and funded dev key, each home with the others as peers.
func TestTestnet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	nodes, err := validator.Testnet(dir, validator.TestnetOptions{Validators: 3, ChainID: "tn", BlockTime: 250 * time.Millisecond,
		BasePort: 40000, Balance: 99})
	if err != nil {
		t.Fatal(err)
	}
	var genesis []byte
	for i, n := range nodes {
		if n.Home != filepath.Join(dir, fmt.Sprint("validator", i)) {
			t.Fatalf("node %d home %s", i, n.Home)
		}
		conf, err := validator.LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		p2pPort := 40000 + i*validator.TestnetPortStride
		if conf.P2P.ListenAddress != fmt.Sprintf("tcp://127.0.0.1:%d", p2pPort) ||
			conf.RPC.ListenAddress != fmt.Sprintf("tcp://127.0.0.1:%d", p2pPort+validator.RPCPortOffset) ||
			conf.Consensus.TimeoutCommit != 250*time.Millisecond || conf.Consensus.TimeoutPropose != 750*time.Millisecond {
			t.Fatalf("validator%d: p2p %s, rpc %s, commit %s, propose %s", i, conf.P2P.ListenAddress, conf.RPC.ListenAddress,
				conf.Consensus.TimeoutCommit, conf.Consensus.TimeoutPropose)
		}
		nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%s@127.0.0.1:%d", nodeKey.ID(), p2pPort); n.Peer != want {
			t.Fatalf("validator%d peer %s, want %s", i, n.Peer, want)
		}
		for j, o := range nodes {
			if strings.Contains(conf.P2P.PersistentPeers, o.Peer) != (i != j) {
				t.Fatalf("validator%d persistent peers %q; validator%d is %s", i, conf.P2P.PersistentPeers, j, o.Peer)
			}
		}
		g, err := os.ReadFile(conf.GenesisFile())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			genesis = g
		} else if !bytes.Equal(g, genesis) {
			t.Fatalf("validator%d has another genesis", i)
		}
	}
	doc, g, err := validator.ParseGenesisDoc(genesis)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "tn" || len(doc.Validators) != 3 || len(g.Accounts) != 3 || len(g.EVMAddresses) != 3 || g.Authority != nodes[0].Account {
		t.Fatalf("genesis %+v, app state %+v", doc, g)
	}
	for i, n := range nodes {
		pv, err := os.ReadFile(filepath.Join(n.Home, "config", "priv_validator_key.json"))
		if err != nil {
			t.Fatal(err)
		}
		bsKey, err := validator.LoadBlobstreamKey(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		v := doc.Validators[i]
		if v.Power != validator.ValidatorPower || !bytes.Contains(pv, []byte(v.Address.String())) ||
			g.Accounts[i].Address != n.Account || g.Accounts[i].Balance != 99 ||
			!bytes.Equal(g.EVMAddresses[i].PubKey, v.PubKey.Bytes()) || g.EVMAddresses[i].EVMAddress != blobstream.AddressOf(bsKey.PubKey()) {
			t.Fatalf("validator%d: genesis validator %+v, account %+v, evm address %+v", i, v, g.Accounts[i], g.EVMAddresses[i])
		}
		if k, err := validator.Keyring(n.Home).Get(validator.DevKeyName); err != nil || k.Address != n.Account {
			t.Fatalf("validator%d: dev key %+v (%v), want %s", i, k, err, n.Account)
		}
	}

	if _, err := validator.Testnet(dir, validator.TestnetOptions{Validators: 1, ChainID: "tn", BlockTime: time.Second, BasePort: 40000}); err == nil {
		t.Fatal("a second testnet in the same directory was accepted")
	}
}

// A refused testnet writes nothing.
func TestTestnetRefused(t *testing.T) {
	ok := validator.TestnetOptions{Validators: 2, ChainID: "tn", BlockTime: time.Second, BasePort: 26656}
	for name, change := range map[string]func(*validator.TestnetOptions){
		"no validators":  func(o *validator.TestnetOptions) { o.Validators = 0 },
		"too many":       func(o *validator.TestnetOptions) { o.Validators = validator.MaxTestnetValidators + 1 },
		"no block time":  func(o *validator.TestnetOptions) { o.BlockTime = 0 },
		"ports overflow": func(o *validator.TestnetOptions) { o.BasePort = 65530 },
		"no base port":   func(o *validator.TestnetOptions) { o.BasePort = 0 },
		"one host":       func(o *validator.TestnetOptions) { o.Hosts = []string{"10.0.0.1"} },
		"bad host":       func(o *validator.TestnetOptions) { o.Hosts = []string{"10.0.0.1", "-x.example"} },
		"no chain ID":    func(o *validator.TestnetOptions) { o.ChainID = "" },
		"square 100":     func(o *validator.TestnetOptions) { o.MaxSquareSize = 100 },
		"square 1024":    func(o *validator.TestnetOptions) { o.MaxSquareSize = 1024 },
	} {
		parent := t.TempDir()
		o := ok
		change(&o)
		if _, err := validator.Testnet(filepath.Join(parent, "net"), o); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
			t.Errorf("%s: the refused testnet left %v (%v)", name, entries, err)
		}
	}
}

// Init with a genesis joins its network: the genesis is copied unchanged,
// the peers are persistent peers, the new validator key is not in it.
func TestInitJoin(t *testing.T) {
	src := t.TempDir()
	if _, err := validator.Init(src, validator.InitOptions{ChainID: "join", Moniker: "v", BlockTime: time.Second, DevBalance: 1}); err != nil {
		t.Fatal(err)
	}
	genesis, err := validator.ReadGenesisFile(filepath.Join(src, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	peer := strings.Repeat("ab", 20) + "@127.0.0.1:26656"
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{Moniker: "j", BlockTime: time.Second, Genesis: genesis, PersistentPeers: []string{peer}}); err != nil {
		t.Fatal(err)
	}
	conf, err := validator.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(conf.GenesisFile())
	if err != nil || !bytes.Equal(got, genesis) || conf.P2P.PersistentPeers != peer {
		t.Fatalf("joined home: genesis copied %v (%v), persistent peers %q", bytes.Equal(got, genesis), err, conf.P2P.PersistentPeers)
	}
	doc, _, err := validator.ParseGenesisDoc(got)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := os.ReadFile(conf.PrivValidatorKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(pv, []byte(doc.Validators[0].Address.String())) {
		t.Fatal("the joined home has the genesis validator's key")
	}

	for name, o := range map[string]validator.InitOptions{
		"bad genesis": {Moniker: "j", BlockTime: time.Second, Genesis: []byte(`{"chain_id":"x"}`)},
		"bad peer":    {Moniker: "j", BlockTime: time.Second, Genesis: genesis, PersistentPeers: []string{"127.0.0.1:26656"}},
	} {
		empty := t.TempDir()
		if _, err := validator.Init(empty, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
			t.Errorf("%s: the refused Init wrote %v (%v)", name, entries, err)
		}
	}
}

func TestCheckPeer(t *testing.T) {
	id := strings.Repeat("0f", 20)
	for _, p := range []string{id + "@127.0.0.1:26656", id + "@node-1.example.org:1", id + "@[::1]:65535"} {
		if err := validator.CheckPeer(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"", id, id + "@127.0.0.1", id + "@127.0.0.1:0", id + "@127.0.0.1:65536", id + "@:26656",
		id[2:] + "@127.0.0.1:26656", strings.ToUpper(id) + "@127.0.0.1:26656", id + "@bad_host:26656", id + "@a..b:26656"} {
		if err := validator.CheckPeer(p); !errors.Is(err, validator.ErrBadPeer) {
			t.Errorf("%q: %v, want ErrBadPeer", p, err)
		}
	}
}
