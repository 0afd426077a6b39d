// Package client is a Go client of mesh-node's JSON-RPC API (and of
// celestia-node's, for the methods they share): one struct of typed
// functions per module, over go-jsonrpc.
//
// Use an http:// (or https://) URL for calls and a ws:// (or wss://) URL
// when the client must receive subscriptions (blob.Subscribe):
//
//	c, err := client.New(ctx, "ws://127.0.0.1:26658", token)
//	if err != nil { ... }
//	defer c.Close()
//	h, err := c.Blob.Submit(ctx, blobs, nil)
package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// BlobAPI is the blob module.
type BlobAPI struct {
	Submit             func(ctx context.Context, blobs []*blob.Blob, options *state.TxConfig) (uint64, error)
	Get                func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.Blob, error)
	GetAll             func(ctx context.Context, height uint64, nss []share.Namespace) ([]*blob.Blob, error)
	GetProof           func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.Proof, error)
	Included           func(ctx context.Context, height uint64, ns share.Namespace, proof *blob.Proof, c blob.Commitment) (bool, error)
	GetCommitmentProof func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.CommitmentProof, error)
	Subscribe          func(ctx context.Context, ns share.Namespace) (<-chan *blob.SubscriptionResponse, error)
	SubscribeFrom      func(ctx context.Context, ns share.Namespace, fromHeight uint64) (<-chan *blob.SubscriptionResponse, error)
	GetByCommitment    func(ctx context.Context, c blob.Commitment) (*blob.CommitmentResult, error)
	GetKZG             func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment) (*blob.KZGInfo, error)
	OpenKZG            func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment, chunk int, z blob.Hex32) (*blob.KZGOpening, error)
	GetKZGCells        func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment, chunk int, indices []uint64) (*blob.KZGCells, error)
}

// HeaderAPI is the header module.
type HeaderAPI struct {
	LocalHead     func(ctx context.Context) (*header.ExtendedHeader, error)
	NetworkHead   func(ctx context.Context) (*header.ExtendedHeader, error)
	GetByHeight   func(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	GetByHash     func(ctx context.Context, hash api.Hash) (*header.ExtendedHeader, error)
	WaitForHeight func(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	SyncState     func(ctx context.Context) (api.SyncState, error)
}

// ShareAPI is the share module.
type ShareAPI struct {
	SharesAvailable func(ctx context.Context, height uint64) error
	// GetNamespaceData returns one entry per row that may hold ns, in
	// row order (eds.RowsWithNamespace of the height's DAH), unverified.
	GetNamespaceData func(ctx context.Context, height uint64, ns share.Namespace) (api.NamespaceData, error)
}

// DASAPI is the das module.
type DASAPI struct {
	SamplingStats func(ctx context.Context) (das.Stats, error)
	WaitCatchUp   func(ctx context.Context) error
}

// StateAPI is the state module.
type StateAPI struct {
	AccountAddress    func(ctx context.Context) (tx.Address, error)
	Balance           func(ctx context.Context) (*state.Coin, error)
	BalanceForAddress func(ctx context.Context, addr tx.Address) (*state.Coin, error)
	Transfer          func(ctx context.Context, to tx.Address, amount state.Int, config *state.TxConfig) (*state.TxResponse, error)
	SubmitPayForBlob  func(ctx context.Context, blobs []*blob.Blob, config *state.TxConfig) (*state.TxResponse, error)
	Params            func(ctx context.Context) (tx.Params, error)

	// The staking methods (celestia-node's; proof-of-stake chains only):
	// validators are named by their operators' addresses.
	Delegate                  func(ctx context.Context, delAddr tx.Address, amount state.Int, config *state.TxConfig) (*state.TxResponse, error)
	Undelegate                func(ctx context.Context, delAddr tx.Address, amount state.Int, config *state.TxConfig) (*state.TxResponse, error)
	BeginRedelegate           func(ctx context.Context, srcValAddr, dstValAddr tx.Address, amount state.Int, config *state.TxConfig) (*state.TxResponse, error)
	CancelUnbondingDelegation func(ctx context.Context, valAddr tx.Address, amount, height state.Int, config *state.TxConfig) (*state.TxResponse, error)
	WithdrawDelegatorReward   func(ctx context.Context, valAddr tx.Address, config *state.TxConfig) (*state.TxResponse, error)
	QueryDelegationRewards    func(ctx context.Context, valAddr tx.Address) (*tx.QueryDelegationRewardsResponse, error)
	QueryDelegation           func(ctx context.Context, valAddr tx.Address) (*tx.QueryDelegationResponse, error)
	QueryUnbonding            func(ctx context.Context, valAddr tx.Address) (*tx.QueryUnbondingDelegationResponse, error)
	QueryRedelegations        func(ctx context.Context, srcValAddr, dstValAddr tx.Address) (*tx.QueryRedelegationsResponse, error)
}

// FraudAPI is the fraud module. The proof type is "badencodingv0.1"
// (eds.BadEncodingProofType).
type FraudAPI struct {
	Get       func(ctx context.Context, proofType string) ([]api.FraudProof, error)
	Subscribe func(ctx context.Context, proofType string) (<-chan *api.FraudProof, error)
}

// KZGAPI is the kzg module (mesh-node only).
type KZGAPI struct {
	Commit func(ctx context.Context, data []byte) (*api.KZGCommitments, error)
}

// BlobstreamAPI is the blobstream module: data root tuple roots and their
// inclusion proofs, as celestia-node's; the chain's attestations and
// blobs' SharesProofs up to them.
type BlobstreamAPI struct {
	GetDataRootTupleRoot           func(ctx context.Context, start, end uint64) (api.Hash, error)
	GetDataRootTupleInclusionProof func(ctx context.Context, height, start, end uint64) (*merkle.Proof, error)
	GetAttestation                 func(ctx context.Context, nonce uint64) (*tx.Attestation, error)
	GetAttestationByHeight         func(ctx context.Context, height uint64) (*tx.Attestation, error)
	GetValset                      func(ctx context.Context, nonce uint64) (*tx.Attestation, error)
	GetLatestAttestationNonce      func(ctx context.Context) (tx.BlobstreamNonces, error)
	GetSharesProof                 func(ctx context.Context, height uint64, ns share.Namespace, c blob.Commitment, start, end uint64) (*blobstream.SharesProof, error)
}

// NodeAPI is the node module.
type NodeAPI struct {
	Info              func(ctx context.Context) (api.NodeInfo, error)
	Ready             func(ctx context.Context) (bool, error)
	AuthNew           func(ctx context.Context, perms []api.Permission) (string, error)
	AuthNewWithExpiry func(ctx context.Context, perms []api.Permission, ttl time.Duration) (string, error)
	AuthVerify        func(ctx context.Context, token string) ([]api.Permission, error)
	LogLevelSet       func(ctx context.Context, name, level string) error
}

// P2PAPI is the p2p module.
type P2PAPI struct {
	Info             func(ctx context.Context) (peer.AddrInfo, error)
	Peers            func(ctx context.Context) ([]peer.ID, error)
	Connect          func(ctx context.Context, addrs peer.AddrInfo) error
	BlockPeer        func(ctx context.Context, id peer.ID) error
	UnblockPeer      func(ctx context.Context, id peer.ID) error
	ListBlockedPeers func(ctx context.Context) ([]peer.ID, error)

	Network              func(ctx context.Context) (api.Network, error)
	NATStatus            func(ctx context.Context) (network.Reachability, error)
	Protect              func(ctx context.Context, id peer.ID, tag string) error
	Unprotect            func(ctx context.Context, id peer.ID, tag string) (bool, error)
	IsProtected          func(ctx context.Context, id peer.ID, tag string) (bool, error)
	BandwidthStats       func(ctx context.Context) (metrics.Stats, error)
	BandwidthForPeer     func(ctx context.Context, id peer.ID) (metrics.Stats, error)
	BandwidthForProtocol func(ctx context.Context, proto protocol.ID) (metrics.Stats, error)
	ResourceState        func(ctx context.Context) (p2p.ResourceStat, error)
	PubSubPeers          func(ctx context.Context, topic string) ([]peer.ID, error)
	PubSubTopics         func(ctx context.Context) ([]string, error)
	Ping                 func(ctx context.Context, id peer.ID) (time.Duration, error)
	ConnectionState      func(ctx context.Context, id peer.ID) ([]api.ConnectionState, error)
}

// DatasetAPI is the dataset module (bridge and full nodes; a light node
// answers that it keeps no dataset index). CIDs are strings.
type DatasetAPI struct {
	GetManifest func(ctx context.Context, c string) (*api.DatasetManifest, error)
	Locate      func(ctx context.Context, c string) ([]api.DatasetLocation, error)
	Has         func(ctx context.Context, c string) (bool, error)
	GetBlock    func(ctx context.Context, c string) ([]byte, error)
	List        func(ctx context.Context, from uint64, limit int) ([]*api.DatasetManifest, error)
}

// Client is a connection to a node's API. Its module fields are filled by
// New and safe for concurrent use; a call to a module the node does not
// serve returns a "method not found" error.
type Client struct {
	Blob   BlobAPI
	Header HeaderAPI
	Share  ShareAPI
	DAS    DASAPI
	State  StateAPI
	Node   NodeAPI
	P2P    P2PAPI
	Fraud  FraudAPI
	KZG    KZGAPI
	// Blobstream is the blobstream module.
	Blobstream BlobstreamAPI
	// Dataset is the dataset module.
	Dataset DatasetAPI

	closers []jsonrpc.ClientCloser
	http    *http.Client // over HTTP: every call's
}

// New returns a client of the node at url (http(s):// or ws(s)://; only a
// WebSocket client receives subscriptions) that sends token ("" for none)
// as "Authorization: Bearer <token>". Over WebSocket it connects now (one
// connection per module), and an HTTP 401 is an error here; over HTTP the
// first call finds out. ctx's values reach go-jsonrpc but its end does
// not: the connections last until Close.
//
// Over HTTP, Blob.Submit writes its request itself (httpSubmit), with the
// same request and answers as go-jsonrpc's, and every call shares one
// connection pool.
func New(ctx context.Context, url, token string) (*Client, error) {
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ctx = context.WithoutCancel(ctx)
	c := &Client{}
	var opts []jsonrpc.Option
	httpURL := strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")
	if httpURL {
		// go-jsonrpc's own pool keeps 100 idle connections per host, more
		// than net/http's default of 2, so concurrent calls reuse theirs.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 100, 100
		c.http = &http.Client{Transport: tr}
		opts = append(opts, jsonrpc.WithHTTPClient(c.http))
	}
	mods := []struct {
		ns  string
		out any
	}{
		{"blob", &c.Blob}, {"header", &c.Header}, {"share", &c.Share}, {"das", &c.DAS},
		{"state", &c.State}, {"node", &c.Node}, {"p2p", &c.P2P}, {"fraud", &c.Fraud},
		{"kzg", &c.KZG}, {"dataset", &c.Dataset}, {"blobstream", &c.Blobstream},
	}
	for _, m := range mods {
		closer, err := jsonrpc.NewMergeClient(ctx, url, m.ns, []any{m.out}, hdr, opts...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("client: connect %s module to %s: %w", m.ns, url, err)
		}
		c.closers = append(c.closers, closer)
	}
	if httpURL {
		s := &httpSubmit{url: url, hdr: hdr, hc: c.http}
		c.Blob.Submit = s.submit
	}
	return c, nil
}

// Close closes the client's connections; calls in flight fail.
func (c *Client) Close() {
	for _, cl := range c.closers {
		cl()
	}
	c.closers = nil
	if c.http != nil {
		c.http.CloseIdleConnections()
	}
}
