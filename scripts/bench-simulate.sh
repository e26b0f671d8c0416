#!/usr/bin/env bash
# Benchmark `oomctl simulate --over-time` on a node-day of samples: a
# recording of CGROUPS cgroups sampled every second for HOURS hours
# (scripts/gen-samples.py: 200 × 24 h is 17.3 M samples, 2.2 GB, ~17,600
# OOMs), judged with one setting and with the default --sweep (8 settings).
# Prints the wall time (best of 3), samples per second, and the peak RSS,
# which must not grow with the recording: half the hours must give the
# same RSS.
#
#   scripts/bench-simulate.sh [CGROUPS] [HOURS]   (default 200 24)
set -euo pipefail
cd "$(dirname "$0")/.."
cgroups=${1:-200}
hours=${2:-24}
work=${BENCH_DIR:-/tmp/oomctl-bench}
mkdir -p "$work"
cargo build --release --quiet
bin=target/release/oomctl
rec=$work/day-$cgroups-$hours.rec
half=$work/day-$cgroups-$(echo "$hours / 2" | bc -l | sed 's/\.*0*$//').rec
[ -s "$rec" ] || python3 scripts/gen-samples.py --cgroups "$cgroups" --hours "$hours" -o "$rec" 2>/dev/null
[ -s "$half" ] || python3 scripts/gen-samples.py --cgroups "$cgroups" --hours "$(echo "$hours / 2" | bc -l)" -o "$half" 2>/dev/null
samples=$(( cgroups * hours * 3600 ))
bytes=$(stat -c %s "$rec")

run() { # best wall time of 3 runs and the peak RSS (KiB) of "$@"
    local best=999999 rss=0 t m
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out"
        read -r t m <"$work/time"
        best=$(awk -v a="$t" -v b="$best" 'BEGIN{print (a < b) ? a : b}')
        rss=$(( m > rss ? m : rss ))
    done
    echo "$best $rss"
}

echo "recording: $cgroups cgroups × $hours h at 1 s: $samples samples, $(( bytes / 1048576 )) MiB"
read -r t1 r1 < <(run "$bin" simulate --over-time -f jsonl "$rec")
rows=$(wc -l <"$work/out")
read -r t8 r8 < <(run "$bin" simulate --over-time --sweep -f jsonl "$rec")
read -r th rh < <(run "$bin" simulate --over-time -f jsonl "$half")
awk -v t="$t1" -v n="$samples" -v r="$r1" -v rows="$rows" \
    'BEGIN{printf "one setting:   %.2f s, %.1f M samples/s, peak RSS %.1f MiB, %d outcomes\n", t, n/t/1e6, r/1024, rows}'
awk -v t="$t8" -v n="$samples" -v r="$r8" \
    'BEGIN{printf "--sweep (8):   %.2f s, %.1f M samples/s, peak RSS %.1f MiB\n", t, n/t/1e6, r/1024}'
awk -v t="$th" -v r="$rh" -v h="$hours" \
    'BEGIN{printf "half the hours (%g h): %.2f s, peak RSS %.1f MiB\n", h/2, t, r/1024}'
