package nodebuilder

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/dataset/serve"
	dsstore "github.com/datamesh/mesh-node/dataset/store"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/internal/logging"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state/keyring"
)

// Mode is what a node does: see the README's modes. The core mode (a
// CometBFT validator) is run by the CLI, not by this package.
type Mode string

// The modes nodebuilder assembles.
const (
	Bridge Mode = "bridge"
	Full   Mode = "full"
	Light  Mode = "light"
)

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Bridge, Full, Light:
		return m, nil
	}
	return "", fmt.Errorf("nodebuilder: unknown mode %q (want bridge, full or light)", s)
}

// Files and directories of a node's home.
const (
	ConfigFile = "config.toml"
	DataDir    = "data"         // the node's Badger database
	KeyFile    = "keys/p2p-key" // the libp2p identity
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("nodebuilder: invalid configuration")

// Config is <home>/config.toml. Init writes every field; LoadConfig reads
// it, rejecting unknown keys and a negative value for any integer key, and
// Validate checks it for a mode.
type Config struct {
	// ChainID is the chain the node follows. It is also the network ID that
	// prefixes every libp2p protocol and topic, so nodes of two chains
	// never exchange headers.
	ChainID string `toml:"chain_id"`
	Core    struct {
		// RPC is the CometBFT RPC address of a core node. A bridge follows
		// it (required); a light or full node submits its transactions to
		// it (blob.Submit, state.*), and without it those calls are
		// refused.
		RPC string `toml:"rpc"`
	} `toml:"core"`
	RPC struct {
		// Address and Port are where the JSON-RPC API listens (HTTP and
		// WebSocket).
		Address string `toml:"address"`
		Port    int    `toml:"port"`
		// SkipAuth serves every call without a token, with admin
		// permissions: for a node reachable only by its operator.
		SkipAuth bool `toml:"skip_auth"`
		// MaxRequestBytes bounds a request body; MaxBatch the requests in
		// one JSON-RPC batch.
		MaxRequestBytes int64 `toml:"max_request_bytes"`
		MaxBatch        int   `toml:"max_batch"`
		// EDSCalls bounds the share.GetEDS calls in flight at once,
		// HeavyCalls those of each other heavy method (docs/api.md),
		// HeavyCallsPerToken those of one method for one token; past a
		// bound a call waits up to BusyWait, then fails "busy".
		EDSCalls           int      `toml:"eds_calls"`
		HeavyCalls         int      `toml:"heavy_calls"`
		HeavyCallsPerToken int      `toml:"heavy_calls_per_token"`
		BusyWait           Duration `toml:"busy_wait"`
		// MaxBodyMemory bounds the bytes of request bodies held at once
		// over every connection; a request past it is answered 503 "busy".
		MaxBodyMemory int64 `toml:"max_body_memory"`
		// MaxConnections bounds the connections served at once, WebSockets
		// included; the node lowers it when the open-file limit is too
		// low to keep descriptors in reserve (see docs/security.md).
		MaxConnections int `toml:"max_connections"`
		// ReadHeaderTimeout bounds reading a request's headers,
		// ReadTimeout its body; IdleTimeout closes a keep-alive connection
		// that sends nothing for that long. WebSockets are exempt from
		// the read and idle timeouts.
		ReadHeaderTimeout Duration `toml:"read_header_timeout"`
		ReadTimeout       Duration `toml:"read_timeout"`
		IdleTimeout       Duration `toml:"idle_timeout"`
	} `toml:"rpc"`
	State struct {
		// KeyName is the keyring key (<home>/keys/<name>.json) that signs
		// the node's transactions; init creates it.
		KeyName string `toml:"key_name"`
	} `toml:"state"`
	Metrics struct {
		// Address is where Prometheus metrics are served (/metrics), as
		// host:port; empty turns them off.
		Address string `toml:"address"`
	} `toml:"metrics"`
	Log struct {
		// Level is the log level, optionally per module:
		// "info,das=debug,shrex=error". Levels: debug, info, warn, error,
		// none.
		Level string `toml:"level"`
	} `toml:"log"`
	P2P struct {
		// ListenAddresses are the libp2p multiaddrs to listen on (TCP and
		// QUIC, port 2121 by default).
		ListenAddresses []string `toml:"listen_addresses"`
		// AnnounceAddresses, when set, are the only addresses the node
		// advertises (for a node behind NAT with a public address).
		AnnounceAddresses []string `toml:"announce_addresses"`
		// BootstrapPeers are full multiaddrs (ending /p2p/<peer ID>) of the
		// peers the node connects to first and trusts to agree on the head
		// when it initialises without a trusted hash: bridges, or nodes the
		// operator runs.
		BootstrapPeers []string `toml:"bootstrap_peers"`
		// BlockedPeers are peer IDs the node never connects to.
		BlockedPeers []string `toml:"blocked_peers"`
		// ConnLow and ConnHigh are the connection manager's watermarks; 0
		// means the mode's default.
		ConnLow  int `toml:"conn_low"`
		ConnHigh int `toml:"conn_high"`
	} `toml:"p2p"`
	Header struct {
		// TrustedHash is the hex hash of a header the node trusts, fetched
		// from peers when the node's store is empty. Light and full only.
		TrustedHash string `toml:"trusted_hash"`
		// TrustedHeight, when TrustedHash is empty, is the height of the
		// header to start from, fetched from the bootstrap peers, which
		// must agree on it. With neither, the node starts from the head the
		// bootstrap peers agree on.
		TrustedHeight uint64 `toml:"trusted_height"`
		// TrustingPeriod is how long a header stays trusted: a node whose
		// newest header is older cannot verify the chain and stops.
		TrustingPeriod Duration `toml:"trusting_period"`
	} `toml:"header"`
	Square struct {
		// MaxSize is the chain's maximum original square width. Bridge.
		MaxSize int `toml:"max_size"`
	} `toml:"square"`
	Store struct {
		// CacheSquares is how many recently used extended squares are
		// kept in memory. Bridge and full.
		CacheSquares int `toml:"cache_squares"`
		// CacheMiB bounds the memory of those squares, in MiB (256: two
		// extended squares of k = 256, eight of k = 128). Bridge and full.
		CacheMiB int `toml:"cache_mib"`
		// Archival keeps every square; otherwise squares older than
		// AvailabilityWindow are pruned. Bridge and full.
		Archival bool `toml:"archival"`
		// AvailabilityWindow is how long a square is kept (7 days and 1
		// hour: light nodes' sampling window and an hour). A node that
		// keeps less cannot serve light nodes sampling older headers
		// within their window. Bridge and full.
		AvailabilityWindow Duration `toml:"availability_window"`
	} `toml:"store"`
	DAS struct {
		// SamplesPerHeader is how many random cells a light node samples
		// per header.
		SamplesPerHeader int `toml:"samples_per_header"`
		// SamplingWindow: headers older than this are not sampled (light)
		// or fetched (full).
		SamplingWindow Duration `toml:"sampling_window"`
	} `toml:"das"`
	Dataset struct {
		// Bitswap serves the blocks of the datasets the node has indexed
		// to IPFS peers over bitswap, on the node's libp2p host. Bridge and
		// full; a light node keeps no dataset index and serves nothing.
		Bitswap bool `toml:"bitswap"`
		// GatewayAddress is where the IPFS trustless gateway (/ipfs/) and
		// the delegated routing endpoint (/routing/v1/) listen, host:port;
		// empty turns both off. Bridge and full.
		GatewayAddress string `toml:"gateway_address"`
		// Pin lists the root CIDs of datasets kept past the availability
		// window: before each prune of squares, the blocks of each pinned
		// dataset are copied into the node's Badger database, and served
		// from there once their squares are gone. Bridge and full.
		Pin []string `toml:"pin"`
	} `toml:"dataset"`
}

// Duration is a time.Duration written as a Go duration string ("336h").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// API defaults.
const (
	DefaultRPCAddress      = "127.0.0.1"
	DefaultRPCPort         = 26658
	DefaultMaxRequestBytes = 32 << 20
	DefaultMaxBatch        = 64
	DefaultMaxBodyMemory   = 4 * DefaultMaxRequestBytes
	DefaultMaxConnections  = 1024
	DefaultReadHeaderTime  = 5 * time.Second
	DefaultReadTimeout     = 30 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	// DefaultKeyName is the keyring key init creates for the node's
	// transactions.
	DefaultKeyName = "default"
	// DefaultGatewayAddress is where a bridge or full node serves its
	// datasets' gateway and routing endpoint (dataset.gateway_address):
	// 127.0.0.1:26661, loopback only.
	DefaultGatewayAddress = serve.DefaultHTTPAddr
)

// DefaultConfig returns the configuration Init writes for mode, before the
// operator's flags: every default, no chain ID and no bootstrap peers.
func DefaultConfig(mode Mode) Config {
	var c Config
	c.P2P.ListenAddresses = p2p.DefaultListenAddrs()
	c.P2P.AnnounceAddresses = []string{}
	c.P2P.BootstrapPeers = []string{}
	c.P2P.BlockedPeers = []string{}
	c.Header.TrustingPeriod = Duration(header.DefaultTrustingPeriod)
	c.RPC.Address = DefaultRPCAddress
	c.RPC.Port = DefaultRPCPort
	c.RPC.MaxRequestBytes = DefaultMaxRequestBytes
	c.RPC.MaxBatch = DefaultMaxBatch
	c.RPC.EDSCalls = api.DefaultEDSCalls
	c.RPC.HeavyCalls = api.DefaultHeavyCalls
	c.RPC.HeavyCallsPerToken = api.DefaultHeavyCallsPerCaller
	c.RPC.BusyWait = Duration(api.DefaultBusyWait)
	c.RPC.MaxBodyMemory = DefaultMaxBodyMemory
	c.RPC.MaxConnections = DefaultMaxConnections
	c.RPC.ReadHeaderTimeout = Duration(DefaultReadHeaderTime)
	c.RPC.ReadTimeout = Duration(DefaultReadTimeout)
	c.RPC.IdleTimeout = Duration(DefaultIdleTimeout)
	c.State.KeyName = DefaultKeyName
	c.Log.Level = "info"
	if mode == Bridge {
		c.Core.RPC = "http://127.0.0.1:26657"
		c.Square.MaxSize = share.DefaultMaxSquareSize
	}
	if mode == Bridge || mode == Full {
		c.Store.CacheSquares = 16
		c.Store.CacheMiB = edsstore.DefaultCacheBytes >> 20
		c.Store.AvailabilityWindow = Duration(das.DefaultAvailabilityWindow)
		c.Dataset.Bitswap = true
		c.Dataset.GatewayAddress = DefaultGatewayAddress
	}
	if mode == Full || mode == Light {
		c.DAS.SamplesPerHeader = das.DefaultSamplesPerHeader
		c.DAS.SamplingWindow = Duration(das.DefaultSamplingWindow)
	}
	return c
}

// Validate checks c for mode, returning an ErrConfig-wrapped error that
// names the key at fault.
func (c Config) Validate(mode Mode) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if _, err := ParseMode(string(mode)); err != nil {
		return bad("%v", err)
	}
	if c.ChainID == "" {
		return bad("chain_id is empty")
	}
	if err := c.p2pConfig(mode).Validate(); err != nil {
		return bad("p2p: %v", err)
	}
	if c.P2P.ConnLow < 0 || c.P2P.ConnHigh < 0 || (c.P2P.ConnHigh != 0 && c.P2P.ConnLow > c.P2P.ConnHigh) {
		return bad("p2p.conn_low %d and p2p.conn_high %d: want 0 <= low <= high", c.P2P.ConnLow, c.P2P.ConnHigh)
	}
	if c.Header.TrustingPeriod <= 0 {
		return bad("header.trusting_period %s is not positive", time.Duration(c.Header.TrustingPeriod))
	}
	if c.Store.CacheSquares < 0 {
		return bad("store.cache_squares %d is negative", c.Store.CacheSquares)
	}
	if c.Store.CacheMiB < 0 || c.Store.CacheMiB > 1<<20 {
		return bad("store.cache_mib %d is not 0 to %d (0: the default, %d)", c.Store.CacheMiB, 1<<20, edsstore.DefaultCacheBytes>>20)
	}
	if c.RPC.Port < 0 || c.RPC.Port > 65535 {
		return bad("rpc.port %d is not in [0, 65535]", c.RPC.Port)
	}
	if c.RPC.Address == "" {
		return bad("rpc.address is empty (127.0.0.1 serves this machine only, 0.0.0.0 every interface)")
	}
	if c.RPC.MaxRequestBytes < 1<<10 {
		return bad("rpc.max_request_bytes %d is below 1024", c.RPC.MaxRequestBytes)
	}
	if c.RPC.MaxBatch < 1 {
		return bad("rpc.max_batch %d is not positive", c.RPC.MaxBatch)
	}
	for _, v := range []struct {
		key string
		n   int
	}{{"rpc.eds_calls", c.RPC.EDSCalls}, {"rpc.heavy_calls", c.RPC.HeavyCalls}, {"rpc.heavy_calls_per_token", c.RPC.HeavyCallsPerToken}} {
		if v.n < 1 {
			return bad("%s %d is not positive", v.key, v.n)
		}
	}
	if c.RPC.BusyWait < 0 || time.Duration(c.RPC.BusyWait) > time.Minute {
		return bad("rpc.busy_wait %s is not in [0s, 1m]", time.Duration(c.RPC.BusyWait))
	}
	if c.RPC.MaxBodyMemory < c.RPC.MaxRequestBytes {
		return bad("rpc.max_body_memory %d is below rpc.max_request_bytes %d", c.RPC.MaxBodyMemory, c.RPC.MaxRequestBytes)
	}
	if c.RPC.MaxConnections < MinAPIConns {
		return bad("rpc.max_connections %d is below %d", c.RPC.MaxConnections, MinAPIConns)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"rpc.read_header_timeout", c.RPC.ReadHeaderTimeout}, {"rpc.read_timeout", c.RPC.ReadTimeout},
		{"rpc.idle_timeout", c.RPC.IdleTimeout}} {
		if d.v <= 0 {
			return bad("%s %s is not positive", d.key, time.Duration(d.v))
		}
	}
	if err := keyring.ValidName(c.State.KeyName); err != nil {
		return bad("state.key_name: %v", err)
	}
	if _, err := logging.ParseLevels(c.Log.Level); err != nil {
		return bad("log.level: %v", err)
	}
	if c.Metrics.Address != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Address); err != nil {
			return bad("metrics.address %q is not host:port", c.Metrics.Address)
		}
	}
	if mode != Light && c.Dataset.GatewayAddress != "" {
		if _, _, err := net.SplitHostPort(c.Dataset.GatewayAddress); err != nil {
			return bad("dataset.gateway_address %q is not host:port", c.Dataset.GatewayAddress)
		}
	}
	if mode != Light {
		for i, root := range c.Dataset.Pin {
			if _, err := dsstore.ParseRoot(root); err != nil {
				return bad("dataset.pin[%d]: %v", i, err)
			}
		}
	}
	if mode != Light && c.Store.AvailabilityWindow <= 0 {
		return bad("store.availability_window %s is not positive (store.archival keeps every square)", time.Duration(c.Store.AvailabilityWindow))
	}
	if mode != Bridge && (c.DAS.SamplesPerHeader < 1 || c.DAS.SamplesPerHeader > 1024) {
		return bad("das.samples_per_header %d is not in [1, 1024]", c.DAS.SamplesPerHeader)
	}
	if mode != Bridge && c.DAS.SamplingWindow <= 0 {
		return bad("das.sampling_window %s is not positive", time.Duration(c.DAS.SamplingWindow))
	}
	switch mode {
	case Bridge:
		if c.Core.RPC == "" {
			return bad("core.rpc is empty; a bridge follows a core node")
		}
		if m := c.Square.MaxSize; m < 1 || m > share.SquareSizeUpperBound || !share.IsPowerOfTwo(m) {
			return bad("square.max_size %d is not a power of two up to %d", m, share.SquareSizeUpperBound)
		}
		if c.Header.TrustedHash != "" || c.Header.TrustedHeight != 0 {
			return bad("header.trusted_hash and header.trusted_height are for light and full nodes; a bridge trusts its core node")
		}
	case Full, Light:
		if _, err := c.trustedHash(); err != nil {
			return bad("%v", err)
		}
		if c.Header.TrustedHeight > math.MaxInt64 {
			// CometBFT heights are int64: this is a negative number
			// stored unsigned, or a typo.
			return bad("header.trusted_height %d is above %d, the highest height a chain can have", c.Header.TrustedHeight, int64(math.MaxInt64))
		}
		if len(c.P2P.BootstrapPeers) == 0 {
			return bad("p2p.bootstrap_peers is empty; a %s node needs at least one peer (a bridge) to sync from", mode)
		}
	}
	return nil
}

func (c Config) trustedHash() ([]byte, error) {
	if c.Header.TrustedHash == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(c.Header.TrustedHash, "0x"))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("header.trusted_hash %q is not 32 hex-encoded bytes", c.Header.TrustedHash)
	}
	return b, nil
}

// LoadConfig reads and validates <home>/config.toml for mode.
func LoadConfig(home string, mode Mode) (Config, error) {
	c := DefaultConfig(mode)
	path := filepath.Join(home, ConfigFile)
	if err := decodeConfig(path, &c); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return c, fmt.Errorf("%w (is the home initialised? run mesh-node %s init)", err, mode)
		}
		return c, err
	}
	if err := c.Validate(mode); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteConfig writes c to <home>/config.toml atomically, so a crash leaves
// the old file or the new one, never half of one.
func WriteConfig(home string, c Config) error {
	path := filepath.Join(home, ConfigFile)
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes(), 0o600)
}

// InitInfo is what Init made or found.
type InitInfo struct {
	// PeerID is the node's libp2p identity.
	PeerID string
	// Account is the bech32 address of the key state.key_name, which signs
	// the node's transactions (fund it to submit blobs).
	Account string
}

// Init prepares home for a node: it writes c as config.toml and loads or
// creates the libp2p identity (keys/p2p-key) and the transaction key
// state.key_name (keys/<name>.json). Existing keys are kept. It does not
// validate c (the caller does, for its mode). Like New, it refuses a
// damaged identity, and a missing one while <home>/data holds a store
// (ErrIdentityMissing), before it writes anything.
func Init(home string, c Config) (InitInfo, error) {
	keyPath := filepath.Join(home, KeyFile)
	if _, err := p2p.LoadIdentity(keyPath); errors.Is(err, fs.ErrNotExist) {
		if err := checkNoStore(home, ""); err != nil {
			return InitInfo{}, err
		}
	} else if err != nil {
		return InitInfo{}, fmt.Errorf("p2p identity: %w", err)
	}
	key, err := p2p.LoadOrCreateIdentity(keyPath)
	if err != nil {
		return InitInfo{}, fmt.Errorf("p2p identity: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return InitInfo{}, fmt.Errorf("p2p identity: %w", err)
	}
	k, err := ensureKey(keyring.New(filepath.Join(home, KeysDir)), c.State.KeyName)
	if err != nil {
		return InitInfo{}, fmt.Errorf("transaction key %q: %w", c.State.KeyName, err)
	}
	if err := WriteConfig(home, c); err != nil {
		return InitInfo{}, err
	}
	return InitInfo{PeerID: id.String(), Account: k.Address.String()}, nil
}

// ResetStore deletes the node's database (<home>/data: headers, squares,
// sampling results), keeping config.toml and keys. The next start
// initialises the header store again from the configuration's trusted
// hash or height, or from the head the bootstrap peers agree on. It fails,
// deleting nothing, while a node has the database open.
func ResetStore(home string) (string, error) {
	dir := filepath.Join(home, DataDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return dir, nil
	}
	unlock, err := lockHome(home)
	if err != nil {
		return dir, err
	}
	defer unlock()
	// Badger's directory lock tells whether a node has it open. A store
	// damaged past opening (see badgerdb.Check) is removed as it is: the
	// home's lock is held, and it is what the node's error suggests.
	if err := badgerdb.Check(badgerdb.Options(dir)); !errors.Is(err, badgerdb.ErrDamaged) {
		db, err := badgerdb.Open(badgerdb.Options(dir))
		if err != nil {
			return dir, fmt.Errorf("open %s (is the node running?): %w", dir, err)
		}
		if err := db.Close(); err != nil {
			return dir, fmt.Errorf("close %s: %w", dir, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return dir, fmt.Errorf("remove %s: %w", dir, err)
	}
	return dir, nil
}

// RPCAddr returns the API's listen address, host:port.
func (c Config) RPCAddr() string {
	return net.JoinHostPort(c.RPC.Address, strconv.Itoa(c.RPC.Port))
}

// ReadConfig reads <home>/config.toml without validating it for a mode:
// for tools that read a node's settings (the CLI's API address). Unknown
// keys are errors, as in LoadConfig.
func ReadConfig(home string) (Config, error) {
	c := DefaultConfig(Light)
	return c, decodeConfig(filepath.Join(home, ConfigFile), &c)
}

// decodeConfig decodes the TOML file at path over c. It refuses unknown
// keys and a negative value for any integer key: the TOML decoder would
// store -5 in an unsigned field as 2^64 - 5 (header.trusted_height), and no
// key of ours takes a negative number. Errors name path and the key.
func decodeConfig(path string, c *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return fmt.Errorf("%s: %w: unknown key %s", path, ErrConfig, undecoded[0])
	}
	var raw map[string]any
	if _, err := toml.Decode(string(b), &raw); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := checkNonNegative(reflect.TypeOf(*c), raw, ""); err != nil {
		return fmt.Errorf("%s: %w: %v", path, ErrConfig, err)
	}
	return nil
}

// checkNonNegative walks the TOML tables raw alongside the struct type t
// (whose fields carry toml tags) and refuses a negative number for any
// integer field, naming its key (prefix is the enclosing table's).
func checkNonNegative(t reflect.Type, raw map[string]any, prefix string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		v, ok := raw[name]
		if name == "" || name == "-" || !ok {
			continue
		}
		key := prefix + name
		switch f.Type.Kind() {
		case reflect.Struct:
			if table, ok := v.(map[string]any); ok {
				if err := checkNonNegative(f.Type, table, key+"."); err != nil {
					return err
				}
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n, ok := v.(int64); ok && n < 0 {
				return fmt.Errorf("%s = %d is negative (want 0 or more)", key, n)
			}
		}
	}
	return nil
}
