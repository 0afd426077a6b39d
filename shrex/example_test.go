package shrex_test

import (
	"context"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

// A server holds one square; a client on another host fetches a sample and
// a row of it, verified against the header.
func Example() {
	ctx := context.Background()
	square, err := eds.Extend(edstest.RandomODS(1, 4, 2))
	if err != nil {
		panic(err)
	}
	dah, err := eds.NewDAH(square)
	if err != nil {
		panic(err)
	}
	h := &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: 1}, DAH: dah}

	serverHost, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		panic(err)
	}
	defer serverHost.Close()
	store := storeFunc(func(_ context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
		if height != 1 {
			return nil, shrex.ErrNotFound
		}
		return square, nil
	})
	server, err := shrex.NewServer(serverHost, "example", store)
	if err != nil {
		panic(err)
	}
	if err := server.Start(ctx); err != nil {
		panic(err)
	}
	defer server.Stop(ctx)

	clientHost, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		panic(err)
	}
	defer clientHost.Close()
	if err := clientHost.Connect(ctx, peer.AddrInfo{ID: serverHost.ID(), Addrs: serverHost.Addrs()}); err != nil {
		panic(err)
	}
	client, err := shrex.NewClient(clientHost, "example")
	if err != nil {
		panic(err)
	}
	smp, err := client.GetSample(ctx, serverHost.ID(), h, 5, 2)
	if err != nil {
		panic(err)
	}
	row, err := client.GetRow(ctx, serverHost.ID(), h, 6)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(smp.Share) == share.ShareSize, smp.Axis, len(row))
	// Output: true row 8
}
