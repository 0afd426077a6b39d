package streamclient_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/internal/streamclient"
)

// A client asks a server that answers each request in upper case; the
// ReadFunc reads at most 1 KiB of it.
func Example() {
	ctx := context.Background()
	const upper protocol.ID = "/example/upper/1"
	server, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		panic(err)
	}
	defer server.Close()
	server.SetStreamHandler(upper, func(str network.Stream) {
		req, err := io.ReadAll(io.LimitReader(str, 1<<10))
		if err == nil {
			_, err = str.Write(bytes.ToUpper(req))
		}
		if err != nil {
			_ = str.Reset()
			return
		}
		_ = str.Close()
	})

	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		panic(err)
	}
	defer h.Close()
	if err := h.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		panic(err)
	}
	client := streamclient.New(h, streamclient.Config{Name: "example", Service: "example.upper"})
	var resp []byte
	err = client.Do(ctx, streamclient.Request{
		Peer: server.ID(), Protocols: []protocol.ID{upper}, Body: []byte("hello"),
	}, func(r *bufio.Reader, _ network.ResourceScope) (err error) {
		resp, err = io.ReadAll(io.LimitReader(r, 1<<10))
		return err
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(resp))
	// Output: HELLO
}
