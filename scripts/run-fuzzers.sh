#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan + UBSan) and runs each for a few seconds; an input that takes
# over 10 s (a hang) counts as a crash.
# Usage: scripts/run-fuzzers.sh [seconds-per-target]   (default 20)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build="$root/build-fuzz"
# Library code is instrumented too (sanitizers + coverage), so the fuzzers see inside the parsers.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTURBOLM_CUDA=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DTURBOLM_BUILD_FUZZERS=ON \
  -DTURBOLM_BUILD_TESTS=OFF -DTURBOLM_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
targets=$(ninja -C "$build" -t targets all | grep -o "^turbolm_[a-z_]*_fuzz:" | tr -d : | sort -u)
[ -n "$targets" ] || { echo "run-fuzzers: no fuzz targets"; exit 0; }
ninja -C "$build" $targets
for t in $targets; do
  corpus="$root/fuzz/corpus/${t#turbolm_}"
  mkdir -p "$build/corpus/$t"
  echo "run-fuzzers: $t for ${seconds}s"
  "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$build/corpus/$t" $( [ -d "$corpus" ] && echo "$corpus" ) 2>&1 | tail -n 4
done
echo "run-fuzzers: all targets ran without a crash"
