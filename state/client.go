package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/state/keyring"
)

// DefaultTimeout bounds one submission, including the wait for inclusion,
// when Options.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// posConsensus is the genesis "consensus" of a proof-of-stake chain
// (core/app's ConsensusPoS).
const posConsensus = "pos"

// pollInterval is how often a submission asks the node whether a block
// includes its transaction.
const pollInterval = 100 * time.Millisecond

// Errors of the client. A transaction the chain refuses is a *TxError,
// which matches ErrTxFailed.
var (
	// ErrTxFailed is matched by every *TxError: CheckTx rejected the
	// transaction or its execution in a block failed.
	ErrTxFailed = errors.New("state: transaction failed")
	// ErrUnsupported is wrapped for a TxConfig option the chain has no use
	// for (a fee granter), or KZG on a chain whose gas_per_kzg_chunk is 0.
	ErrUnsupported = errors.New("state: unsupported option")
	// ErrGasPriceTooHigh is wrapped when the gas price would exceed
	// TxConfig.MaxGasPrice; nothing is broadcast.
	ErrGasPriceTooHigh = errors.New("state: gas price above the maximum")
	// ErrInvalidTx is wrapped for a transaction refused before it is signed:
	// no blobs, a zero amount, a bad gas price.
	ErrInvalidTx = errors.New("state: invalid transaction")
	// ErrNoDefaultKey is returned by the methods that need the default
	// key of a client made without one (Options.NoDefaultKey).
	ErrNoDefaultKey = errors.New("state: the client has no default key")
	// ErrStopped is returned by the network methods after Stop.
	ErrStopped = errors.New("state: client stopped")
	// ErrBlobTooLarge is wrapped for a blob larger than the chain's
	// max_blob_size (a genesis parameter the application enforces on
	// every blob); nothing is signed or sent. It is the sentinel the
	// application rejects such a blob with (core/tx), with celestia-node's
	// text "blob: over size limit".
	ErrBlobTooLarge = tx.ErrBlobTooLarge
	// ErrTxTooLarge is wrapped when the KZG commitments and proofs of a
	// PayForBlobs (TxConfig.KZG) would take the signed transaction over
	// tx.MaxTxSize; the message says how many chunks the limit has room
	// for. Nothing is computed, signed or sent.
	ErrTxTooLarge = errors.New("state: transaction too large")
)

// TxError is a transaction the chain refused, with the evidence: the ABCI
// code and log of CheckTx (Height 0) or of its execution in block Height.
// It matches ErrTxFailed under errors.Is.
type TxError struct {
	TxHash string // upper-case hex
	Height int64  // 0 when CheckTx rejected it
	Code   uint32
	Log    string
}

// Error implements error.
func (e *TxError) Error() string {
	if e.Height == 0 {
		return fmt.Sprintf("state: transaction %s rejected by CheckTx (code %d): %s", e.TxHash, e.Code, e.Log)
	}
	return fmt.Sprintf("state: transaction %s failed in block %d (code %d): %s", e.TxHash, e.Height, e.Code, e.Log)
}

// Is makes a *TxError match ErrTxFailed.
func (e *TxError) Is(target error) bool { return target == ErrTxFailed }

// Options configure a Client.
type Options struct {
	// RPC is the core node's CometBFT RPC address, e.g.
	// http://127.0.0.1:26657.
	RPC string
	// Keyring holds the signing keys.
	Keyring keyring.Keyring
	// DefaultKey names the key used when a TxConfig names none; it must
	// exist when New is called, unless NoDefaultKey.
	DefaultKey string
	// NoDefaultKey makes a client without a default key (DefaultKey must
	// then be empty), for queries that name their account:
	// AccountAddress, Balance, the Query methods of the default key's
	// stake and transactions whose TxConfig selects no key fail with
	// ErrNoDefaultKey.
	NoDefaultKey bool
	// Timeout bounds one submission, including the wait for inclusion,
	// and one query; 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives debug records of submissions; nil discards them.
	Logger *slog.Logger
}

// Client signs transactions with keys of a keyring and submits them to a
// core node. It is safe for concurrent use: submissions signed by one key
// are signed and broadcast one at a time, with the nonce tracked locally,
// and wait for inclusion concurrently.
type Client struct {
	rpc        *cometRPC
	rpcAddr    string
	kr         keyring.Keyring
	defaultKey keyring.Key
	hasDefault bool // defaultKey is set
	timeout    time.Duration
	log        *slog.Logger

	// life is canceled by Stop, ending the calls in flight.
	life   context.Context
	cancel context.CancelFunc

	mu       sync.Mutex // guards stopped and calls' Add
	stopped  bool
	calls    sync.WaitGroup
	chainMu  sync.Mutex // guards chain; held while querying it
	chain    *chainInfo
	signerMu sync.Mutex // guards signers
	signers  map[tx.Address]*signer
}

// chainInfo is what signing needs to know about the chain.
type chainInfo struct {
	id     string
	params tx.Params
	pos    bool // the genesis is proof of stake
}

// New returns a client of the node at opts.RPC. It does no network I/O;
// it loads the default key and fails if the keyring lacks it.
func New(opts Options) (*Client, error) {
	if opts.RPC == "" {
		return nil, errors.New("state: no RPC address")
	}
	switch {
	case opts.DefaultKey == "" && !opts.NoDefaultKey:
		return nil, errors.New("state: no default key")
	case opts.DefaultKey != "" && opts.NoDefaultKey:
		return nil, fmt.Errorf("state: default key %q with NoDefaultKey", opts.DefaultKey)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("state: negative timeout %s", opts.Timeout)
	}
	var k keyring.Key
	if opts.DefaultKey != "" {
		var err error
		if k, err = opts.Keyring.Get(opts.DefaultKey); err != nil {
			return nil, fmt.Errorf("state: default key: %w", err)
		}
	}
	rpc, err := newCometRPC(opts.RPC)
	if err != nil {
		return nil, fmt.Errorf("state: RPC client for %q: %w", opts.RPC, err)
	}
	c := &Client{rpc: rpc, rpcAddr: opts.RPC, kr: opts.Keyring, defaultKey: k, hasDefault: opts.DefaultKey != "",
		timeout: opts.Timeout, log: opts.Logger, signers: map[tx.Address]*signer{}}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.life, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Start does nothing (the client connects on demand); it fails with
// ErrStopped after Stop.
func (c *Client) Start(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return ErrStopped
	}
	return nil
}

// Stop cancels the calls in flight and returns when they have returned;
// later network calls fail with ErrStopped. A transaction already
// broadcast may still be included. Stop is idempotent.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.cancel()
	done := make(chan struct{})
	go func() {
		c.calls.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("state: stop: %w", ctx.Err())
	}
}

// begin registers a call and returns its context: ctx bounded by the
// timeout and canceled by Stop. The caller must call end.
func (c *Client) begin(ctx context.Context) (context.Context, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, nil, ErrStopped
	}
	c.calls.Add(1)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	stop := context.AfterFunc(c.life, cancel)
	return ctx, func() {
		stop()
		cancel()
		c.calls.Done()
	}, nil
}

// beginChain is begin followed by chainInfo; the caller must call end
// when err is nil.
func (c *Client) beginChain(ctx context.Context) (context.Context, func(), chainInfo, error) {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return nil, nil, chainInfo{}, err
	}
	chain, err := c.chainInfo(ctx)
	if err != nil {
		end()
		return nil, nil, chainInfo{}, err
	}
	return ctx, end, chain, nil
}

// AccountAddress returns the default key's address.
func (c *Client) AccountAddress(context.Context) (tx.Address, error) {
	return c.defaultAddress()
}

// defaultAddress returns the default key's address, or ErrNoDefaultKey.
func (c *Client) defaultAddress() (tx.Address, error) {
	if !c.hasDefault {
		return tx.Address{}, ErrNoDefaultKey
	}
	return c.defaultKey.Address, nil
}

// Balance returns the default key's balance at the node's last committed
// block.
func (c *Client) Balance(ctx context.Context) (*Coin, error) {
	addr, err := c.defaultAddress()
	if err != nil {
		return nil, err
	}
	return c.BalanceForAddress(ctx, addr)
}

// BalanceForAddress returns addr's balance at the node's last committed
// block; an account the chain has never seen has 0.
func (c *Client) BalanceForAddress(ctx context.Context, addr tx.Address) (*Coin, error) {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	acc, err := c.queryAccount(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &Coin{Denom: Denom, Amount: Int(acc.Balance)}, nil
}

// Params returns the chain's parameters, read from the node's genesis on
// first use (the application has no parameter updates).
func (c *Client) Params(ctx context.Context) (tx.Params, error) {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return tx.Params{}, err
	}
	defer end()
	ci, err := c.chainInfo(ctx)
	if err != nil {
		return tx.Params{}, err
	}
	return ci.params, nil
}

// chainInfo returns the chain ID and params, querying them on first use:
// the ID from the node's status, the params from its genesis (the
// application has no parameter updates). A failed query is not cached.
func (c *Client) chainInfo(ctx context.Context) (chainInfo, error) {
	c.chainMu.Lock()
	defer c.chainMu.Unlock()
	if c.chain != nil {
		return *c.chain, nil
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return chainInfo{}, fmt.Errorf("state: query node status at %s: %w", c.rpcAddr, err)
	}
	gen, err := c.rpc.Genesis(ctx)
	if err != nil {
		return chainInfo{}, fmt.Errorf("state: query genesis: %w", err)
	}
	if gen == nil || gen.Genesis == nil {
		return chainInfo{}, errors.New("state: query genesis: empty answer")
	}
	chainID, params, err := tx.ParseGenesisParams(gen.Genesis.AppState)
	if err != nil {
		return chainInfo{}, fmt.Errorf("state: genesis app_state: %w", err)
	}
	if chainID != st.NodeInfo.Network {
		return chainInfo{}, fmt.Errorf("state: node reports chain %q, its genesis %q", st.NodeInfo.Network, chainID)
	}
	var consensus struct {
		Consensus string `json:"consensus"`
	}
	if err := json.Unmarshal(gen.Genesis.AppState, &consensus); err != nil {
		return chainInfo{}, fmt.Errorf("state: genesis app_state: %w", err)
	}
	c.chain = &chainInfo{id: chainID, params: params, pos: consensus.Consensus == posConsensus}
	return *c.chain, nil
}

// queryAccount asks the application for an account's balance and nonce at
// the last committed block.
func (c *Client) queryAccount(ctx context.Context, addr tx.Address) (tx.AccountInfo, error) {
	q, err := c.rpc.ABCIQuery(ctx, tx.AccountQueryPath, []byte(addr.String()))
	if err != nil {
		return tx.AccountInfo{}, fmt.Errorf("state: query account %s: %w", addr, err)
	}
	if q.Response.Code != tx.CodeOK {
		return tx.AccountInfo{}, fmt.Errorf("state: query account %s: code %d: %s", addr, q.Response.Code, q.Response.Log)
	}
	var acc tx.AccountInfo
	if err := json.Unmarshal(q.Response.Value, &acc); err != nil {
		return tx.AccountInfo{}, fmt.Errorf("state: query account %s: decode answer: %w", addr, err)
	}
	if acc.Address != addr {
		return tx.AccountInfo{}, fmt.Errorf("state: query account %s: the answer is for %s", addr, acc.Address)
	}
	return acc, nil
}
