#!/bin/sh
# Cache misses of the fleet workload (issue 8), counted rather than timed: wall time on
# a shared machine moves by tens of percent, cachegrind's counts do not move at all.
#
#   benches/fleet-cachegrind.sh [SERVERS] [CALLS] [BINARY]
#
# Runs `hasim run benches/workloads/fleet.toml` scaled as `benches/fleet.rs` scales it
# (200 calls/s per server, the first 5% crashed from 25% to 75% of the run, the next
# 10% ten times slower from 40% to 80%), 100 client instances (`FLEET_INSTANCES`
# changes that), for about CALLS calls (default 200,000), under
# `valgrind --tool=cachegrind --cache-sim=yes` with a 2 MB last-level cache (about this
# machine's per-core L2; `FLEET_LL` changes it), and prints the totals: instructions,
# D1 misses and last-level data misses. The run includes building the world (100 x
# SERVERS endpoint states) and dropping it: take the difference of two sizes for the
# cost per call. BINARY defaults to target/release/hasim (build it first).
set -eu
servers=${1:-1000}
calls=${2:-200000}
bin=${3:-target/release/hasim}
instances=${FLEET_INSTANCES:-100}
ll=${FLEET_LL:-2097152,16,64}
root=$(cd "$(dirname "$0")/.." && pwd)
rate=$((200 * servers))
secs=$(awk "BEGIN { printf \"%.6f\", $calls / $rate }")
at() { awk "BEGIN { printf \"%.6fs\", $secs * $1 }"; }
crashed=$((servers / 20)); [ "$crashed" -lt 1 ] && crashed=1
slowed=$((servers / 10)); [ "$slowed" -lt 1 ] && slowed=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=cachegrind --cache-sim=yes --LL="$ll" --cachegrind-out-file=/dev/null \
    "$bin" run "$root/benches/workloads/fleet.toml" --no-plots --force --jobs 1 \
    --out "$out/run" \
    --set "run.duration=${secs}s" --set "servers.api.count=$servers" \
    --set "clients.web.instances=$instances" --set "clients.web.arrival.rate=$rate" \
    --set "faults.0.target=\"api[0..$crashed]\"" --set "faults.0.at=$(at 0.25)" \
    --set "faults.0.duration=$(at 0.5)" \
    --set "faults.1.target=\"api[$crashed..$((crashed + slowed))]\"" \
    --set "faults.1.at=$(at 0.4)" --set "faults.1.duration=$(at 0.4)" 2>&1 |
    grep -E 'calls,|I +refs|D1 +misses|LLd misses'
