#!/usr/bin/env bash
# Speed and memory of workload W1 (issue 2), with a same-run baseline.
#
# Builds the release binary, runs `hasim run benches/workloads/w1.toml` at 1 million
# and 10 million calls under `/usr/bin/time -v`, and prints for each the calls/s (calls
# / wall time, both from the binary's timing line, which times the simulation only)
# and the maximum resident set size. Then it runs the hand-written W1 loop
# (`cargo bench --bench w1_baseline`) at 10 million calls in the same way, so hasim's
# speed can be read as a ratio to a baseline measured moments apart on the same
# machine: on a shared, noisy machine the ratio is the figure to trust.
#
# Memory must not grow with the number of calls: the RSS ratio 10M/1M should be
# close to 1. The recorder keeps one latency histogram (about 20 KiB) per 10 s window
# of simulated time, so 10M calls (70 windows) hold about 1 MiB more than 1M calls
# (7 windows). To tell that apart from growth per call, a third run does 10M calls
# with `run.window=100s`, i.e. the 1M run's 7 windows: its RSS should match the 1M
# run's.
#
# Everything is pinned to one core with `taskset -c 0` when available.
# Usage: benches/w1-memory.sh   (from anywhere; it works from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! [ -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time, for -v) is required: apt-get install time" >&2
    exit 1
fi
pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    pin=(taskset -c 0)
else
    echo "note: taskset not available, runs are not pinned to one core" >&2
fi

echo "building (release)..." >&2
cargo build --release --quiet
baseline=$(cargo bench --bench w1_baseline --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*w1_baseline[^"]*"' | cut -d'"' -f4 | tail -n 1)
if [ -z "$baseline" ]; then
    echo "error: could not build the w1_baseline bench target" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# max_rss_kib TIME_FILE: the "Maximum resident set size (kbytes)" of a `time -v` report.
max_rss_kib() {
    sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"
}

# run_hasim LABEL [--set ...]: prints "calls wall_s max_rss_kib".
run_hasim() {
    local label=$1
    shift
    "${pin[@]}" /usr/bin/time -v -o "$tmp/$label.time" \
        ./target/release/hasim run benches/workloads/w1.toml --no-plots --jobs 1 \
        --out "$tmp/$label" "$@" >"$tmp/$label.out"
    # "1 run(s) in 3.95 s wall time: 9,998,870 calls, 39,995,… events, … M events/s"
    local line
    line=$(grep ' wall time: ' "$tmp/$label.out" | tail -n 1)
    local wall calls
    wall=$(sed -E 's/.* in ([0-9.]+) s wall time.*/\1/' <<<"$line")
    calls=$(sed -E 's/.*wall time: ([0-9,]+) calls.*/\1/' <<<"$line" | tr -d ,)
    echo "$calls $wall $(max_rss_kib "$tmp/$label.time")"
}

# run_baseline CALLS: prints "calls wall_s max_rss_kib".
run_baseline() {
    W1_CALLS=$1 "${pin[@]}" /usr/bin/time -v -o "$tmp/hand.time" "$baseline" >"$tmp/hand.out"
    # "hand_loop: 10000000 calls, 40000000 events in 2.123 s wall time: … calls/s …"
    local line
    line=$(grep '^hand_loop: ' "$tmp/hand.out")
    local calls wall
    calls=$(sed -E 's/^hand_loop: ([0-9]+) calls.*/\1/' <<<"$line")
    wall=$(sed -E 's/.* in ([0-9.]+) s wall time.*/\1/' <<<"$line")
    echo "$calls $wall $(max_rss_kib "$tmp/hand.time")"
}

echo "running W1 with hasim at 1M, 10M, 10M with 7 windows, then the hand loop at 10M..." >&2
read -r c1 w1 r1 < <(run_hasim 1m --set run.duration=69.444s)
read -r c10 w10 r10 < <(run_hasim 10m)
read -r cw ww rw < <(run_hasim 10m-7windows --set run.window=100s)
read -r ch wh rh < <(run_baseline 10000000)

awk -v c1="$c1" -v w1="$w1" -v r1="$r1" -v c10="$c10" -v w10="$w10" -v r10="$r10" \
    -v cw="$cw" -v ww="$ww" -v rw="$rw" -v ch="$ch" -v wh="$wh" -v rh="$rh" 'BEGIN {
    printf "%-24s %12s %9s %14s %12s\n", "run", "calls", "wall s", "calls/s", "max RSS MiB"
    printf "%-24s %12d %9.2f %14.0f %12.1f\n", "hasim W1 1M", c1, w1, c1 / w1, r1 / 1024
    printf "%-24s %12d %9.2f %14.0f %12.1f\n", "hasim W1 10M", c10, w10, c10 / w10, r10 / 1024
    printf "%-24s %12d %9.2f %14.0f %12.1f\n", "hasim W1 10M, 7 windows", cw, ww, cw / ww, rw / 1024
    printf "%-24s %12d %9.3f %14.0f %12.1f\n", "hand loop W1 10M", ch, wh, ch / wh, rh / 1024
    printf "hasim / hand loop calls/s at 10M: %.3f\n", (c10 / w10) / (ch / wh)
    printf "hasim max RSS 10M / 1M: %.3f (with the 1M run\x27s 7 windows: %.3f)\n", r10 / r1, rw / r1
}'
