package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/serve"
)

// A dataset's blocks served by the trustless gateway on a loopback port:
// ?format=raw of a CID is the block, and an unknown CID is a 404.
func ExampleNewGateway() {
	ctx := context.Background()
	bs := newStore()
	root, err := dataset.ImportReader(ctx, bs, strings.NewReader("hello, IPFS\n"))
	if err != nil {
		panic(err)
	}
	gw, err := serve.NewGateway(bs, serve.DefaultGatewaySettings())
	if err != nil {
		panic(err)
	}
	s := serve.DefaultHTTPSettings()
	s.Addr = "127.0.0.1:0" // the default is serve.DefaultHTTPAddr
	srv, err := serve.NewHTTP(s, gw, nil)
	if err != nil {
		panic(err)
	}
	if err := srv.Start(ctx); err != nil {
		panic(err)
	}
	defer srv.Stop(ctx)

	for _, c := range []string{root.String(), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" /* the empty file */} {
		resp, err := http.Get(srv.URL() + "/ipfs/" + c + "?format=raw")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %q\n", c, resp.StatusCode, body)
	}
	// Output:
	// bafkreidbpscan4pmoveo73vu7ghxti2juzzdnidwrjq7k6wjw5xdj7y7bq: 200 "hello, IPFS\n"
	// bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku: 404 "serve: bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku is not held by this node\n"
}
