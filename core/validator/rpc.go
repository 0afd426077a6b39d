package validator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtpubsub "github.com/cometbft/cometbft/libs/pubsub"
	cmtnode "github.com/cometbft/cometbft/node"
	grpccore "github.com/cometbft/cometbft/rpc/grpc"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	"github.com/rs/cors"

	"github.com/datamesh/mesh-node/core/meshrpc"
)

// rpcServer is the core node's RPC: CometBFT's JSON-RPC, URI and
// websocket routes as CometBFT's node would serve them, and package
// meshrpc's routes under meshrpc.Prefix, on every address of the config's
// rpc.laddr (and CometBFT's gRPC server on grpc_laddr, if set).
//
// Start runs it in place of CometBFT's own: it makes the node with
// rpc.laddr as configured (so /status reports it), then clears laddr in
// the node's private copy of the config so that the node's OnStart does
// not listen on it, and calls startRPC before the node's Start, where
// CometBFT would start its RPC too.
type rpcServer struct {
	servers []*http.Server
	grpc    []net.Listener
}

// startRPC listens on laddrs (rpc.laddr, split at commas) and serves n's
// RPC there; it mirrors node.Node's startRPC of CometBFT v0.38 with one
// difference: a request under meshrpc.Prefix goes to meshrpc.Handler
// before CometBFT's request checks (which would read and parse a
// broadcast body as a JSON batch), with its own size limit.
func startRPC(n *cmtnode.Node, laddrs string, maxTxBytes int64, logger cmtlog.Logger) (_ *rpcServer, err error) {
	conf := n.Config().RPC
	env, err := n.ConfigureRPC()
	if err != nil {
		return nil, fmt.Errorf("configure RPC: %w", err)
	}
	routes := env.GetRoutes()
	restoreTxRoutes(routes, env)
	if conf.Unsafe {
		env.AddUnsafeRoutes(routes)
	}
	sc := rpcserver.DefaultConfig()
	sc.MaxRequestBatchSize = conf.MaxRequestBatchSize
	sc.MaxBodyBytes = conf.MaxBodyBytes
	sc.MaxHeaderBytes = conf.MaxHeaderBytes
	sc.MaxOpenConnections = conf.MaxOpenConnections
	if sc.WriteTimeout <= conf.TimeoutBroadcastTxCommit {
		sc.WriteTimeout = conf.TimeoutBroadcastTxCommit + time.Second
	}
	rpcLogger := logger.With("module", "rpc-server")
	mesh := meshrpc.Handler(env, maxTxBytes, rpcLogger.With("routes", "mesh"))
	s := &rpcServer{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	for _, laddr := range strings.Split(laddrs, ",") {
		if laddr = strings.TrimSpace(laddr); laddr == "" {
			continue
		}
		mux := http.NewServeMux()
		wmLogger := rpcLogger.With("protocol", "websocket")
		wm := rpcserver.NewWebsocketManager(routes,
			rpcserver.OnDisconnect(func(remoteAddr string) {
				err := n.EventBus().UnsubscribeAll(context.Background(), remoteAddr)
				if err != nil && !errors.Is(err, cmtpubsub.ErrSubscriptionNotFound) {
					wmLogger.Error("Failed to unsubscribe addr from events", "addr", remoteAddr, "err", err)
				}
			}),
			rpcserver.ReadLimit(sc.MaxBodyBytes),
			rpcserver.WriteChanCapacity(conf.WebSocketWriteBufferSize),
		)
		wm.SetLogger(wmLogger)
		mux.HandleFunc("/websocket", wm.WebsocketHandler)
		rpcserver.RegisterRPCFuncs(mux, routes, rpcLogger)
		var comet http.Handler = mux
		if conf.IsCorsEnabled() {
			comet = cors.New(cors.Options{
				AllowedOrigins: conf.CORSAllowedOrigins,
				AllowedMethods: conf.CORSAllowedMethods,
				AllowedHeaders: conf.CORSAllowedHeaders,
			}).Handler(mux)
		}
		// CometBFT's Serve wraps its handler in these two.
		comet = rpcserver.PreChecksHandler(rpcserver.RecoverAndLogHandler(comet, rpcLogger), sc)
		root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, meshrpc.Prefix) {
				mesh.ServeHTTP(w, r)
				return
			}
			comet.ServeHTTP(w, r)
		})
		l, err := rpcserver.Listen(laddr, sc.MaxOpenConnections)
		if err != nil {
			return nil, fmt.Errorf("RPC listen on %s: %w", laddr, err)
		}
		srv := &http.Server{
			Handler:           root,
			ReadTimeout:       sc.ReadTimeout,
			ReadHeaderTimeout: sc.ReadTimeout,
			WriteTimeout:      sc.WriteTimeout,
			MaxHeaderBytes:    sc.MaxHeaderBytes,
		}
		s.servers = append(s.servers, srv)
		tls := conf.IsTLSEnabled()
		certFile, keyFile := conf.CertFile(), conf.KeyFile()
		go func() {
			var err error
			if tls {
				err = srv.ServeTLS(l, certFile, keyFile)
			} else {
				err = srv.Serve(l)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				rpcLogger.Error("RPC server stopped", "laddr", laddr, "err", err)
			}
		}()
	}
	if conf.GRPCListenAddress != "" {
		l, err := rpcserver.Listen(conf.GRPCListenAddress, conf.GRPCMaxOpenConnections)
		if err != nil {
			return nil, fmt.Errorf("gRPC listen on %s: %w", conf.GRPCListenAddress, err)
		}
		s.grpc = append(s.grpc, l)
		go func() {
			//lint:ignore SA1019 CometBFT v0.38's node serves this deprecated gRPC API when grpc_laddr is set; so does this one.
			if err := grpccore.StartGRPCServer(env, l); err != nil && !errors.Is(err, net.ErrClosed) {
				logger.Error("gRPC server stopped", "err", err)
			}
		}()
	}
	return s, nil
}

// close stops listening and closes every connection the servers track
// (a hijacked websocket ends when CometBFT's node stops its event bus).
func (s *rpcServer) close() error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("validator: close RPC server: %w", err))
		}
	}
	for _, l := range s.grpc {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("validator: close gRPC listener: %w", err))
		}
	}
	return errors.Join(errs...)
}
