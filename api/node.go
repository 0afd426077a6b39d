package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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

// nodeMethods is the node module's table (see rpcTable).
var nodeMethods = rpcTable{namespace: "node", methods: map[string]rpcMethod{
	"Info":              {perm: PermAdmin},
	"Ready":             {perm: PermRead},
	"AuthNew":           {perm: PermAdmin},
	"AuthNewWithExpiry": {perm: PermAdmin},
	"AuthVerify":        {perm: PermAdmin},
	"LogLevelSet":       {perm: PermAdmin},
}}

func (*NodeModule) rpcTable() *rpcTable { return &nodeMethods }

// NodeOptions configure the node module.
type NodeOptions struct {
	// Mode is the node's mode: "bridge", "full" or "light" (required).
	Mode string
	// Version is the API version node.Info reports.
	Version string
	// Secret signs and verifies the tokens of AuthNew and AuthVerify (nil:
	// those methods fail).
	Secret []byte
	// Ready reports whether the node has started (nil: always true).
	Ready func() bool
	// LogLevels has LogLevelSet change the node's log levels (nil:
	// LogLevelSet fails). A nil pointer in it is refused.
	LogLevels LogLevelSetter
}

// NewNodeModule returns the node module over opts. It fails for an unknown
// mode.
func NewNodeModule(opts NodeOptions) (*NodeModule, error) {
	var t NodeType
	switch opts.Mode {
	case "bridge":
		t = NodeBridge
	case "light":
		t = NodeLight
	case "full":
		t = NodeFull
	default:
		return nil, fmt.Errorf("api: node module: unknown mode %q (want bridge, full or light)", opts.Mode)
	}
	if opts.LogLevels != nil {
		if v := reflect.ValueOf(opts.LogLevels); v.Kind() == reflect.Pointer && v.IsNil() {
			return nil, errors.New("api: node module: nil LogLevelSetter")
		}
	}
	ready := opts.Ready
	if ready == nil {
		ready = func() bool { return true }
	}
	return &NodeModule{info: NodeInfo{Type: t, APIVersion: opts.Version}, secret: bytes.Clone(opts.Secret),
		ready: ready, levels: opts.LogLevels}, nil
}

var errNoSecret = errors.New("api: node: no token secret (auth is skipped)")

// Info (node.Info, admin) returns the node type and API version.
func (m *NodeModule) Info(ctx context.Context) (NodeInfo, error) {
	if err := requirePerm(ctx, m); err != nil {
		return NodeInfo{}, err
	}
	return m.info, nil
}

// Ready (node.Ready, read) reports whether the node has started.
func (m *NodeModule) Ready(ctx context.Context) (bool, error) {
	if err := requirePerm(ctx, m); err != nil {
		return false, err
	}
	return m.ready(), nil
}

// AuthNew (node.AuthNew, admin) returns a token granting perms that never
// expires.
func (m *NodeModule) AuthNew(ctx context.Context, perms []Permission) (string, error) {
	if err := requirePerm(ctx, m); err != nil {
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
	if err := requirePerm(ctx, m); err != nil {
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
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if len(m.secret) == 0 {
		return nil, errNoSecret
	}
	return VerifyToken(m.secret, token)
}

// LogLevelSetter changes a module's log level at run time: a
// *logging.LevelVar.
type LogLevelSetter interface {
	// SetModule sets module's level to level; module "*" sets every
	// module's. It fails, changing nothing, for an unknown level or a bad
	// module name.
	SetModule(module, level string) error
}

// LogLevelSet (node.LogLevelSet, admin) sets the log level of the module
// name (a service such as "das", "shrex" or "p2p", or a consensus module)
// to level: debug, info, warn, error or none, in any case. name "*" sets
// every module's level, removing the per-module levels of config.toml's
// log.level. The change lasts until the node stops.
func (m *NodeModule) LogLevelSet(ctx context.Context, name, level string) error {
	if err := requirePerm(ctx, m); err != nil {
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
