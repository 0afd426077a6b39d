package staking

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/internal/cowmap"
)

// ConsPubKeySize is the size of a validator's consensus key: ed25519.
const ConsPubKeySize = 32

// ConsAddress is a validator's consensus address as CometBFT computes it
// for an ed25519 key: the first 20 bytes of SHA-256 of the public key. The
// votes and evidence CometBFT reports name validators by it.
type ConsAddress [20]byte

// ConsAddressOf returns the consensus address of an ed25519 public key.
func ConsAddressOf(pub []byte) ConsAddress {
	h := sha256.Sum256(pub)
	var a ConsAddress
	copy(a[:], h[:20])
	return a
}

// Status is a validator's bonding status.
type Status uint8

// Validator statuses, as Cosmos SDK names them.
const (
	// Unbonded: not in the active set and past its unbonding period.
	Unbonded Status = iota
	// Unbonding: left the active set less than UnbondingTime ago; its
	// stake is still slashable for earlier infractions.
	Unbonding
	// Bonded: in the active set.
	Bonded
)

// String returns Cosmos SDK's name of the status.
func (s Status) String() string {
	switch s {
	case Unbonded:
		return "BOND_STATUS_UNBONDED"
	case Unbonding:
		return "BOND_STATUS_UNBONDING"
	case Bonded:
		return "BOND_STATUS_BONDED"
	}
	return fmt.Sprintf("BOND_STATUS_%d", uint8(s))
}

// Commission is a validator's commission on its rewards.
type Commission struct {
	Rate          Dec `json:"rate"`
	MaxRate       Dec `json:"max_rate"`
	MaxChangeRate Dec `json:"max_change_rate"`
	// UpdateTime is when Rate last changed (unix seconds).
	UpdateTime int64 `json:"update_time"`
}

// Validator is a validator as queries return it. The operator address is
// the account that created it; it identifies the validator in every
// operation.
type Validator struct {
	Operator   tx.Address `json:"operator_address"`
	ConsPubKey []byte     `json:"consensus_pubkey"`
	Moniker    string     `json:"moniker"`
	Status     Status     `json:"status"`
	Jailed     bool       `json:"jailed"`
	// Tokens is the stake bonded to the validator, after slashes.
	Tokens uint64 `json:"tokens"`
	// Shares is the sum of its delegations' shares.
	Shares     Dec        `json:"delegator_shares"`
	Commission Commission `json:"commission"`
	// UnbondingHeight and UnbondingTime are when the validator last left
	// the active set and when that unbonding completes.
	UnbondingHeight int64 `json:"unbonding_height"`
	UnbondingTime   int64 `json:"unbonding_time"`
}

// ConsAddress returns the validator's consensus address.
func (v Validator) ConsAddress() ConsAddress { return ConsAddressOf(v.ConsPubKey) }

// Power returns the CometBFT voting power of tokens.
func (p Params) Power(tokens uint64) int64 {
	pw := tokens / p.PowerReduction
	if pw > maxPower {
		pw = maxPower
	}
	return int64(pw)
}

// maxPower keeps a validator under CometBFT's total voting power cap
// (MaxInt64/8) even with maxMaxValidators of them.
const maxPower = (1<<63 - 1) / 8 / maxMaxValidators

// Delegation is a delegator's shares of a validator.
type Delegation struct {
	Delegator tx.Address `json:"delegator_address"`
	Validator tx.Address `json:"validator_address"`
	Shares    Dec        `json:"shares"`
}

// UnbondingEntry is one undelegation waiting for its completion time.
type UnbondingEntry struct {
	CreationHeight int64 `json:"creation_height"`
	// CompletionTime is when Balance returns to the delegator: at the
	// first EndBlock whose time is at or after it.
	CompletionTime int64  `json:"completion_time"`
	InitialBalance uint64 `json:"initial_balance"`
	// Balance is InitialBalance less slashes.
	Balance uint64 `json:"balance"`
}

// UnbondingDelegation is the unbonding entries of one delegator from one
// validator, oldest first.
type UnbondingDelegation struct {
	Delegator tx.Address       `json:"delegator_address"`
	Validator tx.Address       `json:"validator_address"`
	Entries   []UnbondingEntry `json:"entries"`
}

// RedelegationEntry is one redelegation still slashable for infractions
// of the source validator.
type RedelegationEntry struct {
	CreationHeight int64  `json:"creation_height"`
	CompletionTime int64  `json:"completion_time"`
	InitialBalance uint64 `json:"initial_balance"`
	// SharesDst are the shares the redelegation created at the
	// destination.
	SharesDst Dec `json:"shares_dst"`
}

// Redelegation is the redelegation entries of one delegator from one
// validator to another, oldest first.
type Redelegation struct {
	Delegator tx.Address          `json:"delegator_address"`
	Src       tx.Address          `json:"validator_src_address"`
	Dst       tx.Address          `json:"validator_dst_address"`
	Entries   []RedelegationEntry `json:"entries"`
}

// SigningInfo is a validator's liveness record.
type SigningInfo struct {
	Address ConsAddress `json:"address"`
	// StartHeight is when the validator last entered the active set;
	// downtime is judged only once a full window has passed since.
	StartHeight  int64 `json:"start_height"`
	IndexOffset  int64 `json:"index_offset"`
	MissedBlocks int64 `json:"missed_blocks_counter"`
	// JailedUntil is the earliest time Unjail succeeds.
	JailedUntil int64 `json:"jailed_until"`
	Tombstoned  bool  `json:"tombstoned"`
}

// Pools are the module accounts: tokens the state holds on behalf of
// accounts, and the tokens slashing burned.
type Pools struct {
	// Bonded holds the tokens of bonded validators.
	Bonded uint64 `json:"bonded"`
	// NotBonded holds the tokens of unbonding and unbonded validators
	// and the balances of unbonding entries.
	NotBonded uint64 `json:"not_bonded"`
	// Rewards holds fees and inflation not yet withdrawn: validators'
	// outstanding rewards (commission included) and the remainder.
	Rewards uint64 `json:"rewards"`
	// Burned counts tokens slashing removed from the supply.
	Burned uint64 `json:"burned"`
	// Minted counts tokens inflation added to the supply.
	Minted uint64 `json:"minted"`
}

// Bank moves liquid tokens; the application implements it over its
// accounts. Sub must fail, changing nothing, when addr holds less than
// amount. Add is never asked to exceed the total supply.
type Bank interface {
	Sub(addr tx.Address, amount uint64) error
	Add(addr tx.Address, amount uint64)
}

// Errors that operations wrap.
var (
	ErrInvalid            = errors.New("staking: invalid request")
	ErrNotFound           = errors.New("staking: not found")
	ErrExists             = errors.New("staking: already exists")
	ErrInsufficientShares = errors.New("staking: not enough delegated")
	ErrTooManyEntries     = errors.New("staking: too many entries")
	ErrTransitive         = errors.New("staking: redelegation from a validator still receiving one")
	ErrCommission         = errors.New("staking: commission change refused")
	ErrJailed             = errors.New("staking: jailed")
	ErrSelfBond           = errors.New("staking: self-bond below minimum")
	ErrBlock              = errors.New("staking: block out of order")
)

type pairKey struct{ del, val tx.Address }

type tripleKey struct{ del, src, dst tx.Address }

// startInfo is the F1 starting point of a delegation: the period whose
// cumulative ratio it starts from, its stake then, and the height.
type startInfo struct {
	period uint64
	stake  Dec
	height int64
}

type delegation struct {
	Delegation
	start startInfo
}

type histRatio struct {
	ratio Dec
	refs  uint32
}

type slashEvent struct {
	period   uint64
	height   int64
	fraction Dec
}

// valDist is the F1 distribution state of one validator.
type valDist struct {
	period  uint64 // current period; periods below it are in hist
	current Dec    // rewards to delegators accrued in the current period
	hist    map[uint64]histRatio
	// histShared is set while hist is shared with a clone (copied before
	// a change, mutHist); touched are the periods of hist changed since
	// the Clone that made d, nil when d was not made by one.
	histShared  bool
	touched     map[uint64]bool
	commission  Dec // accrued, not withdrawn
	outstanding Dec // rewards not withdrawn, commission included
	slashes     []slashEvent
}

type signing struct {
	SigningInfo
	missed []byte // bitmap over the window, bit i = index i missed
}

// State is the staking, distribution and slashing state machine. It does no
// I/O and keeps no clock: BeginBlock sets the current height and time, the
// operations act at them, and EndBlock returns validator updates. A State is
// not safe for concurrent use.
type State struct {
	params     Params
	height     int64
	time       int64
	validators map[tx.Address]*Validator
	byCons     map[ConsAddress]tx.Address // derived
	dist       map[tx.Address]*valDist
	// delegations, unbondings and redels grow with the number of
	// delegators: Clone shares them (diff.go).
	delegations *cowmap.Map[pairKey, *delegation]
	unbondings  *cowmap.Map[pairKey, *UnbondingDelegation]
	redels      *cowmap.Map[tripleKey, *Redelegation]
	receivers   map[pairKey]int // derived: redelegation records per (delegator, dst)
	signing     map[ConsAddress]*signing
	lastPower   map[tx.Address]int64 // powers CometBFT was last given
	pools       Pools
	remainder   Dec         // undistributed rewards, allocated again next block
	queue       []queueItem // derived: entries by completion time
	cow                     // copy-on-write bookkeeping (diff.go)
}

type queueItem struct {
	time     int64
	redel    bool
	del, src tx.Address
	dst      tx.Address
}

func (q queueItem) less(o queueItem) bool {
	if q.time != o.time {
		return q.time < o.time
	}
	if q.redel != o.redel {
		return !q.redel
	}
	if c := bytes.Compare(q.del[:], o.del[:]); c != 0 {
		return c < 0
	}
	if c := bytes.Compare(q.src[:], o.src[:]); c != 0 {
		return c < 0
	}
	return bytes.Compare(q.dst[:], o.dst[:]) < 0
}

func (s *State) enqueue(q queueItem) {
	i := sort.Search(len(s.queue), func(i int) bool { return q.less(s.queue[i]) })
	s.queue = append(s.queue, queueItem{})
	copy(s.queue[i+1:], s.queue[i:])
	s.queue[i] = q
}

// New returns an empty state with params, at height 0 and genesis time
// genesisTime. Genesis validators are made with CreateValidator before the
// first EndBlock, whose updates are the initial validator set.
func New(params Params, genesisTime int64) (*State, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	s := newEmpty()
	s.params = params
	s.time = genesisTime
	return s, nil
}

func newEmpty() *State {
	return &State{
		validators:  map[tx.Address]*Validator{},
		byCons:      map[ConsAddress]tx.Address{},
		dist:        map[tx.Address]*valDist{},
		delegations: &cowmap.Map[pairKey, *delegation]{},
		unbondings:  &cowmap.Map[pairKey, *UnbondingDelegation]{},
		redels:      &cowmap.Map[tripleKey, *Redelegation]{},
		receivers:   map[pairKey]int{},
		signing:     map[ConsAddress]*signing{},
		lastPower:   map[tx.Address]int64{},
		cow:         newCow(),
	}
}

// Params returns the parameters.
func (s *State) Params() Params { return s.params }

// Height and Time return the block the state is at: the last BeginBlock's.
func (s *State) Height() int64 { return s.height }

// Time returns the current block time (unix seconds).
func (s *State) Time() int64 { return s.time }

// Pools returns the module account balances.
func (s *State) Pools() Pools { return s.pools }

// Remainder returns the rewards not allocated to any validator yet
// (rounding dust, or rewards of blocks nobody signed); BeginBlock
// distributes them again.
func (s *State) Remainder() Dec { return s.remainder }

// pool returns the pool holding the tokens of a validator with status st.
func (s *State) pool(st Status) *uint64 {
	if st == Bonded {
		return &s.pools.Bonded
	}
	return &s.pools.NotBonded
}

// sharesFor returns the shares amount tokens buy from v, truncated (ceil
// rounds up instead).
func sharesFor(v *Validator, amount uint64, ceil bool) Dec {
	if v.Shares.IsZero() {
		return NewDec(amount)
	}
	return mulQuo(v.Shares, amount, v.Tokens, ceil)
}

// tokensFor returns the tokens sh shares of v stand for, truncated; all
// of v's shares stand for all of its tokens.
func tokensFor(v *Validator, sh Dec) uint64 {
	if sh.Cmp(v.Shares) >= 0 {
		return v.Tokens
	}
	return ratioInt(v.Tokens, sh, v.Shares)
}

// tokensDecFor is tokensFor with 18 decimals kept.
func tokensDecFor(v *Validator, sh Dec) Dec {
	if sh.Cmp(v.Shares) >= 0 {
		return NewDec(v.Tokens)
	}
	return ratioDec(v.Tokens, sh, v.Shares)
}

func sortedAddrs[T any](m map[tx.Address]T) []tx.Address {
	out := make([]tx.Address, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}
