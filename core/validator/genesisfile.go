package validator

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/app"
)

// MaxGenesisSize bounds the genesis document ReadGenesisFile reads.
const MaxGenesisSize = 64 << 20

// ErrBadPeer is wrapped by CheckPeer's errors.
var ErrBadPeer = errors.New("validator: bad peer address")

// ReadGenesisFile reads the genesis document at path, of at most
// MaxGenesisSize bytes, and checks it as ParseGenesisDoc does. It returns
// the file's bytes unchanged: every node of a network must hold the same
// document.
func ReadGenesisFile(path string) ([]byte, error) {
	data, err := readLimited(path, MaxGenesisSize, "genesis")
	if err != nil {
		return nil, err
	}
	if _, _, err := ParseGenesisDoc(data); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return data, nil
}

// ParseGenesisDoc decodes and checks a CometBFT genesis document of a
// DataMesh chain: CometBFT's own checks, then its app_state as
// app.ParseGenesis does, with the same chain ID, and at least one
// validator in either.
func ParseGenesisDoc(data []byte) (*cmttypes.GenesisDoc, *app.Genesis, error) {
	doc, err := cmttypes.GenesisDocFromJSON(data)
	if err != nil {
		return nil, nil, fmt.Errorf("validator: CometBFT genesis: %w", err)
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, nil, fmt.Errorf("validator: genesis app_state: %w", err)
	}
	if g.ChainID != doc.ChainID {
		return nil, nil, fmt.Errorf("validator: genesis: app_state chain_id %q, the document's is %q", g.ChainID, doc.ChainID)
	}
	if len(doc.Validators) == 0 && len(g.Validators) == 0 {
		return nil, nil, errors.New("validator: genesis: no validators")
	}
	return doc, g, nil
}

// readLimited reads the file at path, of at most limit bytes; its errors
// name it what.
func readLimited(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("validator: %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("validator: read %s %s: %w", what, path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("validator: %s %s: over %d bytes", what, path, limit)
	}
	return data, nil
}

// CheckPeer checks a CometBFT peer address, id@host:port: id is a node
// ID (40 hex digits), host an IP address or a DNS name, port 1–65535. It
// does not resolve the name.
func CheckPeer(peer string) error {
	id, hostPort, ok := strings.Cut(peer, "@")
	if !ok {
		return fmt.Errorf("%w %q: want id@host:port", ErrBadPeer, peer)
	}
	if raw, err := hex.DecodeString(id); err != nil || len(raw) != 20 || strings.ToLower(id) != id {
		return fmt.Errorf("%w %q: node ID is not 40 lower-case hex digits", ErrBadPeer, peer)
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadPeer, peer, err)
	}
	if err := CheckHost(host); err != nil {
		return fmt.Errorf("%w %q: %w", ErrBadPeer, peer, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%w %q: port %q outside 1–65535", ErrBadPeer, peer, port)
	}
	return nil
}

// CheckHost checks that host is an IP address or a DNS name (letters,
// digits and hyphens in dot-separated labels of 1–63 characters, at most
// 253 in all). It does not resolve the name.
func CheckHost(host string) error {
	if net.ParseIP(host) != nil {
		return nil
	}
	if host == "" || len(host) > 253 {
		return fmt.Errorf("validator: host %q: not an IP address or DNS name", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("validator: host %q: not an IP address or DNS name", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("validator: host %q: not an IP address or DNS name", host)
			}
		}
	}
	return nil
}
