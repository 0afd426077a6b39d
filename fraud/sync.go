package fraud

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/streamclient"
)

// Sync is the start-up fraud sync: it asks the bootstrap peers
// (Options.SyncPeers) and up to SyncPeerCount other peers that speak fraud
// sync for the proofs they hold, and judges every proof of the answers as
// a gossiped one (a proof for a height the store has not reached is held,
// and an invalid one blocks the peer that sent it). The other peers are
// those connected when Sync starts, then those identified while requests
// are still in flight. It returns once every peer asked has answered or
// failed, or when SyncTimeout has passed or ctx ended, whichever is first;
// so with no peer to ask it returns at once. Valid proofs have set the
// Halt by then. It returns ErrNotStarted unless the Service is started,
// and ctx's error if ctx ended first; a peer that fails is logged, not an
// error.
//
// Sync may be called again at any time, for example once the header syncer
// has caught up: a proof for a height more than MaxAhead above the head is
// dropped, so a node that starts far behind learns of it only then.
func (s *Service) Sync(ctx context.Context) error {
	if s.getState() != stateStarted {
		return ErrNotStarted
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)() // Stop ends it
	s.sync(sctx)
	return ctx.Err()
}

// sync does Sync's work.
func (s *Service) sync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.SyncTimeout)
	defer cancel()
	h := s.deps.Host
	events, err := h.EventBus().Subscribe([]any{new(event.EvtPeerIdentificationCompleted), new(event.EvtPeerProtocolsUpdated)})
	if err != nil {
		s.log.Warn("fraud: sync: watching for new peers", "err", err)
	} else {
		defer func() {
			if err := events.Close(); err != nil {
				s.log.Debug("fraud: sync: closing the event subscription", "err", err)
			}
		}()
	}
	asked := map[peer.ID]bool{h.ID(): true}
	done := make(chan struct{})
	inFlight, others := 0, 0
	ask := func(p peer.ID) {
		asked[p] = true
		inFlight++
		go func() {
			s.askPeer(ctx, p)
			done <- struct{}{}
		}()
	}
	for _, p := range s.opts.SyncPeers {
		if !asked[p] {
			ask(p)
		}
	}
	for _, p := range h.Network().Peers() {
		if others < s.opts.SyncPeerCount && !asked[p] && s.speaks(p) {
			ask(p)
			others++
		}
	}
	var out <-chan any
	if events != nil {
		out = events.Out()
	}
	for inFlight > 0 {
		select {
		case <-done:
			inFlight--
		case e := <-out:
			var p peer.ID
			var protos []protocol.ID
			switch ev := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				p, protos = ev.Peer, ev.Protocols
			case event.EvtPeerProtocolsUpdated:
				p, protos = ev.Peer, ev.Added
			}
			if others < s.opts.SyncPeerCount && !asked[p] && ctx.Err() == nil && slices.Contains(protos, s.pid) {
				ask(p)
				others++
			}
		}
	}
}

// speaks reports whether identify says p speaks fraud sync.
func (s *Service) speaks(p peer.ID) bool {
	ps, err := s.deps.Host.Peerstore().SupportsProtocols(p, s.pid)
	return err == nil && len(ps) > 0
}

// askPeer asks p for its proofs and judges them.
func (s *Service) askPeer(ctx context.Context, p peer.ID) {
	body, err := SyncRequest{ProofTypes: []string{eds.BadEncodingProofType}}.MarshalBinary()
	if err != nil { // not reached: one short type
		s.log.Error("fraud: sync: encoding the request", "err", err)
		return
	}
	var resp SyncResponse
	err = s.client.Do(ctx, streamclient.Request{Peer: p, Protocols: []protocol.ID{s.pid}, Body: frame(body)},
		func(r *bufio.Reader, scope network.ResourceScope) error {
			var err error
			resp, err = s.readResponse(r, scope)
			return err
		})
	if err != nil {
		if errors.Is(err, ErrInvalidMessage) {
			s.lied(p, err)
			return
		}
		s.log.Debug("fraud: sync: asking a peer", "peer", p, "err", err)
		return
	}
	for _, ofType := range resp.Proofs {
		if ofType.Type != eds.BadEncodingProofType {
			continue
		}
		for _, v := range ofType.Values {
			switch s.consider(ctx, p, bytes.Clone(v), false) {
			case verdictReject:
				return // p is blocked: the rest is not worth reading
			case verdictAccept:
				s.gossip(ctx, v)
			}
		}
	}
}

// readResponse reads one response frame within the memory it reserves in
// scope.
func (s *Service) readResponse(r *bufio.Reader, scope network.ResourceScope) (SyncResponse, error) {
	n, err := readFrameLen(r, s.opts.MaxMessageSize)
	if err != nil {
		return SyncResponse{}, err
	}
	if err := scope.ReserveMemory(n, network.ReservationPriorityMedium); err != nil {
		return SyncResponse{}, fmt.Errorf("reserving %d bytes for a response: %w", n, err)
	}
	defer scope.ReleaseMemory(n)
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return SyncResponse{}, err
	}
	return UnmarshalSyncResponse(buf, s.opts.MaxMessageSize)
}

// errRateLimited resets the stream of a peer over its limits: fraud sync
// has no status to say so.
var errRateLimited = errors.New("fraud: peer over its fraud-sync limit")

// serve answers one fraud-sync stream. An error resets it.
func (s *Service) serve(str network.Stream) error {
	if err := str.Scope().SetService(ServiceName); err != nil {
		return fmt.Errorf("fraud: attaching stream to service: %w", err)
	}
	ok, release := s.serveL.Admit(str.Conn().RemotePeer())
	defer release()
	if !ok {
		return errRateLimited
	}
	if err := str.SetReadDeadline(s.opts.Now().Add(serveReadTimeout)); err != nil {
		return err
	}
	const reqBuf = MaxSyncRequestSize + 16
	if err := str.Scope().ReserveMemory(reqBuf, network.ReservationPriorityAlways); err != nil {
		return fmt.Errorf("fraud: reserving the request buffer: %w", err)
	}
	defer str.Scope().ReleaseMemory(reqBuf)
	r := bufio.NewReaderSize(str, 512)
	n, err := readFrameLen(r, MaxSyncRequestSize)
	if err != nil {
		return err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return err
	}
	req, err := UnmarshalSyncRequest(body)
	if err != nil {
		return err
	}
	if err := str.CloseRead(); err != nil {
		return err
	}
	resp, err := s.response(req).MarshalBinary()
	if err != nil {
		return err
	}
	msg := frame(resp)
	if err := str.Scope().ReserveMemory(len(msg), network.ReservationPriorityHigh); err != nil {
		return fmt.Errorf("fraud: reserving %d bytes for a response: %w", len(msg), err)
	}
	defer str.Scope().ReleaseMemory(len(msg))
	if err := str.SetWriteDeadline(s.opts.Now().Add(serveWriteTimeout)); err != nil {
		return err
	}
	_, err = str.Write(msg)
	return err
}

// response answers req: for the bad-encoding type, the stored proofs lowest
// height first, as many as fit in MaxMessageSize; nothing for a type it
// does not know or holds no proof of, as go-fraud answers. Each type is
// answered once.
func (s *Service) response(req SyncRequest) SyncResponse {
	var resp SyncResponse
	seen := map[string]bool{}
	for _, t := range req.ProofTypes {
		if seen[t] || t != eds.BadEncodingProofType {
			continue
		}
		seen[t] = true
		// The frame's prefix, the ProofsOfType's tag and length, and
		// its type field take at most 32 bytes; each value its bytes, a
		// tag and a length of at most 3 bytes (below 2 MiB).
		budget := s.opts.MaxMessageSize - 32 - len(t)
		var values [][]byte
		s.mu.Lock()
		for _, st := range s.proofs {
			if budget -= len(st.data) + 4; budget < 0 {
				break
			}
			values = append(values, st.data)
		}
		s.mu.Unlock()
		if len(values) > 0 {
			resp.Proofs = append(resp.Proofs, ProofsOfType{Type: t, Values: values})
		}
	}
	return resp
}
