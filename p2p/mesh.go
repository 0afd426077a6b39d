package p2p

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// OnGraft calls fn with every peer gossipsub adds to the node's mesh of
// topic from now on: one it grafts itself (on joining the topic or at a
// heartbeat) or one whose GRAFT it accepts. fn runs on gossipsub's event
// loop and must not block. The returned function stops the calls; it is
// safe to call more than once. Services use it to ask a new mesh peer for
// what gossipsub may have forwarded before that peer was in the mesh (see
// fraud's "Mesh peers"). It works before Start too: the watch applies to
// the gossipsub Start makes.
func (n *Node) OnGraft(topic string, fn func(peer.ID)) (stop func()) {
	return n.mesh.add(topic, fn)
}

// meshWatch is gossipsub's raw tracer: it hands mesh grafts to the
// functions of OnGraft, and ignores every other event.
type meshWatch struct {
	mu    sync.Mutex
	next  int
	funcs map[string]map[int]func(peer.ID) // topic → watch ID → fn
}

func (m *meshWatch) add(topic string, fn func(peer.ID)) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.funcs == nil {
		m.funcs = map[string]map[int]func(peer.ID){}
	}
	if m.funcs[topic] == nil {
		m.funcs[topic] = map[int]func(peer.ID){}
	}
	id := m.next
	m.next++
	m.funcs[topic][id] = fn
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.funcs[topic], id)
	}
}

func (m *meshWatch) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	fns := make([]func(peer.ID), 0, len(m.funcs[topic]))
	for _, fn := range m.funcs[topic] {
		fns = append(fns, fn)
	}
	m.mu.Unlock()
	for _, fn := range fns {
		fn(p)
	}
}

func (*meshWatch) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*meshWatch) OnClosedOutboundStream(peer.ID)                       {}
func (*meshWatch) Join(string)                                          {}
func (*meshWatch) Leave(string)                                         {}
func (*meshWatch) Prune(peer.ID, string)                                {}
func (*meshWatch) ValidateMessage(*pubsub.Message)                      {}
func (*meshWatch) DeliverMessage(*pubsub.Message)                       {}
func (*meshWatch) RejectMessage(*pubsub.Message, string)                {}
func (*meshWatch) DuplicateMessage(*pubsub.Message)                     {}
func (*meshWatch) ThrottlePeer(peer.ID)                                 {}
func (*meshWatch) RecvRPC(*pubsub.RPC)                                  {}
func (*meshWatch) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshWatch) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*meshWatch) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshWatch) UndeliverableMessage(*pubsub.Message)                 {}

var _ pubsub.RawTracer = (*meshWatch)(nil)
