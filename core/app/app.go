package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// AppVersion is the application protocol version reported to CometBFT.
const AppVersion = 1

// App is the DataMesh ABCI++ application: a thin layer that holds the
// committed State, the mempool's Delta and the finalized but uncommitted
// block, and calls the pure functions Execute, PrepareTxs and ProcessTxs.
// Its methods are safe for concurrent use (CometBFT's local client also
// serializes them). CheckTx verifies KZG proofs without holding the App's
// lock, so that with an ABCI client that does not serialize its connections
// (a remote application, or proxy.NewConnSyncLocalClientCreator) mempool
// verification does not hold up consensus; with CometBFT's default local
// client (proxy.NewLocalClientCreator, which core/validator uses) every ABCI
// call waits for the one before it anyway.
type App struct {
	abci.BaseApplication // snapshots: unused

	store  *Store
	logger *slog.Logger
	bsKey  *secp256k1.PrivateKey // signs attestations; nil: never signs
	// checkInvariants: WithInvariantChecks.
	checkInvariants bool

	mu      sync.Mutex
	state   *State // committed; nil before InitChain
	height  int64  // last committed block, 0 before the first
	appHash []byte
	check   *Delta // the mempool's view, reset at Commit

	pending *pendingBlock // finalized, not yet committed

	// verified: the BlobTxs whose blobs and KZG proofs were checked, by
	// hash; it has a lock of its own, for CheckTx.
	verified *verifiedTxs
	// prepared is the last proposal PrepareProposal returned, accepted
	// the last one ProcessProposal accepted; both are dropped at Commit.
	prepared, accepted *checkedProposal
	// squares: the extended squares of the last proposals, for
	// TakeSquare; nil unless WithSquareHandOff. It has a lock of its own.
	squares *keptSquares
	// retainBlocks is how many of the last blocks CometBFT keeps
	// (WithRetainBlocks); 0 keeps every block.
	retainBlocks int64
}

type pendingBlock struct {
	state    *State
	changes  *Delta
	height   int64
	appHash  []byte
	dataRoot []byte // its data root transaction's; nil if none decodes
}

var _ abci.Application = (*App)(nil)

// Option is an optional setting of New.
type Option func(*App) error

// WithBlobstreamKey makes the application sign the pending attestation in
// its vote extensions with key (the validator's blobstream key), when the
// key's EVM address is in the valset that signs it.
func WithBlobstreamKey(key *secp256k1.PrivateKey) Option {
	return func(a *App) error {
		if key == nil {
			return errors.New("app: no blobstream key")
		}
		a.bsKey = key
		return nil
	}
}

// WithRetainBlocks makes Commit ask CometBFT to keep only the last n
// blocks (ResponseCommit.RetainHeight = height − n + 1): it deletes the
// older blocks' data from its block store and their state. CometBFT
// itself keeps the headers, commits and validator sets that evidence of
// double signing still in its max age needs, so evidence stays
// verifiable. A node that keeps fewer blocks cannot serve older ones to
// peers catching up (block sync) or to clients (a bridge following it
// must stay within n blocks of its head). n = 0 keeps every block.
func WithRetainBlocks(n int64) Option {
	return func(a *App) error {
		if n < 0 {
			return fmt.Errorf("app: retain blocks %d is negative", n)
		}
		a.retainBlocks = n
		return nil
	}
}

// New returns the application over db, with the state last committed to it
// (none for a new database: CometBFT then calls InitChain). logger may be
// nil. New reads db but does no other I/O; the caller owns and closes db
// after the node stops.
func New(db *badger.DB, logger *slog.Logger, opts ...Option) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{store: NewStore(db), logger: logger, verified: newVerifiedTxs(verifiedTxCacheSize)}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	st, height, appHash, err := a.store.Load()
	if err != nil {
		return nil, err
	}
	if st != nil {
		a.state, a.height, a.appHash = st, height, appHash
		a.check = NewDelta(st)
	}
	return a, nil
}

// Info reports the last committed height and app hash, so CometBFT's
// handshake replays only the blocks the application has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := &abci.ResponseInfo{Data: "datamesh", Version: "0.1.0", AppVersion: AppVersion, LastBlockHeight: a.height}
	if a.height > 0 {
		res.LastBlockAppHash = bytes.Clone(a.appHash)
	}
	return res, nil
}

// InitChain loads the genesis from req.AppStateBytes (Genesis JSON). Its
// chain_id must be CometBFT's. The validators are CometBFT's genesis
// validators when it has some (the app genesis must then list none or the
// same), otherwise the app genesis's, returned to CometBFT. On a
// proof-of-stake genesis they are the staking active set at req.Time,
// which CometBFT's must equal if it lists any. The genesis state is saved
// at height 0.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.height > 0 {
		return nil, fmt.Errorf("app: InitChain after block %d", a.height)
	}
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if g.ChainID != req.ChainId {
		return nil, fmt.Errorf("%w: chain_id %q, CometBFT's genesis says %q", ErrInvalidGenesis, g.ChainID, req.ChainId)
	}
	res := &abci.ResponseInitChain{}
	vals, err := cometValidators(req)
	if err != nil {
		return nil, err
	}
	var st *State
	switch {
	case g.IsPoS():
		// The staking active set is the set; CometBFT's, if any, must be it.
		if st, err = NewGenesisState(g, req.Time.Unix()); err != nil {
			return nil, err
		}
		if len(vals) > 0 && !sameValidators(st.Validators(), vals) {
			return nil, fmt.Errorf("%w: CometBFT's genesis validators differ from the staking active set (power = self-bond / power_reduction)", ErrInvalidGenesis)
		}
		if len(vals) == 0 {
			res.Validators = validatorUpdates(st.Validators())
		}
	case len(vals) > 0:
		if len(g.Validators) > 0 && !sameValidators(g.Validators, vals) {
			return nil, fmt.Errorf("%w: app genesis validators differ from CometBFT's", ErrInvalidGenesis)
		}
		g.Validators = vals
		if err := g.Validate(); err != nil {
			return nil, err
		}
	default:
		if len(g.Validators) == 0 {
			return nil, fmt.Errorf("%w: no validators", ErrInvalidGenesis)
		}
		res.Validators = validatorUpdates(g.Validators)
	}
	if st == nil {
		st = NewState(g)
	}
	hash, err := st.Hash()
	if err != nil {
		return nil, err
	}
	if err := a.store.Save(st, nil, 0, hash); err != nil {
		return nil, err
	}
	a.state, a.height, a.appHash, a.pending = st, 0, hash, nil
	a.prepared, a.accepted = nil, nil
	a.squares.reset()
	a.check = NewDelta(st)
	res.AppHash = hash
	a.logger.Info("init chain", "chain_id", g.ChainID, "consensus", g.Consensus, "accounts", len(g.Accounts), "validators", len(st.validators))
	return res, nil
}

// cometValidators returns CometBFT's genesis validators of req (ed25519
// only).
func cometValidators(req *abci.RequestInitChain) ([]GenesisValidator, error) {
	vals := make([]GenesisValidator, 0, len(req.Validators))
	for i, v := range req.Validators {
		pk := v.PubKey.GetEd25519()
		if pk == nil {
			return nil, fmt.Errorf("%w: CometBFT validator %d is not ed25519", ErrInvalidGenesis, i)
		}
		vals = append(vals, GenesisValidator{PubKey: pk, Power: v.Power})
	}
	return vals, nil
}

func validatorUpdates(vals []GenesisValidator) []abci.ValidatorUpdate {
	out := make([]abci.ValidatorUpdate, 0, len(vals))
	for _, v := range vals {
		out = append(out, abci.Ed25519ValidatorUpdate(v.PubKey, v.Power))
	}
	return out
}

func sameValidators(x, y []GenesisValidator) bool {
	m := map[string]int64{}
	for _, v := range x {
		m[string(v.PubKey)] = v.Power
	}
	if len(m) != len(y) {
		return false
	}
	for _, v := range y {
		if p, ok := m[string(v.PubKey)]; !ok || p != v.Power {
			return false
		}
	}
	return true
}

// CheckTx executes the transaction against the mempool's view of the state
// (committed state plus the transactions CheckTx accepted since the last
// Commit) and rejects it with a nonzero code and the reason in Log.
//
// A new transaction (req.Type New) with KZG commitments has its proofs
// verified too, once it is known to pass every other check: the check runs
// against the mempool's view under a.mu, the pairing check (about 1 ms a
// chunk) without it, and the transaction is then executed under a.mu as any
// other, against the view as it is by then. The verification depends only
// on the transaction's bytes and the chain's params, fixed at genesis, so a
// recheck (req.Type Recheck, after each Commit, of a transaction CheckTx
// accepted as new) does not repeat it.
//
// So do the blobs' share commitments (checkBlobs): a BlobTx that passes
// them, and its KZG proofs, is remembered by hash (verifiedTxs), and
// neither PrepareProposal, ProcessProposal nor FinalizeBlock computes them
// again for the same bytes. A recheck does not even hash the transaction
// to look it up: CometBFT rechecks only the transactions of its mempool,
// each accepted by a CheckTx of type New of this application, which
// checked its blobs (and does not outlive it). Under a blob load the
// mempool holds a few blocks' worth of transactions, rechecked after every
// block: that hashing was most of CheckTx's CPU (megabytes a transaction).
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	recheck := req.Type == abci.CheckTxType_Recheck
	cache := a.verified
	if recheck {
		cache = nil
	}
	dt, decodeErr := decodeCached(req.Tx, cache)
	if recheck && decodeErr == nil && dt.btx != nil {
		dt.blobsChecked = true
	}
	// blobsVerified: dt's blobs and KZG proofs pass, once executeTx passes.
	blobsVerified := false
	if decodeErr == nil && !dt.blobsChecked && dt.btx != nil {
		switch {
		case !carriesKZG(dt.t):
			blobsVerified = true // checkBlobs is the whole check
		case req.Type == abci.CheckTxType_New:
			if res := a.checkKZG(dt.t, dt.btx); res != nil {
				return res, nil
			}
			a.verified.add(dt.hash)
			dt.blobsChecked = true
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return noGenesis(), nil
	}
	if decodeErr != nil {
		return checkTxError(decodeErr), nil
	}
	res, err := executeTx(a.check, dt.t, dt.btx, dt.blobsChecked)
	if err != nil {
		return checkTxError(err), nil
	}
	if blobsVerified {
		a.verified.add(dt.hash)
	}
	return &abci.ResponseCheckTx{GasWanted: int64(res.GasWanted), GasUsed: int64(res.GasUsed)}, nil
}

// checkKZG returns CheckTx's rejection of t, a decoded transaction with KZG
// commitments carried by btx, if it would be rejected: by the checks of
// Execute against the mempool's view (without changing it), or because its
// proofs do not verify. It returns nil for one whose proofs verify; CheckTx
// then executes it.
func (a *App) checkKZG(t *tx.Tx, btx *share.BlobTx) *abci.ResponseCheckTx {
	a.mu.Lock()
	if a.state == nil {
		a.mu.Unlock()
		return noGenesis()
	}
	_, err := validateTx(a.check, t, btx, false)
	a.mu.Unlock()
	if err == nil {
		err = verifyKZG(t, btx)
	}
	if err != nil {
		return checkTxError(err)
	}
	return nil
}

func noGenesis() *abci.ResponseCheckTx {
	return &abci.ResponseCheckTx{Code: tx.CodeInternal, Log: "app: no genesis yet"}
}

// checkTxError is CheckTx's rejection for err: tx.Code's code, or
// CodeInternal for a KZG setup that did not load (the node's fault).
func checkTxError(err error) *abci.ResponseCheckTx {
	code := tx.Code(err)
	if errors.Is(err, kzg.ErrSetup) {
		code = tx.CodeInternal
	}
	return &abci.ResponseCheckTx{Code: code, Log: err.Error()}
}

// PrepareProposal returns PrepareTxs of the mempool's transactions, led by
// an attestation transaction when the vote extensions of the last commit
// (req.LocalLastCommit, checked again) sign the pending attestation with
// the signing valset's threshold. Should that fail (a bug, not bad input),
// it proposes an empty block rather than halting consensus.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return nil, errors.New("app: PrepareProposal before InitChain")
	}
	txs, decoded, built, err := prepareTxs(a.state, a.collectAttestation(req.LocalLastCommit), req.Txs, req.MaxTxBytes, a.verified)
	if err != nil {
		a.logger.Error("prepare proposal failed; proposing an empty block", "height", req.Height, "err", err)
		drt, err := DataRootTx(nil, a.state.Config.Params.MaxSquareSize)
		if err != nil {
			return nil, err
		}
		txs, decoded = [][]byte{drt}, []decodedTx{{}}
	}
	a.squares.add(req.Height, built.ext, built.dah)
	a.prepared = &checkedProposal{base: a.state, height: req.Height, txs: slices.Clone(txs),
		digest: proposalDigest(txs, decoded), decoded: decoded}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal accepts exactly the proposals ProcessTxs accepts.
//
// The proposer receives the proposal its PrepareProposal just returned: when
// req.Txs are that proposal (same height, same committed state, same
// digest over the transactions' hashes), ProcessProposal checks what
// depends on the state (the attestation, every transaction's execution in
// order) and not what PrepareProposal computed from the same bytes (the
// blobs, the KZG proofs, the square, its extension and data root). Any
// other proposal is checked in full, with the BlobTxs CheckTx verified
// taken as verified (verifiedTxs).
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return nil, errors.New("app: ProcessProposal before InitChain")
	}
	var own []decodedTx
	if a.prepared.builtBy(a.state, req.Height, req.Txs) {
		own = a.prepared.decoded
	}
	decoded, built, err := processTxs(a.state, req.Txs, own, a.verified)
	if err != nil {
		a.logger.Warn("rejected proposal", "height", req.Height, "proposer", fmt.Sprintf("%X", req.ProposerAddress), "err", err)
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	a.accepted = &checkedProposal{base: a.state, height: req.Height, txs: slices.Clone(req.Txs), decoded: decoded}
	a.squares.add(req.Height, built.ext, built.dah) // nothing for own: PrepareProposal kept it
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the block's transactions in order (the last one, the
// data root transaction, has nothing to execute), returns one result per
// transaction, the validator updates (one per key, the last one wins) and
// the new app hash. The state is kept in memory until Commit.
//
// On a proof-of-stake chain the block starts with staking's BeginBlock (the
// last block's fees, the last commit's votes, req.Misbehavior as double
// sign evidence) and ends with its EndBlock, whose changes of the active
// set are the validator updates.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return nil, errors.New("app: FinalizeBlock before InitChain")
	}
	if a.height > 0 && req.Height != a.height+1 {
		return nil, fmt.Errorf("app: FinalizeBlock at height %d, the last committed block is %d", req.Height, a.height)
	}
	d := NewDelta(a.state)
	res := &abci.ResponseFinalizeBlock{TxResults: make([]*abci.ExecTxResult, len(req.Txs))}
	if a.state.IsPoS() {
		if err := beginStake(d, req); err != nil {
			return nil, err
		}
	}
	// The block ProcessProposal accepted: its transactions are decoded and
	// their blobs checked.
	var known []decodedTx
	if a.accepted.holds(a.state, req.Height, req.Txs) {
		known = a.accepted.decoded
	}
	var updates []*tx.MsgUpdateValidator
	updateIndex := map[string]int{}
	var att *AttestationTx
	var dataRoot []byte
	for i, raw := range req.Txs {
		if i == len(req.Txs)-1 && header.IsDataRootTx(raw) {
			res.TxResults[i] = &abci.ExecTxResult{Log: "data root"}
			if drt, err := header.UnmarshalDataRootTx(raw); err == nil {
				dataRoot = drt.DataRoot
			}
			continue
		}
		if i == 0 && IsAttestationTx(raw) {
			var err error
			if att, err = checkAttestationTx(a.state, raw); err != nil {
				res.TxResults[i] = &abci.ExecTxResult{Code: tx.CodeInvalidMsg, Log: err.Error()}
			} else {
				res.TxResults[i] = &abci.ExecTxResult{Log: fmt.Sprintf("attestation %d", att.Nonce)}
			}
			continue
		}
		var r Result
		var err error
		if known != nil && known[i].t != nil {
			r, err = executeTx(d, known[i].t, known[i].btx, known[i].blobsChecked)
		} else {
			r, err = Execute(d, raw)
		}
		if err != nil {
			res.TxResults[i] = &abci.ExecTxResult{Code: tx.Code(err), Log: err.Error()}
			continue
		}
		res.TxResults[i] = &abci.ExecTxResult{GasWanted: int64(r.GasWanted), GasUsed: int64(r.GasUsed)}
		if u := r.ValidatorUpdate; u != nil {
			if j, ok := updateIndex[string(u.PubKey)]; ok {
				updates[j] = u
			} else {
				updateIndex[string(u.PubKey)] = len(updates)
				updates = append(updates, u)
			}
		}
	}
	for _, u := range updates {
		res.ValidatorUpdates = append(res.ValidatorUpdates, abci.Ed25519ValidatorUpdate(u.PubKey, u.Power))
	}
	if a.state.IsPoS() {
		res.ValidatorUpdates = endStake(d)
	}
	next := d.apply()
	if err := next.endBlock(req.Height, dataRoot, att, d.bsDirty); err != nil {
		return nil, err
	}
	if a.checkInvariants {
		if err := next.CheckInvariants(); err != nil {
			return nil, err
		}
	}
	hash, err := next.Hash()
	if err != nil {
		return nil, err
	}
	a.pending = &pendingBlock{state: next, changes: d, height: req.Height, appHash: hash, dataRoot: dataRoot}
	res.AppHash = hash
	return res, nil
}

// Commit persists the finalized block's state, height and app hash in one
// Badger transaction and resets the mempool's view. Of the squares kept
// for TakeSquare (WithSquareHandOff) it drops those of the height's other
// proposals and of heights two or more below it.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending
	if p == nil {
		return nil, errors.New("app: Commit without FinalizeBlock")
	}
	if err := a.store.Save(p.state, p.changes, p.height, p.appHash); err != nil {
		return nil, err
	}
	p.state.settle()
	a.state, a.height, a.appHash, a.pending = p.state, p.height, p.appHash, nil
	a.prepared, a.accepted = nil, nil
	a.squares.commit(p.height, p.dataRoot)
	a.check = NewDelta(a.state)
	return &abci.ResponseCommit{RetainHeight: retainHeight(p.height, a.retainBlocks)}, nil
}

// retainHeight is the lowest height to keep when keeping n blocks up to
// height: 0 (keep all) when n is 0 or there are no more than n blocks.
func retainHeight(height, n int64) int64 {
	if n <= 0 || height <= n {
		return 0
	}
	return height - n + 1
}

// Query answers, at the last committed height, path "/account" with data
// a bech32 address: the account's AccountInfo as JSON; Blobstream's paths
// (tx.AttestationQueryPath and the others, queryBlobstream); and the
// staking paths of a proof-of-stake chain (tx.StakingValidatorsQueryPath
// and the others, queryStaking).
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.Path != tx.AccountQueryPath && !isBlobstreamQuery(req.Path) && !isStakingQuery(req.Path) {
		return &abci.ResponseQuery{Code: tx.CodeInvalidMsg, Log: fmt.Sprintf("app: unknown query path %q", req.Path)}, nil
	}
	if a.state == nil {
		return &abci.ResponseQuery{Code: tx.CodeInternal, Log: "app: no genesis yet"}, nil
	}
	if isStakingQuery(req.Path) {
		return a.queryStaking(req)
	}
	if req.Path != tx.AccountQueryPath {
		return a.queryBlobstream(req)
	}
	addr, err := tx.ParseAddress(string(req.Data))
	if err != nil {
		return &abci.ResponseQuery{Code: tx.CodeInvalidMsg, Log: err.Error()}, nil
	}
	acc := a.state.Account(addr)
	v, err := json.Marshal(tx.AccountInfo{Address: addr, Balance: acc.Balance, Nonce: acc.Nonce})
	if err != nil {
		return nil, err
	}
	return &abci.ResponseQuery{Value: v, Height: a.height}, nil
}
