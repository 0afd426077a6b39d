# DataMesh mesh-node. `make test` is the test command CI runs (.ci/run).
GO          ?= go
GOBIN       ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION := v0.7.0
# Packages whose code runs goroutines; their tests also run under -race:
# with -short, the data layer (its k = 256 oracle comparisons are slow under
# the race detector) and nodebuilder (its 2,000-block chain and five-node
# network tests, run without -race above; its other multi-node tests run
# under -race); the other node packages in full (their in-process CometBFT
# tests are where the concurrency is).
RACE_SHORT_PKGS := ./eds/... ./nmt/... ./nodebuilder/...
RACE_PKGS       := ./header/... ./core/... ./cmd/... ./p2p/... ./shrex/... ./das/... ./internal/...
BENCH_COUNT ?= 3
BENCH_TIME  ?= 5x
FUZZ_TIME   ?= 30s

.PHONY: all build test vet lint bench bench-bridge bench-node fuzz

all: build test

build:
	$(GO) build ./...
	$(GO) build -o bin/mesh-node ./cmd/mesh-node

# Unit, oracle and integration tests, plus the seed corpus of every fuzz
# target (go test runs testdata/fuzz/<Target>/* as ordinary test cases).
test: vet
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -short -timeout 20m $(RACE_SHORT_PKGS)
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

vet:
	$(GO) vet ./...

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

# Data-layer benchmarks: ours against rsmt2d and the hashing+encoding floor,
# printed side by side with ratios, then the node benchmarks (bench-node).
# Record results in docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkExtendRoots' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 60m ./eds \
		| tee /dev/stderr | $(GO) run ./tools/benchtable
	$(MAKE) bench-node

# Light node: headers/s synced from one bridge over loopback (2,048 headers
# of k = 32 squares; each iteration a fresh node) and the resident memory
# of a mesh-node light process following the head (one process per
# iteration, about 40 s each, hence 1x). Record results in docs/benchmarks.md.
bench-node:
	$(GO) test -run '^$$' -bench 'BenchmarkLightSync' -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./nodebuilder
	$(GO) test -run '^$$' -bench 'BenchmarkLightFollowRSS' -benchtime 1x -count $(BENCH_COUNT) -timeout 30m ./nodebuilder

# Bridge ingest (fetch from an in-memory core node, square, extension, roots,
# header validation, atomic store) against extension + roots alone, and
# catch-up of 1,000 blocks. Record results in docs/benchmarks.md.
bench-bridge:
	$(GO) test -run '^$$' -bench 'BenchmarkIngest|BenchmarkCatchUp' -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) -timeout 30m ./core

# Runs every fuzz target for FUZZ_TIME each (go test fuzzes one target per run).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZ_TIME) $$pkg || exit 1; \
		done; \
	done
