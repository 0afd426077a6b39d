package peers

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Defaults of Options.
const (
	// DefaultCooldown is how long a peer that rate-limited us or timed out
	// is not offered for any square.
	DefaultCooldown = 3 * time.Second
	// DefaultNotFoundCooldown is how long a peer that did not have a square
	// is not offered for that square: long enough not to ask it again for
	// every share, short enough that a full node still fetching the square
	// is asked again once it may have it.
	DefaultNotFoundCooldown = 10 * time.Second
	// DefaultMaxPeersPerRoot bounds the announcers remembered per square;
	// the oldest announcement makes room for a new one.
	DefaultMaxPeersPerRoot = 32
	// DefaultMaxRoots bounds the squares tracked; the lowest height makes
	// room for a new one.
	DefaultMaxRoots = 1024
)

// Score bounds: a peer's score moves by one per Result and stays within
// [-maxScore, maxScore], so a long good history does not hide a peer that
// went bad and a bad spell is forgotten after as many successes.
const maxScore = 10

// ErrInvalidOptions is wrapped by New for Options it cannot use.
var ErrInvalidOptions = errors.New("peers: invalid options")

// ErrInvalidResponse is the reason given to the PeerBlocker for a peer
// reported with Invalid.
var ErrInvalidResponse = errors.New("peers: invalid share exchange response")

// PeerBlocker is told about peers that sent invalid data. p2p.Node
// implements it. BlockPeer is called without the Manager's lock held.
type PeerBlocker interface {
	BlockPeer(id peer.ID, reason error)
}

// Outcome is what came of asking a peer for a square's data.
type Outcome int

// Outcomes, reported with Manager.Result.
const (
	// Success: the peer served valid data. Its score rises and any
	// cooldown ends.
	Success Outcome = iota + 1
	// NotFound: the peer does not have the square. It is forgotten as an
	// announcer of that square and not offered for it for
	// NotFoundCooldown; other squares are unaffected.
	NotFound
	// RateLimited: the peer refused us for load. It is not offered for any
	// square for Cooldown and its score drops.
	RateLimited
	// Timeout: the peer did not answer in time. As RateLimited.
	Timeout
	// Invalid: the peer sent data that failed verification. It is reported
	// to the PeerBlocker, forgotten everywhere and never offered again.
	Invalid
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case NotFound:
		return "not found"
	case RateLimited:
		return "rate limited"
	case Timeout:
		return "timeout"
	case Invalid:
		return "invalid"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Options configure a Manager. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// Logger; the default discards.
	Logger *slog.Logger
	// Blocker is told about peers reported Invalid. Without it they are
	// only forgotten and never offered again.
	Blocker PeerBlocker
	// FullNodes returns the fallback peers offered after a square's
	// announcers: for example p2p.Node's discovered full nodes and trusted
	// peers. It is called by Peers without the Manager's lock held and may
	// return duplicates and peers that are blocked or cooling down. Nil
	// means no fallback.
	FullNodes func() []peer.ID
	// Cooldown: DefaultCooldown when zero.
	Cooldown time.Duration
	// NotFoundCooldown: DefaultNotFoundCooldown when zero.
	NotFoundCooldown time.Duration
	// MaxPeersPerRoot: DefaultMaxPeersPerRoot when zero.
	MaxPeersPerRoot int
	// MaxRoots: DefaultMaxRoots when zero.
	MaxRoots int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand orders peers of equal score; a randomly seeded source when nil.
	// Give a seeded one for a reproducible order. The Manager uses it
	// under its lock only.
	Rand *rand.Rand
}

type key struct {
	height uint64
	root   string
}

// square is what the Manager knows about one (height, data root).
type square struct {
	announcers map[peer.ID]uint64    // peer -> sequence number of its latest announcement
	notFound   map[peer.ID]time.Time // peer -> end of its NotFound cooldown
}

type peerState struct {
	score         int
	cooldownUntil time.Time
}

// Manager chooses peers to fetch a square from. Its methods are safe for
// concurrent use; none does I/O other than calling Options.FullNodes and
// the PeerBlocker.
type Manager struct {
	opts Options

	mu      sync.Mutex
	squares map[key]*square
	peers   map[peer.ID]*peerState
	blocked map[peer.ID]struct{}
	floor   uint64 // announcements below this height are ignored
	seq     uint64 // announcement counter
}

// New returns a Manager. It returns an error wrapping ErrInvalidOptions for
// a negative duration or bound.
func New(opts Options) (*Manager, error) {
	switch {
	case opts.Cooldown < 0:
		return nil, fmt.Errorf("%w: cooldown %v", ErrInvalidOptions, opts.Cooldown)
	case opts.NotFoundCooldown < 0:
		return nil, fmt.Errorf("%w: not-found cooldown %v", ErrInvalidOptions, opts.NotFoundCooldown)
	case opts.MaxPeersPerRoot < 0:
		return nil, fmt.Errorf("%w: max peers per root %d", ErrInvalidOptions, opts.MaxPeersPerRoot)
	case opts.MaxRoots < 0:
		return nil, fmt.Errorf("%w: max roots %d", ErrInvalidOptions, opts.MaxRoots)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Cooldown == 0 {
		opts.Cooldown = DefaultCooldown
	}
	if opts.NotFoundCooldown == 0 {
		opts.NotFoundCooldown = DefaultNotFoundCooldown
	}
	if opts.MaxPeersPerRoot == 0 {
		opts.MaxPeersPerRoot = DefaultMaxPeersPerRoot
	}
	if opts.MaxRoots == 0 {
		opts.MaxRoots = DefaultMaxRoots
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Manager{
		opts:    opts,
		squares: map[key]*square{},
		peers:   map[peer.ID]*peerState{},
		blocked: map[peer.ID]struct{}{},
	}, nil
}

// Announced records that p announced holding the square of dataRoot at
// height (an eds-sub notification). It is ignored for a blocked peer, an
// empty data root, or a height below the last Prune. Whether the
// announcement matches our header is eds-sub's Validator's business.
func (m *Manager) Announced(height uint64, dataRoot []byte, p peer.ID) {
	if len(dataRoot) == 0 || p == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blocked[p]; ok {
		return
	}
	sq := m.square(key{height, string(dataRoot)})
	if sq == nil {
		return
	}
	m.seq++
	if _, ok := sq.announcers[p]; !ok && len(sq.announcers) >= m.opts.MaxPeersPerRoot {
		oldest, oldestSeq := peer.ID(""), uint64(0)
		for q, s := range sq.announcers {
			if oldest == "" || s < oldestSeq {
				oldest, oldestSeq = q, s
			}
		}
		delete(sq.announcers, oldest)
	}
	sq.announcers[p] = m.seq
}

// square returns the entry of k, creating it (and evicting the lowest
// height if at MaxRoots) if needed. It returns nil for a height below the
// floor, or when k's height is below every tracked one and no room is left.
// m.mu must be held.
func (m *Manager) square(k key) *square {
	if k.height < m.floor {
		return nil
	}
	if sq, ok := m.squares[k]; ok {
		return sq
	}
	if len(m.squares) >= m.opts.MaxRoots {
		var lowest key
		first := true
		for q := range m.squares {
			if first || q.height < lowest.height {
				lowest, first = q, false
			}
		}
		if k.height <= lowest.height {
			return nil
		}
		delete(m.squares, lowest)
	}
	sq := &square{announcers: map[peer.ID]uint64{}, notFound: map[peer.ID]time.Time{}}
	m.squares[k] = sq
	return sq
}

// Peers returns up to n distinct peers to ask for the square of dataRoot at
// height, best first: the square's announcers, then the fallback full
// nodes. It never returns a blocked peer, a peer cooling down, or a peer
// that reported NotFound for this square within NotFoundCooldown. Within
// each group peers are ordered by score, and peers of equal score in a
// random order (Options.Rand), so that load spreads over them. The slice
// is the caller's. It returns nil if n <= 0 or no peer is usable.
func (m *Manager) Peers(height uint64, dataRoot []byte, n int) []peer.ID {
	if n <= 0 {
		return nil
	}
	var fallback []peer.ID
	if m.opts.FullNodes != nil {
		fallback = m.opts.FullNodes()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	sq := m.squares[key{height, string(dataRoot)}]
	chosen := make(map[peer.ID]struct{})
	usable := func(p peer.ID) bool {
		if p == "" {
			return false
		}
		if _, ok := chosen[p]; ok {
			return false
		}
		if _, ok := m.blocked[p]; ok {
			return false
		}
		if st := m.peers[p]; st != nil && now.Before(st.cooldownUntil) {
			return false
		}
		if sq != nil {
			if until, ok := sq.notFound[p]; ok && now.Before(until) {
				return false
			}
		}
		return true
	}
	var out []peer.ID
	take := func(candidates []peer.ID) {
		var group []peer.ID
		for _, p := range candidates {
			if usable(p) {
				chosen[p] = struct{}{}
				group = append(group, p)
			}
		}
		m.opts.Rand.Shuffle(len(group), func(i, j int) { group[i], group[j] = group[j], group[i] })
		slices.SortStableFunc(group, func(a, b peer.ID) int { return cmp.Compare(m.score(b), m.score(a)) })
		out = append(out, group[:min(len(group), n-len(out))]...)
	}
	if sq != nil {
		announcers := make([]peer.ID, 0, len(sq.announcers))
		for p := range sq.announcers {
			announcers = append(announcers, p)
		}
		// Map order is random but not reproducible: sort before the
		// seeded shuffle.
		slices.Sort(announcers)
		take(announcers)
	}
	if len(out) < n {
		take(fallback)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (m *Manager) score(p peer.ID) int {
	if st := m.peers[p]; st != nil {
		return st.score
	}
	return 0
}

// Result reports what came of asking p for the square of dataRoot at
// height; see Outcome for what each does. An unknown Outcome is logged and
// ignored.
func (m *Manager) Result(height uint64, dataRoot []byte, p peer.ID, o Outcome) {
	if p == "" {
		return
	}
	if o == Invalid {
		m.block(p)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blocked[p]; ok {
		return
	}
	now := m.opts.Now()
	st := m.peers[p]
	if st == nil {
		st = &peerState{}
		m.peers[p] = st
	}
	switch o {
	case Success:
		st.score = min(st.score+1, maxScore)
		st.cooldownUntil = time.Time{}
	case NotFound:
		sq := m.square(key{height, string(dataRoot)})
		if sq == nil {
			return
		}
		delete(sq.announcers, p)
		for q, until := range sq.notFound {
			if !now.Before(until) {
				delete(sq.notFound, q)
			}
		}
		sq.notFound[p] = now.Add(m.opts.NotFoundCooldown)
	case RateLimited, Timeout:
		st.score = max(st.score-1, -maxScore)
		st.cooldownUntil = now.Add(m.opts.Cooldown)
	default:
		m.opts.Logger.Warn("peers: unknown outcome", "peer", p, "outcome", o)
	}
}

// block forgets p everywhere, remembers it as blocked and tells the
// PeerBlocker.
func (m *Manager) block(p peer.ID) {
	m.mu.Lock()
	_, already := m.blocked[p]
	m.blocked[p] = struct{}{}
	delete(m.peers, p)
	for _, sq := range m.squares {
		delete(sq.announcers, p)
		delete(sq.notFound, p)
	}
	m.mu.Unlock()
	if already {
		return
	}
	m.opts.Logger.Info("peers: blocking peer", "peer", p, "reason", ErrInvalidResponse)
	if m.opts.Blocker != nil {
		m.opts.Blocker.BlockPeer(p, ErrInvalidResponse)
	}
}

// Prune forgets the squares below belowHeight and ignores later
// announcements below it (it never lowers that bound). It also forgets the
// state of peers that have a neutral score and no cooldown.
func (m *Manager) Prune(belowHeight uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.floor = max(m.floor, belowHeight)
	for k := range m.squares {
		if k.height < m.floor {
			delete(m.squares, k)
		}
	}
	now := m.opts.Now()
	for p, st := range m.peers {
		if st.score == 0 && !now.Before(st.cooldownUntil) {
			delete(m.peers, p)
		}
	}
}

// Len returns the number of squares tracked.
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.squares)
}
