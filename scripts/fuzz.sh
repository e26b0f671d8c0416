#!/usr/bin/env bash
# Fuzz every parser entry point with AFL++ (coverage-guided, stable Rust):
# fuzz/src/bin/pipeline.rs. Seeds are cut from the corpus.
#
#   scripts/fuzz.sh [SECONDS]      (default 600)
#
# Exits non-zero if a crash was found; crashing inputs are under
# fuzz/out/default/crashes (add each as a regression test).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
command -v cargo-afl >/dev/null || cargo install cargo-afl --locked
cargo afl build --release --quiet
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
# A fresh run each time; the seeds are committed.
rm -rf out
cargo afl fuzz -i seeds -o out -V "$secs" target/release/pipeline >out.log 2>&1 || true
grep -E "execs_done|execs_per_sec|saved_crashes|saved_hangs|corpus_count" out/default/fuzzer_stats
crashes=$(find out/default/crashes -type f ! -name README.txt | wc -l)
if [ "$crashes" -gt 0 ]; then
    echo "fuzz: $crashes crashing inputs in fuzz/out/default/crashes" >&2
    exit 1
fi
