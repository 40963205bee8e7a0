#!/usr/bin/env bash
# Compares the CPU time of several hasim binaries on the same command, in rotated
# rounds on one core: the method every speed decision since stop 24 was made with
# (benches/README.md). On this shared machine, runs of one binary minutes apart
# differ by 10-40%, so only ratios taken within a round mean anything; rotating the
# order (forwards in even rounds, backwards in odd ones) keeps a machine that speeds
# up or slows down during a round from always favouring the same binary.
#
# Usage: benches/rotate.sh [-n ROUNDS] BASE OTHER... -- HASIM-ARGS...
#   e.g. cp target/fast/hasim /tmp/base; (change, rebuild); cp /tmp/base /tmp/base2
#        benches/rotate.sh -n 11 /tmp/base target/fast/hasim /tmp/base2 -- \
#            run benches/workloads/w1.toml --no-plots --jobs 1 --set run.duration=347s
#
# Each binary writes to a folder of its own (the script adds `--force --out DIR`).
# Prints, per binary, the median CPU time (user + system, GNU time) and the median
# of its per-round ratios to BASE. Pass an identical copy of BASE as one of the
# others: its ratio is the noise floor of that set (0.95-1.05 here is common). GNU
# time counts in hundredths of a second, so make each run last a second or more.
set -euo pipefail
rounds=9
if [ "${1:-}" = "-n" ]; then
    rounds=$2
    shift 2
fi
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    bins+=("$1")
    shift
done
if [ $# -eq 0 ] || [ ${#bins[@]} -lt 2 ]; then
    echo "usage: benches/rotate.sh [-n ROUNDS] BASE OTHER... -- HASIM-ARGS..." >&2
    exit 2
fi
shift
if ! [ -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time) is required: apt-get install time" >&2
    exit 1
fi
for b in "${bins[@]}"; do
    [ -x "$b" ] || { echo "error: $b is not an executable" >&2; exit 1; }
done
pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 1 true 2>/dev/null; then
    pin=(taskset -c 1)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=${#bins[@]}
for r in $(seq 0 $((rounds - 1))); do
    order=$(seq 0 $((n - 1)))
    [ $((r % 2)) -eq 1 ] && order=$(seq $((n - 1)) -1 0)
    for i in $order; do
        "${pin[@]}" /usr/bin/time -f '%U %S' -o "$tmp/t" "${bins[$i]}" "$@" --force \
            --out "$tmp/out$i" >/dev/null 2>"$tmp/err" || {
            echo "error: ${bins[$i]} failed:" >&2
            cat "$tmp/err" >&2
            exit 1
        }
        read -r u s <"$tmp/t"
        echo "$r $i $u $s" >>"$tmp/rows"
    done
    echo "round $((r + 1)) of $rounds done" >&2
done
# Per binary: the median CPU time and the median of the per-round ratios to BASE.
awk -v n="$n" '
function median(a, k,   i, j, t) {
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return (k % 2) ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2
}
{ t[$1, $2] = $3 + $4; if ($1 + 1 > rounds) rounds = $1 + 1 }
END {
    for (i = 0; i < n; i++) {
        for (r = 0; r < rounds; r++) { cpu[r+1] = t[r, i]; ratio[r+1] = t[r, i] / t[r, 0] }
        printf "%d %.3f %.3f\n", i, median(cpu, rounds), median(ratio, rounds)
    }
}' "$tmp/rows" | while read -r i cpu ratio; do
    printf '%s: median %s s CPU, ratio to the first %s (%d rounds)\n' "${bins[$i]}" "$cpu" "$ratio" "$rounds"
done
