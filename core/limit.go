package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"

	"github.com/datamesh/mesh-node/core/meshrpc"
)

// DefaultMaxResponseBytes bounds each RPC response the follower reads when
// Options.MaxResponseBytes is 0: a block of CometBFT's hard maximum size
// (types.MaxBlockSizeBytes, 100 MiB, what a chain of max_square_size 512
// allows) as JSON, its transactions in base64 (4/3 of their size), with
// room to spare. A block of a 256 square (at most 41 MiB) is about 55 MiB
// as JSON; from the binary block route (package meshrpc) it is its own
// size plus the commit and validator set.
const DefaultMaxResponseBytes = 160 << 20

// ErrResponseTooLarge is wrapped when a core node's RPC response exceeds
// Options.MaxResponseBytes.
var ErrResponseTooLarge = errors.New("core: RPC response too large")

// dialHTTP returns CometBFT's HTTP client for rpc, reading at most max bytes
// of each response. It does no I/O.
func dialHTTP(rpc string, max int64) (Client, error) {
	hc, err := jsonrpcclient.DefaultHTTPClient(rpc)
	if err != nil {
		return nil, err
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = limitTransport{base: base, max: max}
	c, err := rpchttp.NewWithClient(rpc, "/websocket", hc)
	if err != nil {
		return nil, err
	}
	hcl := &httpClient{HTTP: c, hc: hc}
	switch {
	case strings.HasPrefix(rpc, "http://") || strings.HasPrefix(rpc, "https://"):
		hcl.base = rpc
	case strings.HasPrefix(rpc, "tcp://"):
		hcl.base = "http://" + strings.TrimPrefix(rpc, "tcp://")
	}
	return hcl, nil
}

// httpClient is CometBFT's client with a way to close the connections it
// keeps alive once the follower drops it, and the binary block route of
// package meshrpc beside it.
type httpClient struct {
	*rpchttp.HTTP
	hc *http.Client
	// base is the RPC's http URL; "" (a unix socket) leaves the binary
	// route unused.
	base string
	// noMesh is set once the core node answered that it does not serve
	// the route: the rest of this connection uses the JSON RPC.
	noMesh atomic.Bool
}

// errNoMesh is fetchBlock's answer when the client does not use the
// binary route.
var errNoMesh = errors.New("core: no binary block route")

// fetchBlock fetches height's block, commit and validators from the
// binary route. It returns errNoMesh, without asking, when an earlier
// answer showed that the core node does not serve it, and wraps
// meshrpc.ErrNotServed when this answer shows it.
func (c *httpClient) fetchBlock(ctx context.Context, height int64) (*meshrpc.Block, error) {
	if c.base == "" || c.noMesh.Load() {
		return nil, errNoMesh
	}
	b, err := meshrpc.FetchBlock(ctx, c.hc, c.base, height, MaxValidators)
	if errors.Is(err, meshrpc.ErrNotServed) {
		c.noMesh.Store(true)
	}
	return b, err
}

func (c *httpClient) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// release closes the idle connections of a client the follower drops.
func release(c Client) {
	if cl, ok := c.(interface{ CloseIdleConnections() }); ok {
		cl.CloseIdleConnections()
	}
}

// limitTransport fails the read of a response body past max bytes.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.ContentLength > t.max {
		res.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrResponseTooLarge, res.ContentLength, t.max)
	}
	res.Body = &limitedBody{rc: res.Body, left: t.max, max: t.max}
	return res, nil
}

type limitedBody struct {
	rc        io.ReadCloser
	left, max int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the limit: only the end of the body is acceptable.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
