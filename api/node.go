package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NodeType is the node type of node.Info: celestia-node's numbers (1
// bridge, 2 light, 3 full), and in JSON its names, "Bridge", "Light" and
// "Full", as celestia-node's node.Type encodes them. celestia-node v0.32
// knows only Bridge and Light: its client fails to decode "Full".
type NodeType uint8

// celestia-node's node types.
const (
	NodeBridge NodeType = 1
	NodeLight  NodeType = 2
	NodeFull   NodeType = 3
)

var nodeTypeNames = map[NodeType]string{NodeBridge: "Bridge", NodeLight: "Light", NodeFull: "Full"}

// String returns the type's name, "unknown" for another value.
func (t NodeType) String() string {
	if n, ok := nodeTypeNames[t]; ok {
		return n
	}
	return "unknown"
}

// MarshalJSON encodes t as its name; another value is an error.
func (t NodeType) MarshalJSON() ([]byte, error) {
	n, ok := nodeTypeNames[t]
	if !ok {
		return nil, fmt.Errorf("api: invalid node type %d", uint8(t))
	}
	return json.Marshal(n)
}

// UnmarshalJSON decodes a name in any case ("Light", "light") or, as
// mesh-node's earlier API sent it, a number.
func (t *NodeType) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		for v, n := range nodeTypeNames {
			if strings.EqualFold(n, name) {
				*t = v
				return nil
			}
		}
		return fmt.Errorf("api: invalid node type %q", name)
	}
	var num uint8
	if err := json.Unmarshal(b, &num); err != nil {
		return fmt.Errorf("api: invalid node type %.32s: want a name or a number", b)
	}
	if _, ok := nodeTypeNames[NodeType(num)]; !ok {
		return fmt.Errorf("api: invalid node type %d", num)
	}
	*t = NodeType(num)
	return nil
}

// NodeInfo is node.Info's answer, celestia-node's shape: {"type":
// "Light", "api_version": "v0.6.0"}.
type NodeInfo struct {
	Type       NodeType `json:"type"`
	APIVersion string   `json:"api_version"`
}

// NodeModule is the "node" RPC module: node information, readiness and
// tokens. Every method is admin except Ready (read), as in celestia-node.
type NodeModule struct {
	info   NodeInfo
	secret []byte
	ready  func() bool
	levels LogLevelSetter // nil: LogLevelSet fails
}

// NewNodeModule returns the node module of a node of type t (the caller
// names its mode) serving API version version. secret signs and verifies
// the tokens of AuthNew and AuthVerify (nil: those methods fail). ready
// (nil: always true) reports whether the node has started. opts add what
// some methods need (WithLogLevels for LogLevelSet).
func NewNodeModule(t NodeType, version string, secret []byte, ready func() bool, opts ...NodeOption) (*NodeModule, error) {
	if _, ok := nodeTypeNames[t]; !ok {
		return nil, fmt.Errorf("api: node module: invalid node type %d", uint8(t))
	}
	if ready == nil {
		ready = func() bool { return true }
	}
	m := &NodeModule{info: NodeInfo{Type: t, APIVersion: version}, secret: bytes.Clone(secret), ready: ready}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("api: node module: nil option")
		}
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var errNoSecret = errors.New("api: node: no token secret (auth is skipped)")

// Info (node.Info, admin) returns the node type and API version.
func (m *NodeModule) Info(ctx context.Context) (NodeInfo, error) {
	if err := requirePerm(ctx, "Info", PermAdmin); err != nil {
		return NodeInfo{}, err
	}
	return m.info, nil
}

// Ready (node.Ready, read) reports whether the node has started.
func (m *NodeModule) Ready(ctx context.Context) (bool, error) {
	if err := requirePerm(ctx, "Ready", PermRead); err != nil {
		return false, err
	}
	return m.ready(), nil
}

// AuthNew (node.AuthNew, admin) returns a token granting perms that never
// expires.
func (m *NodeModule) AuthNew(ctx context.Context, perms []Permission) (string, error) {
	if err := requirePerm(ctx, "AuthNew", PermAdmin); err != nil {
		return "", err
	}
	if len(m.secret) == 0 {
		return "", errNoSecret
	}
	return NewToken(m.secret, perms, 0)
}

// AuthNewWithExpiry (node.AuthNewWithExpiry, admin) returns a token
// granting perms that expires after ttl (nanoseconds in JSON, Go's
// time.Duration; it must be positive).
func (m *NodeModule) AuthNewWithExpiry(ctx context.Context, perms []Permission, ttl time.Duration) (string, error) {
	if err := requirePerm(ctx, "AuthNewWithExpiry", PermAdmin); err != nil {
		return "", err
	}
	if len(m.secret) == 0 {
		return "", errNoSecret
	}
	if ttl <= 0 {
		return "", fmt.Errorf("api: node.AuthNewWithExpiry: ttl %s is not positive", ttl)
	}
	return NewToken(m.secret, perms, ttl)
}

// AuthVerify (node.AuthVerify, admin) returns the permissions token grants,
// or why it is invalid.
func (m *NodeModule) AuthVerify(ctx context.Context, token string) ([]Permission, error) {
	if err := requirePerm(ctx, "AuthVerify", PermAdmin); err != nil {
		return nil, err
	}
	if len(m.secret) == 0 {
		return nil, errNoSecret
	}
	return VerifyToken(m.secret, token)
}

// NodeOption adds to the node module what one of its methods needs.
type NodeOption func(*NodeModule) error

// LogLevelSetter changes a module's log level at run time: a
// *logging.LevelVar.
type LogLevelSetter interface {
	// SetModule sets module's level to level; module "*" sets every
	// module's. It fails, changing nothing, for an unknown level or a bad
	// module name.
	SetModule(module, level string) error
}

// WithLogLevels has LogLevelSet change the node's log levels through s.
func WithLogLevels(s LogLevelSetter) NodeOption {
	return func(m *NodeModule) error {
		if s == nil {
			return errors.New("api: node module: nil LogLevelSetter")
		}
		m.levels = s
		return nil
	}
}

// LogLevelSet (node.LogLevelSet, admin) sets the log level of the module
// name (a service such as "das", "shrex" or "p2p", or a consensus module)
// to level: debug, info, warn, error or none, in any case. name "*" sets
// every module's level, removing the per-module levels of config.toml's
// log.level. The change lasts until the node stops.
func (m *NodeModule) LogLevelSet(ctx context.Context, name, level string) error {
	if err := requirePerm(ctx, "LogLevelSet", PermAdmin); err != nil {
		return err
	}
	if m.levels == nil {
		return errors.New("api: node.LogLevelSet: log levels cannot be changed on this node")
	}
	if err := m.levels.SetModule(name, level); err != nil {
		return fmt.Errorf("api: node.LogLevelSet: %w", err)
	}
	return nil
}
