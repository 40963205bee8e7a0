#!/usr/bin/env bash
# W1 against the hand-written loop in paired runs (issue 14): the ratio of speeds by CPU
# time and by wall time, median of N pairs (default 5).
#
# Each pair runs `hasim run benches/workloads/w1.toml` (10 million calls) and the hand
# loop (`benches/hand_loop`, via the `w1_baseline` bench target) for the same number of
# calls, one right after the other (hasim first in odd pairs, the loop first in even
# ones), so both see the machine in the same state. Both are built with the `fast`
# profile (Cargo.toml: fat LTO, one codegen unit), so neither side gets a better
# compiler setting. CPU time is user + system time of the
# whole process from GNU time (hasim's includes loading the scenario and writing its
# CSV files, which only counts against hasim); wall time likewise. On a shared machine
# trust the CPU-time ratio.
#
# Usage: benches/w1-paired.sh [PAIRS]   (W1_CALLS=1000000 with --set for a quick look:
# W1_SET="run.duration=69.444s" W1_CALLS=998132 benches/w1-paired.sh 3)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
if ! [ -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time) is required: apt-get install time" >&2
    exit 1
fi
pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    pin=(taskset -c 0)
fi
echo "building (profile fast: fat LTO, takes minutes)..." >&2
cargo build --profile fast --quiet
baseline=$(cargo bench --profile fast --bench w1_baseline --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*w1_baseline[^"]*"' | cut -d'"' -f4 | tail -n 1)
[ -n "$baseline" ] || { echo "error: could not build the w1_baseline bench target" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set_args=()
[ -n "${W1_SET:-}" ] && set_args=(--set "$W1_SET")

: >"$tmp/rows"
run_hasim() {
    "${pin[@]}" /usr/bin/time -f '%U %S %e %M' -o "$tmp/h.time" ./target/fast/hasim run \
        benches/workloads/w1.toml --no-plots --jobs 1 --out "$tmp/out" "${set_args[@]}" >"$tmp/h.out"
    calls=$(grep ' wall time: ' "$tmp/h.out" | tail -n 1 | sed -E 's/.*wall time: ([0-9,]+) calls.*/\1/' | tr -d ,)
}
run_loop() {
    W1_CALLS=${W1_CALLS:-$calls} "${pin[@]}" /usr/bin/time -f '%U %S %e' -o "$tmp/b.time" "$baseline" >"$tmp/b.out"
    bcalls=$(sed -E 's/^hand_loop: ([0-9]+) calls.*/\1/' "$tmp/b.out")
}
for i in $(seq 1 "$pairs"); do
    # Every other pair runs the hand loop first, so that a machine getting faster or
    # slower during a pair does not always favour the same side. (The loop takes its
    # number of calls from hasim's, known from the first pair on.)
    if [ $((i % 2)) -eq 1 ]; then
        run_hasim
        run_loop
    else
        run_loop
        run_hasim
    fi
    read -r hu hs he hm <"$tmp/h.time"
    read -r bu bs be <"$tmp/b.time"
    echo "$calls $hu $hs $he $bcalls $bu $bs $be" >>"$tmp/rows"
    echo "pair $i: hasim $calls calls ${hu}+${hs} s CPU ${he} s wall ${hm} KiB max RSS; hand loop $bcalls calls ${bu}+${bs} s CPU ${be} s wall" >&2
done

# Medians (of the per-pair figures) and the ratio hasim / hand loop in calls per second.
awk '
function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{ n++; hc[n] = ($2+$3); hw[n] = $4; bc[n] = ($6+$7); bw[n] = $8;
  rc[n] = ($1/hc[n]) / ($5/bc[n]); rw[n] = ($1/hw[n]) / ($5/bw[n]); calls = $1; bcalls = $5 }
END {
    printf "W1, %d pairs, medians: hasim %d calls in %.2f s CPU (%.0f calls/s), %.2f s wall (%.0f calls/s)\n", n, calls, median(hc, n), calls/median(hc, n), median(hw, n), calls/median(hw, n)
    printf "hand loop %d calls in %.2f s CPU (%.0f calls/s), %.2f s wall (%.0f calls/s)\n", bcalls, median(bc, n), bcalls/median(bc, n), median(bw, n), bcalls/median(bw, n)
    printf "hasim / hand loop, calls/s: CPU time %.3f, wall time %.3f (median of the %d paired ratios)\n", median(rc, n), median(rw, n), n
}' "$tmp/rows"
