#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, builds (the CUDA backend too when nvcc is
# present; its tests skip without a GPU), runs the libFuzzer targets briefly, then every unit and e2e test.
# Usage: scripts/test.sh            (CI runs exactly this through .ci/run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURBOLM_CUDA=AUTO
ninja -C build -j"$jobs"
scripts/run-fuzzers.sh "${TURBOLM_FUZZ_SECONDS:-15}"
ctest --test-dir build --output-on-failure -j"$jobs"
