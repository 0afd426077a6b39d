package rollup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode"

	"github.com/datamesh/mesh-node/share"
)

// ErrInvalidGenesis is wrapped by every error of a genesis that does not
// validate or parse.
var ErrInvalidGenesis = errors.New("rollup: invalid genesis")

// MaxGenesisSize is the most bytes of a genesis file.
const MaxGenesisSize = 64 << 10

// Genesis is what every node of a rollup agrees on before its first
// block: the chain, where its blocks are posted, who may sign them, and
// the executor's genesis (InitChain's time, initial height and chain ID).
type Genesis struct {
	// ChainID names the rollup: 1 to MaxChainIDSize printable ASCII
	// characters. It is in every header and is the executor's chain ID.
	ChainID string
	// Namespace is the DataMesh namespace the blocks are posted in: a
	// version-0 namespace that blobs may use.
	Namespace share.Namespace
	// Sequencer is the ed25519 public key that signs every block.
	Sequencer ed25519.PublicKey
	// DAStartHeight is the first DataMesh height a node reads: no block
	// of the rollup is posted before it.
	DAStartHeight uint64
	// InitialHeight is the first block's height (InitChain's).
	InitialHeight uint64
	// Time is the genesis time (InitChain's), UTC; blocks come after it.
	Time time.Time
	// ForcedNamespace is where anyone posts transactions the sequencer
	// must include (forced inclusion, forced.go); the zero namespace
	// means DefaultForcedNamespace(Namespace). It must differ from
	// Namespace.
	ForcedNamespace share.Namespace
	// ForcedEpoch is the forced-inclusion deadline in DataMesh heights:
	// a forced transaction posted at height d must be in a block posted
	// at a height at most d + ForcedEpoch. 0 means
	// DefaultForcedInclusionEpoch; at most MaxForcedInclusionEpoch.
	ForcedEpoch uint64
}

// Forced-inclusion parameters of a genesis.
const (
	DefaultForcedInclusionEpoch = 10
	MaxForcedInclusionEpoch     = 10_000
)

// forcedNamespaceDomain prefixes the hash DefaultForcedNamespace derives.
const forcedNamespaceDomain = "datamesh-rollup-forced-v1\x00"

// DefaultForcedNamespace is the forced-inclusion namespace of a rollup
// posting in ns when its genesis names none: the version-0 namespace
// whose 10-byte ID is the first 10 bytes of
// SHA-256("datamesh-rollup-forced-v1\x00" || ns) with the first byte's
// top bit set (so that it is never a reserved namespace).
func DefaultForcedNamespace(ns share.Namespace) share.Namespace {
	h := sha256.Sum256(append([]byte(forcedNamespaceDomain), ns[:]...))
	id := h[:share.NamespaceVersionZeroIDSize]
	id[0] |= 0x80
	out, _ := share.NewV0Namespace(id) // 10 bytes: cannot fail
	return out
}

// ForcedInclusionNamespace returns ForcedNamespace, or its default when
// it is zero.
func (g *Genesis) ForcedInclusionNamespace() share.Namespace {
	if g.ForcedNamespace == (share.Namespace{}) {
		return DefaultForcedNamespace(g.Namespace)
	}
	return g.ForcedNamespace
}

// ForcedInclusionEpoch returns ForcedEpoch, or its default when it is 0.
func (g *Genesis) ForcedInclusionEpoch() uint64 {
	if g.ForcedEpoch == 0 {
		return DefaultForcedInclusionEpoch
	}
	return g.ForcedEpoch
}

// genesisJSON is the file's shape.
type genesisJSON struct {
	ChainID       string `json:"chain_id"`
	Namespace     string `json:"namespace"`     // hex, 29 bytes
	Sequencer     string `json:"sequencer_key"` // hex, 32 bytes
	DAStartHeight uint64 `json:"da_start_height"`
	InitialHeight uint64 `json:"initial_height"`
	Time          string `json:"genesis_time"` // RFC 3339, UTC
	// Added with forced inclusion; a file without them takes the
	// defaults.
	ForcedNamespace string `json:"forced_namespace,omitempty"` // hex, 29 bytes
	ForcedEpoch     uint64 `json:"forced_inclusion_epoch,omitempty"`
}

// Validate checks every field (ErrInvalidGenesis).
func (g *Genesis) Validate() error {
	if g.ChainID == "" || len(g.ChainID) > MaxChainIDSize {
		return fmt.Errorf("%w: chain ID of %d bytes, want 1 to %d", ErrInvalidGenesis, len(g.ChainID), MaxChainIDSize)
	}
	for _, r := range g.ChainID {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return fmt.Errorf("%w: chain ID %q: only printable ASCII without spaces", ErrInvalidGenesis, g.ChainID)
		}
	}
	if err := g.Namespace.ValidateForBlob(); err != nil {
		return fmt.Errorf("%w: namespace: %w", ErrInvalidGenesis, err)
	}
	if len(g.Sequencer) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: sequencer key of %d bytes, want %d", ErrInvalidGenesis, len(g.Sequencer), ed25519.PublicKeySize)
	}
	if g.DAStartHeight == 0 {
		return fmt.Errorf("%w: DA start height 0, heights start at 1", ErrInvalidGenesis)
	}
	if g.InitialHeight == 0 {
		return fmt.Errorf("%w: initial height 0, must be positive", ErrInvalidGenesis)
	}
	if g.Time.IsZero() || g.Time.Before(time.Unix(0, 0)) || g.Time.Location() != time.UTC {
		return fmt.Errorf("%w: genesis time %s: want a UTC time after 1970", ErrInvalidGenesis, g.Time)
	}
	fns := g.ForcedInclusionNamespace()
	if err := fns.ValidateForBlob(); err != nil {
		return fmt.Errorf("%w: forced namespace: %w", ErrInvalidGenesis, err)
	}
	if fns == g.Namespace {
		return fmt.Errorf("%w: the forced namespace is the rollup's namespace", ErrInvalidGenesis)
	}
	if g.ForcedEpoch > MaxForcedInclusionEpoch {
		return fmt.Errorf("%w: forced inclusion epoch %d, at most %d", ErrInvalidGenesis, g.ForcedEpoch, MaxForcedInclusionEpoch)
	}
	return nil
}

// MarshalJSON writes the genesis file's JSON (docs/rollups.md).
func (g Genesis) MarshalJSON() ([]byte, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	fns := g.ForcedInclusionNamespace()
	return json.Marshal(genesisJSON{
		ChainID: g.ChainID, Namespace: hex.EncodeToString(g.Namespace[:]), Sequencer: hex.EncodeToString(g.Sequencer),
		DAStartHeight: g.DAStartHeight, InitialHeight: g.InitialHeight, Time: g.Time.Format(time.RFC3339Nano),
		ForcedNamespace: hex.EncodeToString(fns[:]), ForcedEpoch: g.ForcedInclusionEpoch(),
	})
}

// UnmarshalJSON reads a genesis strictly: every member present (but
// forced_namespace and forced_inclusion_epoch, which a file written
// before forced inclusion lacks: they take their defaults), none
// unknown, nothing after the object, lowercase hex, and the result must
// Validate. A forced_inclusion_epoch given as 0 is refused.
func (g *Genesis) UnmarshalJSON(b []byte) error {
	if len(b) > MaxGenesisSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidGenesis, len(b), MaxGenesisSize)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidGenesis, err)
	}
	for _, k := range []string{"chain_id", "namespace", "sequencer_key", "da_start_height", "initial_height", "genesis_time"} {
		if _, ok := raw[k]; !ok {
			return fmt.Errorf("%w: no %q", ErrInvalidGenesis, k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j genesisJSON
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidGenesis, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrInvalidGenesis)
	}
	ns, err := strictHex(j.Namespace, share.NamespaceSize)
	if err != nil {
		return fmt.Errorf("%w: namespace: %w", ErrInvalidGenesis, err)
	}
	key, err := strictHex(j.Sequencer, ed25519.PublicKeySize)
	if err != nil {
		return fmt.Errorf("%w: sequencer_key: %w", ErrInvalidGenesis, err)
	}
	t, err := time.Parse(time.RFC3339Nano, j.Time)
	if err != nil {
		return fmt.Errorf("%w: genesis_time: %w", ErrInvalidGenesis, err)
	}
	out := Genesis{ChainID: j.ChainID, Sequencer: key, DAStartHeight: j.DAStartHeight, InitialHeight: j.InitialHeight, Time: t.UTC(),
		ForcedEpoch: j.ForcedEpoch}
	copy(out.Namespace[:], ns)
	if _, ok := raw["forced_inclusion_epoch"]; ok && j.ForcedEpoch == 0 {
		return fmt.Errorf("%w: forced_inclusion_epoch 0, want 1 to %d", ErrInvalidGenesis, MaxForcedInclusionEpoch)
	}
	if _, ok := raw["forced_namespace"]; ok {
		fns, err := strictHex(j.ForcedNamespace, share.NamespaceSize)
		if err != nil {
			return fmt.Errorf("%w: forced_namespace: %w", ErrInvalidGenesis, err)
		}
		copy(out.ForcedNamespace[:], fns)
		if out.ForcedNamespace == (share.Namespace{}) {
			return fmt.Errorf("%w: forced_namespace is zero", ErrInvalidGenesis)
		}
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*g = out
	return nil
}

func strictHex(s string, size int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), size)
	}
	if hex.EncodeToString(b) != s {
		return nil, errors.New("not lowercase hex")
	}
	return b, nil
}

// ReadGenesis reads and validates the genesis file at path.
func ReadGenesis(path string) (*Genesis, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rollup: genesis: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxGenesisSize+1))
	if err != nil {
		return nil, fmt.Errorf("rollup: genesis %s: %w", path, err)
	}
	var g Genesis
	if err := g.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &g, nil
}

// WriteGenesis writes g to path as indented JSON, failing if the file
// exists.
func WriteGenesis(path string, g *Genesis) error {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("rollup: genesis: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("rollup: genesis: %w", err)
	}
	return f.Close()
}
