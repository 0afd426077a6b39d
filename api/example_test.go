package api_test

import (
	"context"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
)

// A token carries the permissions it grants; VerifyToken reads them back
// only under the secret it was signed with.
func ExampleNewToken() {
	secret := []byte("an example secret of 32 bytes!!!")
	tok, err := api.NewToken(secret, api.PermsFor(api.PermWrite), time.Hour)
	if err != nil {
		panic(err)
	}
	perms, err := api.VerifyToken(secret, tok)
	fmt.Println(perms, err)
	_, err = api.VerifyToken([]byte("another secret"), tok)
	fmt.Println(err != nil)
	// Output:
	// [read write] <nil>
	// true
}

// A server with the node module, called through the Go client.
func ExampleNewServer() {
	secret := []byte("an example secret of 32 bytes!!!")
	node, err := api.NewNodeModule(api.NodeOptions{Mode: "light", Version: "v0.2.2", Secret: secret, Ready: func() bool { return true }})
	if err != nil {
		panic(err)
	}
	srv, err := api.NewServer(api.ServerOptions{Addr: "127.0.0.1:0", Secret: secret}, api.Modules{Node: node})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		panic(err)
	}
	defer srv.Stop(ctx)

	tok, err := api.NewToken(secret, api.PermsFor(api.PermAdmin), 0)
	if err != nil {
		panic(err)
	}
	c, err := client.New(ctx, "http://"+srv.Addr(), tok)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	info, err := c.Node.Info(ctx)
	fmt.Println(info.Type == api.NodeLight, info.APIVersion, err)
	// Output: true v0.2.2 <nil>
}
