package validator

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb"
)

// Options are Start's optional settings.
type Options struct {
	// Logger is CometBFT's logger; nil discards its logs.
	Logger cmtlog.Logger
	// AppLogger is the application's logger; nil discards its logs.
	AppLogger *slog.Logger
	// Wrap, if not nil, returns the application CometBFT runs in place of
	// the DataMesh application it is given (tests wrap it to misbehave);
	// it must not return nil.
	Wrap func(*app.App) abci.Application
	// SquareHandOff makes the application keep the extended squares of
	// the last proposals for Node.TakeSquare (app.WithSquareHandOff): for
	// a bridge in the same process, which then builds none of them again.
	// Without a taker it only holds memory (up to app.MaxKeptSquares
	// squares), so only a process that runs both sets it.
	SquareHandOff bool
	// RetainBlocks keeps only the last RetainBlocks blocks in CometBFT's
	// block and state stores (app.WithRetainBlocks); 0 keeps every block.
	RetainBlocks int64
}

// Node is a running core node: CometBFT with the DataMesh application.
type Node struct {
	conf  *cfg.Config
	node  *cmtnode.Node
	appDB *badger.DB
	dbs   *cometDBs
	rpc   *rpcServer
	app   *app.App
	// compactor gives back the disk of pruned blocks; nil unless
	// Options.RetainBlocks.
	compactor *prunedCompactor

	mu      sync.Mutex
	stopped bool
}

// Start starts the core node of conf, whose RootDir is the home: it loads
// the validator key and signing state and the node key from the files
// conf names and the blobstream key (BlobstreamKeyFile; a home without one
// runs a validator that does not sign attestations), opens the
// application's Badger state (AppDBDir under the home), builds the DataMesh application on it and runs an in-process
// CometBFT node with it, the genesis being conf's genesis file. On an
// error every database it opened is closed again. The caller must Stop a
// started node.
func Start(conf *cfg.Config, o Options) (_ *Node, err error) {
	if conf == nil {
		return nil, errors.New("validator: no CometBFT config")
	}
	if err := conf.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("validator: CometBFT config: %w", err)
	}
	if o.RetainBlocks < 0 {
		return nil, fmt.Errorf("validator: RetainBlocks %d is negative (0 keeps every block)", o.RetainBlocks)
	}
	logger := o.Logger
	if logger == nil {
		logger = cmtlog.NewNopLogger()
	}
	pv, err := loadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("validator: load node key: %w", err)
	}
	bsKey, err := loadOptionalBlobstreamKey(conf.RootDir)
	if err != nil {
		return nil, err
	}
	var appOpts []app.Option
	if bsKey != nil {
		appOpts = append(appOpts, app.WithBlobstreamKey(bsKey))
	}
	if o.SquareHandOff {
		appOpts = append(appOpts, app.WithSquareHandOff())
	}
	if o.RetainBlocks != 0 {
		appOpts = append(appOpts, app.WithRetainBlocks(o.RetainBlocks))
	}
	db, err := badgerdb.Open(badgerdb.Options(filepath.Join(conf.RootDir, AppDBDir)))
	if err != nil {
		return nil, fmt.Errorf("validator: open application database: %w", err)
	}
	n := &Node{conf: conf, appDB: db, dbs: &cometDBs{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.closeDBs())
		}
	}()
	a, err := app.New(db, o.AppLogger, appOpts...)
	if err != nil {
		return nil, fmt.Errorf("validator: load application state: %w", err)
	}
	n.app = a
	var abciApp abci.Application = a
	if o.Wrap != nil {
		if abciApp = o.Wrap(a); abciApp == nil {
			return nil, errors.New("validator: Options.Wrap returned no application")
		}
	}
	// The node gets its own copy of the RPC config: its rpc.laddr is
	// cleared once the node is made (see rpcServer).
	nodeConf, rpcConf := *conf, *conf.RPC
	nodeConf.RPC = &rpcConf
	cn, err := cmtnode.NewNode(&nodeConf, pv, nodeKey, proxy.NewLocalClientCreator(abciApp),
		cmtnode.DefaultGenesisDocProviderFunc(conf), n.dbs.open,
		cmtnode.DefaultMetricsProvider(conf.Instrumentation), logger)
	if err != nil {
		return nil, fmt.Errorf("validator: create CometBFT node: %w", err)
	}
	laddr := rpcConf.ListenAddress
	rpcConf.ListenAddress = ""
	if laddr != "" {
		n.rpc, err = startRPC(cn, laddr, int64(conf.Mempool.MaxTxBytes), logger)
		if err != nil {
			// CometBFT's Start would have failed the same way.
			return nil, fmt.Errorf("validator: start CometBFT node: %w", err)
		}
	}
	if err := cn.Start(); err != nil {
		if n.rpc != nil {
			err = errors.Join(err, n.rpc.close())
		}
		return nil, fmt.Errorf("validator: start CometBFT node: %w", err)
	}
	n.node = cn
	if db := n.dbs.get("blockstore"); o.RetainBlocks > 0 && db != nil {
		logger := o.AppLogger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		n.compactor = newPrunedCompactor(db, cn.BlockStore().Base, logger.With("module", "compact"))
		go n.compactor.run(compactInterval)
	}
	return n, nil
}

// ChainID is the chain the node runs, from its genesis.
func (n *Node) ChainID() string { return n.node.GenesisDoc().ChainID }

// TakeSquare hands over the extended square and DAH the node's application
// built for the proposal whose data root is dataRoot (app.App.TakeSquare);
// ok is false unless the node was started with Options.SquareHandOff and
// still keeps that square. It implements core.Squares, for a bridge
// following the node in the same process.
func (n *Node) TakeSquare(dataRoot []byte) (ext *eds.ExtendedDataSquare, dah *eds.DataAvailabilityHeader, ok bool) {
	return n.app.TakeSquare(dataRoot)
}

// RPCURL is the node's CometBFT RPC as an http URL.
func (n *Node) RPCURL() string { return RPCURL(n.conf) }

// RPCURL is the CometBFT RPC of conf, tcp://host:port, as an http URL.
func RPCURL(conf *cfg.Config) string {
	return "http://" + strings.TrimPrefix(conf.RPC.ListenAddress, "tcp://")
}

// Stop stops the CometBFT node, waits for it, then closes CometBFT's
// databases and the application's, each exactly once. It returns every
// error it met, the node's first. Later calls do nothing and return nil.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil
	}
	n.stopped = true
	if n.compactor != nil {
		n.compactor.close()
	}
	if err := n.node.Stop(); err != nil {
		// A node that did not stop cleanly may never signal Wait.
		return errors.Join(fmt.Errorf("validator: stop CometBFT node: %w", err), n.closeRPC(), n.closeDBs())
	}
	n.node.Wait()
	return errors.Join(n.closeRPC(), n.closeDBs())
}

// closeRPC closes the RPC servers, after the node (as CometBFT's OnStop
// closes its RPC listeners last).
func (n *Node) closeRPC() error {
	if n.rpc == nil {
		return nil
	}
	return n.rpc.close()
}

// closeDBs closes the CometBFT databases still open, then the
// application's.
func (n *Node) closeDBs() error {
	err := n.dbs.closeAll()
	if cerr := n.appDB.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("validator: close application database: %w", cerr))
	}
	return err
}

// loadFilePV loads the validator key and signing state. privval.LoadFilePV
// exits the process on a bad file; this returns an error instead.
func loadFilePV(keyPath, statePath string) (*privval.FilePV, error) {
	keyJSON, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read validator key: %w", err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(keyJSON, &k); err != nil {
		return nil, fmt.Errorf("decode validator key %s: %w", keyPath, err)
	}
	if k.PrivKey == nil {
		return nil, fmt.Errorf("validator key %s: no priv_key", keyPath)
	}
	stateJSON, err := os.ReadFile(statePath)
	if err != nil {
		return nil, fmt.Errorf("read validator state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(stateJSON, &st); err != nil {
		return nil, fmt.Errorf("decode validator state %s: %w", statePath, err)
	}
	pv := privval.NewFilePV(k.PrivKey, keyPath, statePath)
	pv.LastSignState.Height = st.Height
	pv.LastSignState.Round = st.Round
	pv.LastSignState.Step = st.Step
	pv.LastSignState.Signature = st.Signature
	pv.LastSignState.SignBytes = st.SignBytes
	return pv, nil
}
