package ethrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
)

// Limits of an eth_getLogs filter.
const (
	maxFilterAddresses = 1000
	maxFilterTopics    = 4
	maxTopicAlts       = 1000
)

// filterCriteria is eth_getLogs' filter object; it converts to
// ethereum.FilterQuery.
type filterCriteria struct {
	BlockHash *common.Hash
	FromBlock *big.Int
	ToBlock   *big.Int
	Addresses []common.Address
	Topics    [][]common.Hash
}

// UnmarshalJSON reads {blockHash, fromBlock, toBlock, address, topics}:
// address is one address or a list, topics a list of null, a topic, or a
// list of alternatives; blockHash excludes fromBlock and toBlock.
func (f *filterCriteria) UnmarshalJSON(b []byte) error {
	var raw struct {
		BlockHash *common.Hash      `json:"blockHash"`
		FromBlock *rpc.BlockNumber  `json:"fromBlock"`
		ToBlock   *rpc.BlockNumber  `json:"toBlock"`
		Address   json.RawMessage   `json:"address"`
		Topics    []json.RawMessage `json:"topics"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("ethrpc: filter: %w", err)
	}
	*f = filterCriteria{BlockHash: raw.BlockHash}
	if raw.BlockHash != nil && (raw.FromBlock != nil || raw.ToBlock != nil) {
		return errors.New("ethrpc: filter: blockHash with fromBlock or toBlock")
	}
	var err error
	if f.FromBlock, err = filterBlock(raw.FromBlock); err != nil {
		return err
	}
	if f.ToBlock, err = filterBlock(raw.ToBlock); err != nil {
		return err
	}
	if len(raw.Address) > 0 && string(raw.Address) != "null" {
		var one common.Address
		if err := json.Unmarshal(raw.Address, &one); err == nil {
			f.Addresses = []common.Address{one}
		} else if err := json.Unmarshal(raw.Address, &f.Addresses); err != nil {
			return fmt.Errorf("ethrpc: filter: address: %w", err)
		}
	}
	if len(f.Addresses) > maxFilterAddresses {
		return fmt.Errorf("ethrpc: filter: %d addresses, at most %d", len(f.Addresses), maxFilterAddresses)
	}
	if len(raw.Topics) > maxFilterTopics {
		return fmt.Errorf("ethrpc: filter: %d topics, at most %d", len(raw.Topics), maxFilterTopics)
	}
	for i, t := range raw.Topics {
		var alts []common.Hash
		var one common.Hash
		switch {
		case string(t) == "null":
		case json.Unmarshal(t, &one) == nil:
			alts = []common.Hash{one}
		default:
			if err := json.Unmarshal(t, &alts); err != nil {
				return fmt.Errorf("ethrpc: filter: topic %d: %w", i, err)
			}
			if len(alts) > maxTopicAlts {
				return fmt.Errorf("ethrpc: filter: topic %d: %d alternatives, at most %d", i, len(alts), maxTopicAlts)
			}
		}
		f.Topics = append(f.Topics, alts)
	}
	return nil
}

// filterBlock turns a block parameter into a height; nil (the head) for
// latest, pending, safe and finalized, which the executor resolves as
// the head.
func filterBlock(n *rpc.BlockNumber) (*big.Int, error) {
	switch {
	case n == nil:
		return nil, nil
	case *n == rpc.EarliestBlockNumber:
		return new(big.Int), nil
	case *n < 0:
		return nil, nil
	}
	return big.NewInt(n.Int64()), nil
}
