package fraud

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
)

// JudgeGossip judges data as the topic validator does a message from
// another peer, and returns "accept", "ignore" or "reject". It lets the
// fuzz target and the flood benchmark drive the validator without pubsub.
func (s *Service) JudgeGossip(ctx context.Context, from peer.ID, data []byte) string {
	switch s.consider(ctx, from, data, true) {
	case verdictAccept:
		return "accept"
	case verdictReject:
		return "reject"
	}
	return "ignore"
}
