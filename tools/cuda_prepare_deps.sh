#!/usr/bin/env bash
# Copies the header-only libraries, googletest's sources and the shared models the CUDA tests read that tools/cuda_device/CMakeLists.txt needs into
# .cuda_deps/ (git-ignored), so that the device tool's `carry` can take them to a GPU machine without them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/.cuda_deps
grep -qx '/.cuda_deps/' "$root/.git/info/exclude" 2>/dev/null || echo '/.cuda_deps/' >> "$root/.git/info/exclude"
rm -rf "$deps" && mkdir -p "$deps/include"
cp -r /usr/include/fmt /usr/include/nlohmann "$deps/include/"
cp -r /usr/src/googletest "$deps/googletest"
mkdir -p "$deps/shared/models" && cp -r "$root/../shared/models/stories260K-hf" "$deps/shared/models/"
du -sh "$deps"
