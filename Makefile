# DataMesh mesh-node. `make test` is the test command CI runs (.ci/run).
GO          ?= go
GOBIN       ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION := v0.7.0
# Packages whose code runs goroutines; their tests also run under -race:
# with -short, the data layer (its k = 256 oracle comparisons are slow under
# the race detector), nodebuilder (its 2,000-block chain and five-node
# network tests, run without -race above; its other multi-node tests run
# under -race) and cmd (its devnet, multi-process and dataset tests, also run
# without -race above: they drive node packages that have race runs of their
# own, and under the race detector they took over 6 of make test's minutes);
# the other node packages in full (their in-process CometBFT tests are where
# the concurrency is).
RACE_SHORT_PKGS := ./eds/... ./nmt/... ./nodebuilder/... ./cmd/...
RACE_DIRS       := header|core|p2p|shrex|das|internal
RACE_PKGS       := $(foreach d,$(subst |, ,$(RACE_DIRS)),./$(d)/...)
MODULE          := github.com/datamesh/mesh-node
BENCH_COUNT ?= 3
BENCH_TIME  ?= 5x
FUZZ_TIME   ?= 30s

.PHONY: all build devnet loadgen loadgen-build loadgen-test bench-throughput soak netbench-bins bench-network bench-network-netem bench-network-test test interop interop-eth interop-kubo attack vet lint bench bench-bridge bench-node bench-das bench-kzg bench-api bench-dataset bench-rollup bench-staking fuzz

all: build test

build:
	$(GO) build ./...
	$(GO) build -o bin/mesh-node ./cmd/mesh-node

# A core validator, a bridge, a full and a light node in one process on
# loopback; writes ~/.mesh-node-devnet/devnet.json. Ctrl-C stops it.
DEVNET_ARGS ?=
devnet: build
	bin/mesh-node devnet $(DEVNET_ARGS)

# The load generator (tools/loadgen, a module of its own so gonum/plot
# stays out of mesh-node): blob.Submit at a target rate against a devnet
# (--devnet HOME) or nodes given by flags, then a table, ARGS' --out
# PREFIX.json and PREFIX.png. Bounded by --duration and/or --count; see
# docs/benchmarks.md, "Load generator". Example:
#   make loadgen ARGS='--devnet $(HOME)/.mesh-node-devnet --rate 4 --duration 60s'
# loadgen-test runs its unit tests and a 15 s load against a devnet it
# starts from this checkout (about 60 s on 2 cores once built).
LOADGEN_ENV := GOFLAGS=-mod=mod
ARGS ?=
loadgen: loadgen-build
	bin/loadgen $(ARGS)

loadgen-build:
	cd tools/loadgen && $(LOADGEN_ENV) $(GO) build -o ../../bin/loadgen .

# Sustained throughput (tools/throughput.sh): a devnet with squares up to
# 256 wide, a light node in a process of its own, and loadgen at RATE MB/s
# of SIZES blobs for DURATION (defaults: 16 MB/s of 4 MB blobs for 10
# minutes); every blob is read back at the end. soak: the same load for
# 30 minutes, reporting each node's memory growth after the first 5, with
# the core node keeping its last 300 blocks and the full node 5 minutes of
# squares (the bridge keeps every square, and every blob is read back from
# it: 48 GB of disk at the peak, where keeping everything would take about
# 100).
# Settings are environment variables (see the script); docs/benchmarks.md
# has the runs.
bench-throughput: build loadgen-build
	OUT=$${OUT:-throughput} tools/throughput.sh

soak: build loadgen-build
	DURATION=$${DURATION:-30m} WARMUP=$${WARMUP:-5m} RATE=$${RATE:-20} SIZES=$${SIZES:-fixed:4M} \
		CONCURRENCY=$${CONCURRENCY:-24} RETAIN_BLOCKS=$${RETAIN_BLOCKS:-300} FULL_WINDOW=$${FULL_WINDOW:-5m} \
		DISK_PER_BYTE=$${DISK_PER_BYTE:-1.6} OUT=$${OUT:-soak} tools/throughput.sh

loadgen-test:
	cd tools/loadgen && $(LOADGEN_ENV) $(GO) vet ./...
	cd tools/loadgen && $(LOADGEN_ENV) $(GO) test -count=1 -timeout 10m ./...

# A network of separate processes on this machine (tools/netbench, a
# module of its own): a core validator, a bridge, 2 full and ARGS' --lights
# (default 100) light nodes (3 s blocks unless ARGS' --block-time), each
# `mesh-node <mode> start` in a temporary
# home, under a blob load from bin/loadgen through the bridge; reports each
# light node's lag and RSS, sampling time per header p50/p99, and the
# bridge's and full nodes' CPU and shrex serving, as a table and ARGS'
# --out (netbench.json). It removes everything it starts on every exit.
# bench-network-netem puts each light node in a network namespace behind
# tc netem (25 ms each way, 20 Mbit/s; needs root). bench-network-test runs
# its tests: 3 light nodes for 30 s, and 2 behind netem when root (skipped
# otherwise); not part of `make test`. See docs/benchmarks.md, "Network of
# separate processes". Example:
#   make bench-network ARGS='--lights 100 --duration 3m'
NETBENCH_ENV := GOFLAGS=-mod=mod
netbench-bins: build loadgen-build
	cd tools/netbench && $(NETBENCH_ENV) $(GO) build -o ../../bin/netbench .

bench-network: netbench-bins
	bin/netbench $(ARGS)

bench-network-netem: netbench-bins
	bin/netbench --netem $(ARGS)

bench-network-test: netbench-bins
	cd tools/netbench && $(NETBENCH_ENV) $(GO) vet ./...
	cd tools/netbench && $(NETBENCH_ENV) $(GO) test -count=1 -timeout 15m ./...

# Unit, oracle and integration tests, plus the seed corpus of every fuzz
# target (go test runs testdata/fuzz/<Target>/* as ordinary test cases).
# The first stage skips RACE_PKGS: the third runs all their tests (not
# -short) under the race detector, which checks everything a plain run does.
test: vet
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -vE '^$(MODULE)/($(RACE_DIRS))(/|$$)')
	$(GO) test -count=1 -race -short -timeout 20m $(RACE_SHORT_PKGS)
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

# The interop suite (interop/celestia, a module of its own so mesh-node
# never links celestia-node): a devnet from this checkout driven through
# celestia-node v0.32.1's Go client over HTTP and WebSocket, every answer
# checked with Celestia's verifiers. celestia-node's forks need its replace
# directives, GONOSUMDB (some celestiaorg versions have no checksum database
# record) and -tags untested_go_version (pebble's swiss refuses Go 1.26
# without it). The first run downloads and builds celestia-node's
# dependencies (several minutes on 2 cores).
INTEROP_ENV := GONOSUMDB=github.com/celestiaorg GOFLAGS=-mod=mod
interop:
	cd interop/celestia && $(INTEROP_ENV) $(GO) vet -tags untested_go_version ./...
	cd interop/celestia && $(INTEROP_ENV) $(GO) test -count=1 -tags untested_go_version -timeout 20m ./...

# The Ethereum interop suite (interop/ethereum, a module of its own so
# that go-ethereum checks kzg/ from outside and its cgo backend stays out of
# mesh-node, where only execution/evm imports go-ethereum): openings made by kzg/ run through
# go-ethereum v1.17.10's point-evaluation precompile (core/vm), commitments
# and proofs compared with its crypto/kzg4844, on its Go backend and, with
# -tags ckzg, its C one (c-kzg-4844 and blst, compiled with cgo on the first
# run); and a devnet from this checkout whose light node's blob.GetKZG,
# OpenKZG and GetKZGCells answers are checked with go-ethereum and
# go-eth-kzg; and a devnet whose Blobstream attestations and SharesProofs
# run through Celestia's compiled Blobstream and DAVerifier contracts
# (testdata/blobstream) on go-ethereum's simulated backend (about 65 s
# once built). -mod=mod lets its go.mod follow the
# main module's, which it replaces with this checkout.
INTEROP_ETH_ENV := GOFLAGS=-mod=mod
interop-eth:
	cd interop/ethereum && $(INTEROP_ETH_ENV) $(GO) vet -tags ckzg ./...
	cd interop/ethereum && $(INTEROP_ETH_ENV) $(GO) test -count=1 -tags ckzg -timeout 10m ./...

# The kubo interop suite (interop/kubo, a module of its own): dataset/'s
# root CIDs against `ipfs add` of a stock kubo v0.43.1 with the
# unixfs-v1-2025 profile, and `ipfs dag export` against the CAR header plus
# the parts' sections (files of 0 B to 5 MiB, a directory tree, a HAMT
# directory). The first run builds kubo (about 4 minutes on 2 cores with a
# cold build cache) into the user cache directory
# (~/.cache/mesh-node/kubo-v0.43.1); later runs take about 10 s. KUBO_BIN
# names a kubo v0.43.1 binary to use instead.
INTEROP_KUBO_ENV := GOFLAGS=-mod=mod
interop-kubo:
	cd interop/kubo && $(INTEROP_KUBO_ENV) $(GO) vet ./...
	cd interop/kubo && $(INTEROP_KUBO_ENV) $(GO) test -count=1 -timeout 20m ./...

# The attacks of docs/security.md against a devnet in its own process
# (attack/, build tag "attack"): each test starts a devnet in a temporary
# home and stops it. Minutes, and a few GB of memory at peak.
attack:
	$(GO) test -tags attack -count=1 -v -timeout 30m ./attack/

vet:
	$(GO) vet ./...

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

# Data-layer benchmarks: ours against rsmt2d and the hashing+encoding floor,
# printed side by side with ratios, then the node benchmarks (bench-node)
# sampling and retrieval (bench-das), KZG (bench-kzg), datasets over
# IPFS (bench-dataset) and a rollup full node syncing from DataMesh
# (bench-rollup), and a proof-of-stake block (bench-staking). Record
# results in docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkExtendRoots' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 60m ./eds \
		| tee /dev/stderr | $(GO) run ./tools/benchtable
	$(MAKE) bench-node
	$(MAKE) bench-das
	$(MAKE) bench-kzg
	$(MAKE) bench-dataset
	$(MAKE) bench-rollup
	$(MAKE) bench-staking

# Light node: headers/s synced from one bridge over loopback (2,048 headers
# of k = 32 squares; each iteration a fresh node) and the resident memory
# of a mesh-node light process following the head (one process per
# iteration, about 40 s each, hence 1x). Record results in docs/benchmarks.md.
bench-node:
	$(GO) test -run '^$$' -bench 'BenchmarkLightSync' -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./nodebuilder
	$(GO) test -run '^$$' -bench 'BenchmarkLightFollowRSS' -benchtime 1x -count $(BENCH_COUNT) -timeout 30m ./nodebuilder

# Sampling and retrieval over loopback from one test bridge: a light node's
# sampling of one k = 32 header (16 samples; p50/p99 over 500 headers), its
# DASer catching up 1,000 headers (each iteration a fresh node), a full
# node's GetEDS through the getter against a raw libp2p stream between the
# same two hosts, and shrex's client-level pair at k = 128. Record results
# in docs/benchmarks.md.
bench-das:
	$(GO) test -run '^$$' -bench 'BenchmarkSampleHeader' -benchtime 500x -count $(BENCH_COUNT) -timeout 30m ./nodebuilder
	$(GO) test -run '^$$' -bench 'BenchmarkDASCatchUp' -benchtime 3x -count $(BENCH_COUNT) -timeout 30m ./nodebuilder
	$(GO) test -run '^$$' -bench 'BenchmarkGetEDSvsRaw' -benchmem -benchtime 20x -count $(BENCH_COUNT) -timeout 30m ./shrex/getter
	$(GO) test -run '^$$' -bench '^(BenchmarkGetEDS|BenchmarkStreamRaw)$$/k=128' -benchmem -benchtime 20x -count $(BENCH_COUNT) -timeout 30m ./shrex

# KZG (issue 15): commitment + blob proof of one full chunk through kzg/
# against go-eth-kzg called directly (ratio printed by benchtable), blob
# proof verification of 64 chunks in one batch, the 128 cells of a chunk,
# and ProcessProposal of a 7.3 MiB block of 64 KZG blobs against the same
# block without KZG. Record results in docs/benchmarks.md.
bench-kzg:
	$(GO) test -run '^$$' -bench 'BenchmarkCommitProof' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./kzg \
		| tee /dev/stderr | $(GO) run ./tools/benchtable
	$(GO) test -run '^$$' -bench 'BenchmarkVerifyBatch64|BenchmarkComputeCells' -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./kzg
	$(GO) test -run '^$$' -bench 'BenchmarkProcessProposalKZG' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./core/app

# Bridge ingest (fetch from an in-memory core node, square, extension, roots,
# header validation, atomic store) against extension + roots alone, and
# catch-up of 1,000 blocks. Record results in docs/benchmarks.md.
bench-bridge:
	$(GO) test -run '^$$' -bench 'BenchmarkIngest|BenchmarkCatchUp' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./core

# JSON-RPC calls over HTTP against a devnet in the benchmark process:
# blob.Submit until inclusion, blob.GetAll from the full and the light
# node, header.GetByHeight, share.SharesAvailable (p50/p99). Record results
# in docs/benchmarks.md.
bench-api:
	$(GO) test -run '^$$' -bench BenchmarkDevnetAPI -benchtime 200x -count 1 -timeout 30m ./cmd/mesh-node

# Datasets over IPFS against a devnet built from this checkout
# (interop/kubo, a stock kubo v0.43.1, built on first use): `dataset put`
# of 64 MiB in MB/s, then a fresh kubo fetching it from our full node
# (impl=ours) and from another kubo holding it (impl=kubo), with the ratio.
# About 4 minutes once kubo is built. Record results in docs/benchmarks.md.
bench-dataset:
	cd interop/kubo && $(INTEROP_KUBO_ENV) $(GO) test -run '^$$' -bench BenchmarkDatasetPut -benchtime 3x -count 1 -timeout 30m .
	(cd interop/kubo && $(INTEROP_KUBO_ENV) $(GO) test -run '^$$' -bench BenchmarkDatasetFetch -benchtime 10x -count 1 -timeout 30m .) \
		| tee /dev/stderr | $(GO) run ./tools/benchtable

# Rollup full node (issue 17) on a devnet built from this checkout: a
# sequencer posts a kv chain (60,000 sets) and an EVM chain (20,000 value
# transfers); a follower started from scratch syncs each from DataMesh
# alone (verified namespace reads and re-execution). Reports txs/s of the
# sync, exec-txs/s of re-execution alone, and the DA cost per transaction
# (DA-bytes/tx of blob, share-bytes/tx). About 2 minutes. Record results in
# docs/benchmarks.md.
bench-rollup:
	$(GO) test -run '^$$' -bench BenchmarkFollowerSync -benchtime 3x -count 1 -timeout 30m ./rollup

# A proof-of-stake block (issue 19): FinalizeBlock and Commit with 4
# validators and 100, 1,000 and 10,000 delegators each, 4 sends a block;
# the time should not grow with the number of delegators. About 1 minute.
# Record results in docs/benchmarks.md.
bench-staking:
	$(GO) test -run '^$$' -bench BenchmarkFinalizeBlockPoS -benchmem -benchtime 100x -count $(BENCH_COUNT) -timeout 30m ./core/app

# Runs every fuzz target for FUZZ_TIME each (go test fuzzes one target per run).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZ_TIME) $$pkg || exit 1; \
		done; \
	done
