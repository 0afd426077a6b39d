#!/usr/bin/env bash
# Sustained throughput and soak of a devnet (issue 20): `mesh-node devnet`
# with squares up to 256 wide, a second light node in a process of its own
# (so its RSS is its own), and tools/loadgen submitting blobs through the
# devnet's light, full and bridge nodes for DURATION, then reading every
# blob back. Everything it starts is stopped, and its temporary directory
# removed (KEEP=1 keeps it), on every exit.
#
#   make bench-throughput                       # 10 minutes at 16 MB/s
#   make soak                                   # 30 minutes, RSS growth after 5
#   DURATION=2m RATE=8 make bench-throughput    # any of the settings below
set -euo pipefail

DURATION=${DURATION:-10m}
WARMUP=${WARMUP:-0}
RATE=${RATE:-16}
SIZES=${SIZES:-fixed:4M}
CONCURRENCY=${CONCURRENCY:-24}
NAMESPACES=${NAMESPACES:-8}
BLOCK_TIME=${BLOCK_TIME:-1s}
SQUARE=${SQUARE:-256}
MAX_BLOB=${MAX_BLOB:-8388608}
OUT=${OUT:-throughput}
BIN=${BIN:-bin}
PPROF=${PPROF:-} # host:port: serve the devnet process's Go profiles there
LIGHT_PPROF=${LIGHT_PPROF:-} # host:port: serve the separate light node's Go profiles there
LOG_LEVEL=${LOG_LEVEL:-warn} # the devnet's --log.level (info shows CometBFT's steps per height)
DISK_PER_BYTE=${DISK_PER_BYTE:-10} # disk the run may take per byte of blob data (see below)
# The core node keeps only its last RETAIN_BLOCKS blocks (devnet
# --retain-blocks; 0: all) and the full node its squares for FULL_WINDOW
# (devnet --full.availability-window; empty: 7 days). The bridge keeps
# every square of the run, and loadgen reads every blob back through it
# (the first bridge or full node it watches, by name), so nothing pruned
# elsewhere goes unchecked.
RETAIN_BLOCKS=${RETAIN_BLOCKS:-0}
FULL_WINDOW=${FULL_WINDOW:-}

die() { echo "throughput: $*" >&2; exit 1; }
[ -x "$BIN/mesh-node" ] || die "$BIN/mesh-node not built (make build)"
[ -x "$BIN/loadgen" ] || die "$BIN/loadgen not built (make loadgen-build)"

work=$(mktemp -d "${TMPDIR:-/tmp}/mesh-throughput.XXXXXX")
# The devnet kept 9.4 bytes on disk per byte of blob data in the soak of
# docs/benchmarks.md (1.9 MB blobs in squares mostly padding: CometBFT's
# block store, transaction index and WAL, the bridge's and the full node's
# squares) and 3.2-3.9 with full k = 256 squares of 4 MB blobs; with
# RETAIN_BLOCKS and FULL_WINDOW only the bridge grows with the run (1.1):
# refuse a run that would fill the disk, counting DISK_PER_BYTE (10).
secs=$(python3 -c 'import re,sys; d=sys.argv[1]; m={"s":1,"m":60,"h":3600}; print(int(sum(float(v)*m[u] for v,u in re.findall(r"([0-9.]+)([smh])", d))))' "$DURATION")
need=$(python3 -c "print(int(float('$RATE') * 1e6 * $secs * float('$DISK_PER_BYTE')))")
free=$(($(df -Pk "$(dirname "$work")" | awk 'NR==2 {print $4}') * 1024))
if [ "$need" -gt "$free" ]; then
	rmdir "$work"
	die "a run of $DURATION at $RATE MB/s needs about $((need / 1000000000)) GB of disk in $(dirname "$work"), $((free / 1000000000)) GB are free (lower RATE or DURATION, or set TMPDIR)"
fi
pids=()
cleanup() {
	local rc=$?
	if [ -n "${disk_pid:-}" ]; then kill "$disk_pid" 2>/dev/null || true; fi
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
	done
	# What the run left on disk, per home: the nodes keep every block
	# and square (several times the blob data, see docs/benchmarks.md).
	du -sh "$work"/devnet/core "$work"/devnet/bridge "$work"/devnet/full "$work"/devnet/light "$work"/light 2>/dev/null | sed 's/^/throughput: disk /' >&2 || true
	if [ "${KEEP:-0}" = 1 ]; then echo "throughput: kept $work" >&2; else rm -rf "$work"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# waitfor FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
waitfor() {
	for _ in $(seq $(($3 * 5))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	tail -20 "$1" >&2
	die "no '$2' in $1 after $3 s"
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$BIN/mesh-node" devnet --home "$work/devnet" --base-port 0 --block-time "$BLOCK_TIME" --metrics \
	--max-square-size "$SQUARE" --max-blob-size "$MAX_BLOB" --log.level "$LOG_LEVEL" ${PPROF:+--pprof "$PPROF"} \
	--retain-blocks "$RETAIN_BLOCKS" ${FULL_WINDOW:+--full.availability-window "$FULL_WINDOW"} >"$work/devnet.log" 2>&1 &
pids+=($!)
waitfor "$work/devnet.log" "devnet ready" 120

peers=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join(d["nodes"]["bridge"]["p2p"][:1]+d["nodes"]["full"]["p2p"][:1]))' "$work/devnet/devnet.json")
chain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chain_id"])' "$work/devnet/devnet.json")
rpc=$(freeport)
metrics=$(freeport)
"$BIN/mesh-node" light init --home "$work/light" --chain-id "$chain" --bootstrap "$peers" \
	--rpc.port "$rpc" --metrics.addr "127.0.0.1:$metrics" --p2p.listen /ip4/127.0.0.1/tcp/0 \
	--log.level warn >"$work/light-init.log"
token=$("$BIN/mesh-node" light auth admin --home "$work/light") # node.Info, for its mode, needs admin
"$BIN/mesh-node" light start --home "$work/light" ${LIGHT_PPROF:+--pprof "$LIGHT_PPROF"} >"$work/light.log" 2>&1 &
pids+=($!)
waitfor "$work/light.log" "peer_id:" 120

# The nodes' disk every DISK_EVERY seconds (30), to OUT-disk.tsv: seconds
# since the load began, then kB for core, bridge, full and light.
disk_log="$OUT-disk.tsv"
printf 't_s\tcore_kB\tbridge_kB\tfull_kB\tlight_kB\n' >"$disk_log"
(
	t0=$(date +%s)
	while sleep "${DISK_EVERY:-30}"; do
		row=$(for d in core bridge full light; do du -sk "$work/devnet/$d" 2>/dev/null | cut -f1; done | paste -sd '\t')
		printf '%s\t%s\n' $(($(date +%s) - t0)) "$row" >>"$disk_log"
	done
) &
disk_pid=$!

warm=()
[ "$WARMUP" != 0 ] && warm=(--warmup "$WARMUP")
"$BIN/loadgen" --devnet "$work/devnet" --submit-node light,full,bridge \
	--watch "light-own-process=http://127.0.0.1:$rpc,$token,http://127.0.0.1:$metrics/metrics" \
	--rate "$RATE" --sizes "$SIZES" --namespaces "$NAMESPACES" --concurrency "$CONCURRENCY" \
	--duration "$DURATION" "${warm[@]}" --out "$OUT"
