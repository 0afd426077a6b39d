// Package evm is the Ethereum virtual machine as a DataMesh rollup
// executor: an ev-node execution.Executor running go-ethereum v1.17.10's
// core/vm and core/state over a Badger database. Package ethrpc beside it
// serves the Ethereum JSON-RPC that wallets and ethclient use.
//
// # Chain
//
// A Genesis holds the numeric chain ID (EIP-155), the block gas limit
// (DefaultGasLimit, 30 million), a fixed base fee (DefaultBaseFee, 1
// gwei; it never moves with demand), the fee recipient (every block's
// coinbase) and the accounts at genesis. DevGenesis makes one with a
// freshly generated development account, funded with DevBalance and used
// as fee recipient, and returns its key. Every fork through Cancun is
// active from genesis (ChainConfig); Prague and later are not. Blob
// (EIP-4844) and set-code (EIP-7702) transactions are refused, the
// beacon-root system call (EIP-4788) is not made, PREVRANDAO is zero and
// the blob base fee the minimum, 1 wei.
//
// Heights are the rollup's: the genesis state is block initialHeight-1
// and ExecuteTxs's height is the Ethereum block number; the block time is
// ExecuteTxs's, in whole seconds. The header is Ethereum's (its hash is
// the block hash BLOCKHASH and the RPC return) with the EVM's state root,
// the transactions that applied, their receipts root and logs bloom.
//
// # Transactions
//
// A transaction is its Ethereum binary form, as eth_sendRawTransaction
// takes it: a legacy transaction signed with EIP-155 replay protection
// or an EIP-1559 dynamic-fee transaction, of this chain's ID, at most
// MaxTxSize bytes. DecodeTx checks what needs no state (ErrInvalidTx);
// SubmitTx and FilterTxs also check the nonce (the account's, plus its
// transactions already in the mempool or earlier in the batch), the
// balance against gas limit times fee cap plus value, and the fee cap
// against the base fee. The base fee is burnt; the tip goes to the fee
// recipient.
//
// ExecuteTxs applies the transactions in order with go-ethereum's state
// transition (core.ApplyTransactionWithEVM). One that does not decode or
// that the state refuses is skipped with the state untouched and recorded
// in Block.Results; only applied transactions are in the Ethereum block
// and have receipts (a reverted or out-of-gas execution is applied: it
// pays its gas and its receipt says it failed).
//
// # State and atomicity
//
// The state is go-ethereum's Merkle-Patricia trie in the hash scheme
// (triedb/hashdb) over an ethdb.KeyValueStore on Badger, under keys
// "evm/t/": trie nodes and contract code keyed by their hash, never
// overwritten or pruned, so every block's state can be read (an archive
// node). Each block commits its trie and then writes its record (header,
// transactions, senders, receipts, results, the hash and transaction
// indexes) and the new head in one Badger transaction: a crash before that
// leaves only unreferenced nodes, and a restart resumes from the head,
// whose state is complete. go-ethereum's pebble and leveldb databases are
// not linked.
//
// # Reads
//
// BlockByNumber, BlockByHash, TxByHash, StateAt, Call, EstimateGas, Logs
// and Proof serve ethrpc; they read committed blocks only and are
// bounded (MaxCallGas, MaxLogBlocks, MaxLogs, MaxProofKeys). Proof is an
// account and storage slots with go-ethereum's trie proofs (EIP-1186)
// against a block's state root, which trie.VerifyProof checks.
package evm
