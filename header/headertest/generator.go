// Package headertest builds valid chains of extended headers for tests, with
// real keys, real data squares and real signed commits, and provides an
// in-memory header.Store and a conformance suite for Store implementations.
package headertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// ValidatorChange replaces the validator set from a chosen height on: the
// new set keeps the first Keep validators of the set before it (in the
// set's order) and adds Add validators with fresh keys.
type ValidatorChange struct {
	Keep, Add int
}

// Options configure a Generator. The zero value is valid.
type Options struct {
	// ChainID defaults to "test-chain".
	ChainID string
	// Validators is the size of the first validator set, default 4, each
	// with voting power Power (default 10).
	Validators int
	Power      int64
	// StartHeight is the height of the first header, default 1.
	StartHeight int64
	// StartTime is the time of the first header, default one hour before
	// the generator was created (rounded to the second). BlockTime is the
	// time between headers, default 1s.
	StartTime time.Time
	BlockTime time.Duration
	// Blobs is the number of random blobs per block, default 2, each of up
	// to MaxBlobSize bytes (default 1024). Squares stay small, so chains are
	// cheap to build.
	Blobs       int
	MaxBlobSize int
	// Changes maps a height above StartHeight to the validator set change
	// that first signs the header at that height; the header before it
	// carries the new set's hash as NextValidatorsHash, as CometBFT does.
	Changes map[int64]ValidatorChange
	// Absent is how many validators, the last ones in the set's order,
	// do not sign each commit (BlockIDFlagAbsent). With too many absent
	// the headers would not validate, and Next fails.
	Absent int
	// Byzantine, when set, rewrites each block's transactions (the data
	// root transaction last) before DataHash is computed and the validators
	// sign: it makes blocks a faulty majority could commit, such as a data
	// root transaction that is not last or commits to another square. The
	// header then proves the last data root transaction in the list, and
	// Next does not validate it. Return txs unchanged for a valid block.
	Byzantine func(height int64, txs cmttypes.Txs) cmttypes.Txs
	// OnSquare, when set, is handed each block's extended square before
	// its header is built, so tests can serve the block's shares (a DAS
	// test's share getter). The square is immutable and may be kept.
	OnSquare func(height int64, square *eds.ExtendedDataSquare)
	// Seed makes keys, blobs and part-set hashes deterministic.
	Seed uint64
}

// Generator produces a chain of valid, verifiable extended headers, one
// block after the other. It is not safe for concurrent use.
type Generator struct {
	opts   Options
	rng    *rand.Rand
	keyCtr uint64

	err     error // from the options; returned by every Next
	height  int64 // of the next header
	time    time.Time
	last    cmttypes.BlockID
	lastCmt *cmttypes.Commit
	vals    *validators // sign the next header
	next    *validators // sign the one after
}

type validators struct {
	set  *cmttypes.ValidatorSet
	keys map[string]cmttypes.PrivValidator // by address
}

// NewGenerator returns a generator with opts. Options that cannot build a
// chain (a negative count, a change leaving no validator) make every Next
// fail.
func NewGenerator(opts Options) *Generator {
	if opts.ChainID == "" {
		opts.ChainID = "test-chain"
	}
	if opts.Validators == 0 {
		opts.Validators = 4
	}
	if opts.Power == 0 {
		opts.Power = 10
	}
	if opts.StartHeight == 0 {
		opts.StartHeight = 1
	}
	if opts.StartTime.IsZero() {
		opts.StartTime = time.Now().Add(-time.Hour)
	}
	opts.StartTime = opts.StartTime.UTC().Truncate(time.Second)
	if opts.BlockTime == 0 {
		opts.BlockTime = time.Second
	}
	if opts.Blobs == 0 {
		opts.Blobs = 2
	}
	if opts.MaxBlobSize == 0 {
		opts.MaxBlobSize = 1024
	}
	g := &Generator{
		err:    opts.check(),
		opts:   opts,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		height: opts.StartHeight,
		time:   opts.StartTime,
	}
	if g.err != nil {
		return g
	}
	g.vals = g.newValidators(nil, ValidatorChange{Add: opts.Validators})
	g.next = g.setFor(opts.StartHeight+1, g.vals)
	return g
}

func (o Options) check() error {
	switch {
	case o.Validators < 0 || o.Absent < 0 || o.Power < 0 || o.Blobs < 0 || o.MaxBlobSize < 0 || o.BlockTime < 0:
		return fmt.Errorf("headertest: negative option in %+v", o)
	case o.StartHeight < 1:
		return fmt.Errorf("headertest: start height %d", o.StartHeight)
	}
	for h, ch := range o.Changes {
		if h <= o.StartHeight {
			return fmt.Errorf("headertest: change at height %d, not above the start height %d", h, o.StartHeight)
		}
		if ch.Keep < 0 || ch.Add < 0 || ch.Keep+ch.Add == 0 {
			return fmt.Errorf("headertest: change at height %d leaves no validator", h)
		}
	}
	return nil
}

// ChainID returns the chain ID of the generated headers.
func (g *Generator) ChainID() string { return g.opts.ChainID }

// setFor returns the validators that sign height h, given those of h-1.
func (g *Generator) setFor(h int64, prev *validators) *validators {
	ch, ok := g.opts.Changes[h]
	if !ok {
		return prev
	}
	return g.newValidators(prev, ch)
}

func (g *Generator) newValidators(prev *validators, ch ValidatorChange) *validators {
	v := &validators{keys: map[string]cmttypes.PrivValidator{}}
	var list []*cmttypes.Validator
	if prev != nil {
		for i, val := range prev.set.Validators {
			if i >= ch.Keep {
				break
			}
			list = append(list, cmttypes.NewValidator(val.PubKey, val.VotingPower))
			v.keys[string(val.Address)] = prev.keys[string(val.Address)]
		}
	}
	for range ch.Add {
		g.keyCtr++
		var secret [16]byte
		binary.BigEndian.PutUint64(secret[:], g.opts.Seed)
		binary.BigEndian.PutUint64(secret[8:], g.keyCtr)
		pv := cmttypes.NewMockPVWithParams(ed25519.GenPrivKeyFromSecret(secret[:]), false, false)
		pub, _ := pv.GetPubKey()
		list = append(list, cmttypes.NewValidator(pub, g.opts.Power))
		v.keys[string(pub.Address())] = pv
	}
	v.set = cmttypes.NewValidatorSet(list)
	return v
}

// Next returns the next header of the chain. The error is for callers that
// are not tests; Must wraps it for those that are.
func (g *Generator) Next() (*header.ExtendedHeader, error) {
	if g.err != nil {
		return nil, g.err
	}
	txs, dah, err := g.block()
	if err != nil {
		return nil, err
	}
	proposer := g.vals.set.GetProposer()
	h := cmttypes.Header{
		Version:            cmtversion.Consensus{Block: version.BlockProtocol, App: 1},
		ChainID:            g.opts.ChainID,
		Height:             g.height,
		Time:               g.time,
		LastBlockID:        g.last,
		DataHash:           txs.Hash(),
		ValidatorsHash:     g.vals.set.Hash(),
		NextValidatorsHash: g.next.set.Hash(),
		ConsensusHash:      tmhash.Sum([]byte("consensus params")),
		AppHash:            tmhash.Sum(binary.BigEndian.AppendUint64(nil, uint64(g.height))),
		LastResultsHash:    tmhash.Sum(nil),
		EvidenceHash:       cmttypes.EvidenceList{}.Hash(),
		ProposerAddress:    proposer.Address,
	}
	if g.lastCmt != nil {
		h.LastCommitHash = g.lastCmt.Hash()
	}
	partHash := make([]byte, tmhash.Size)
	for i := range partHash {
		partHash[i] = byte(g.rng.Uint32())
	}
	blockID := cmttypes.BlockID{Hash: h.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: partHash}}
	commit, err := g.sign(blockID, g.vals)
	if err != nil {
		return nil, err
	}
	var eh *header.ExtendedHeader
	if g.opts.Byzantine == nil {
		eh, err = header.MakeExtendedHeader(&h, txs, commit, g.vals.set.Copy(), dah)
		if err != nil {
			return nil, fmt.Errorf("headertest: height %d: %w", g.height, err)
		}
	} else {
		// A rewritten block: prove the last data root transaction wherever
		// it is, signed and chained like any other, and do not validate.
		idx := len(txs) - 1
		for idx > 0 && !header.IsDataRootTx(txs[idx]) {
			idx--
		}
		proof := txs.Proof(idx)
		eh = &header.ExtendedHeader{
			RawHeader:     h,
			Commit:        commit,
			ValidatorSet:  g.vals.set.Copy(),
			DAH:           dah,
			DataRootTx:    bytes.Clone(txs[idx]),
			DataRootProof: proof.Proof,
		}
	}

	g.height++
	g.time = g.time.Add(g.opts.BlockTime)
	g.last = blockID
	g.lastCmt = commit
	g.vals, g.next = g.next, g.setFor(g.height+1, g.next)
	g.vals.set.IncrementProposerPriority(1)
	return eh, nil
}

// Must returns the next header or fails t.
func (g *Generator) Must(t testing.TB) *header.ExtendedHeader {
	t.Helper()
	h, err := g.Next()
	if err != nil {
		t.Fatalf("headertest: %v", err)
	}
	return h
}

// Chain returns the next n headers or fails t.
func (g *Generator) Chain(t testing.TB, n int) []*header.ExtendedHeader {
	t.Helper()
	out := make([]*header.ExtendedHeader, n)
	for i := range out {
		out[i] = g.Must(t)
	}
	return out
}

// Clone returns a deep copy of h through its wire encoding, or fails t: a
// test forges the copy and never touches the chain it came from.
func Clone(t testing.TB, h *header.ExtendedHeader) *header.ExtendedHeader {
	t.Helper()
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c, err := header.UnmarshalExtendedHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// block returns the block's transactions, the data root transaction last,
// and the DAH of its square.
func (g *Generator) block() (cmttypes.Txs, *eds.DataAvailabilityHeader, error) {
	var raw [][]byte
	for i := range g.opts.Blobs {
		id := make([]byte, 10)
		binary.BigEndian.PutUint64(id[2:], g.rng.Uint64()|1)
		ns, err := share.NewV0Namespace(id)
		if err != nil {
			return nil, nil, err
		}
		data := make([]byte, 1+g.rng.IntN(g.opts.MaxBlobSize))
		for j := range data {
			data[j] = byte(g.rng.Uint32())
		}
		blob, err := share.NewBlob(ns, data, 0, nil)
		if err != nil {
			return nil, nil, err
		}
		btx, err := share.MarshalBlobTx([]byte(fmt.Sprintf("pfb %d/%d", g.height, i)), blob)
		if err != nil {
			return nil, nil, err
		}
		raw = append(raw, btx)
	}
	raw = append(raw, []byte(fmt.Sprintf("transfer at %d", g.height)))
	sq, kept, err := share.Build(raw, share.SquareSizeUpperBound)
	if err != nil {
		return nil, nil, fmt.Errorf("headertest: building square: %w", err)
	}
	ext, err := eds.Extend(sq.Shares)
	if err != nil {
		return nil, nil, fmt.Errorf("headertest: extending square: %w", err)
	}
	dah, err := eds.NewDAH(ext)
	if err != nil {
		return nil, nil, err
	}
	if g.opts.OnSquare != nil {
		g.opts.OnSquare(g.height, ext)
	}
	drt, err := header.DataRootTx{SquareSize: uint32(dah.SquareSize()), DataRoot: dah.Hash()}.Marshal()
	if err != nil {
		return nil, nil, err
	}
	txs := make(cmttypes.Txs, 0, len(kept)+1)
	for _, tx := range kept {
		txs = append(txs, tx)
	}
	txs = append(txs, drt)
	if g.opts.Byzantine != nil {
		txs = g.opts.Byzantine(g.height, txs)
		if len(txs) == 0 {
			return nil, nil, fmt.Errorf("headertest: Byzantine left block %d without transactions", g.height)
		}
	}
	return txs, dah, nil
}

// sign returns the commit of blockID signed by the validators of v but the
// last Absent.
func (g *Generator) sign(blockID cmttypes.BlockID, v *validators) (*cmttypes.Commit, error) {
	sigs := make([]cmttypes.CommitSig, len(v.set.Validators))
	for i, val := range v.set.Validators {
		if i >= len(v.set.Validators)-g.opts.Absent {
			sigs[i] = cmttypes.NewCommitSigAbsent()
			continue
		}
		vote := &cmttypes.Vote{
			Type:             cmtproto.PrecommitType,
			Height:           g.height,
			BlockID:          blockID,
			Timestamp:        g.time.Add(g.opts.BlockTime / 2),
			ValidatorAddress: val.Address,
			ValidatorIndex:   int32(i),
		}
		pv := vote.ToProto()
		if err := v.keys[string(val.Address)].SignVote(g.opts.ChainID, pv); err != nil {
			return nil, err
		}
		sigs[i] = cmttypes.CommitSig{
			BlockIDFlag:      cmttypes.BlockIDFlagCommit,
			ValidatorAddress: val.Address,
			Timestamp:        vote.Timestamp,
			Signature:        pv.Signature,
		}
	}
	return &cmttypes.Commit{Height: g.height, BlockID: blockID, Signatures: sigs}, nil
}
