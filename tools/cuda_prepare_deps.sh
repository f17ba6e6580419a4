#!/usr/bin/env bash
# Copies the header-only libraries, googletest's sources and the shared models the CUDA tests read that tools/cuda_device/CMakeLists.txt needs into
# .cuda_deps/ (git-ignored), so that the device tool's `carry` can take them to a GPU machine without them.
# It also fetches the Debian packages of the tokenizer / chat / engine layers' libraries (PCRE2, utf8proc,
# sentencepiece) with `apt-get download` and unpacks the parts needed to build and link into .cuda_deps/sysroot:
# static libpcre2-8.a and libutf8proc.a (no glibc version ties at run time), and libsentencepiece.so (Debian
# ships no static archive; it embeds protobuf-lite and needs only libc/libstdc++: glibc >= 2.34,
# GLIBCXX_3.4.29). tools/cuda_device/CMakeLists.txt checks that the .so runs there and else links a stub.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/.cuda_deps
grep -qx '/.cuda_deps/' "$root/.git/info/exclude" 2>/dev/null || echo '/.cuda_deps/' >> "$root/.git/info/exclude"
rm -rf "$deps" && mkdir -p "$deps/include"
cp -r /usr/include/fmt /usr/include/nlohmann /usr/include/CLI "$deps/include/"
cp -r /usr/src/googletest "$deps/googletest"
mkdir -p "$deps/shared/models" && cp -r "$root/../shared/models/stories260K-hf" "$deps/shared/models/"

sysroot=$deps/sysroot
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
(cd "$debs" && apt-get download libpcre2-dev libutf8proc-dev libsentencepiece-dev libsentencepiece0 2>&1 |
  { grep -v "^W: Download is performed unsandboxed" || true; })
mkdir -p "$debs/x"
for f in "$debs"/*.deb; do dpkg -x "$f" "$debs/x"; done
lib=usr/lib/x86_64-linux-gnu
mkdir -p "$sysroot/usr/include" "$sysroot/$lib"
cp "$debs/x/usr/include/"{pcre2.h,utf8proc.h,sentencepiece_processor.h} "$sysroot/usr/include/"
cp "$debs/x/$lib/"{libpcre2-8.a,libutf8proc.a} "$sysroot/$lib/"
# One plain file under its SONAME (symbolic links are best left out of what the device tool carries).
cp -L "$debs/x/$lib/libsentencepiece.so.0" "$sysroot/$lib/"
# The shared library must need nothing beyond the C/C++ runtime (no libprotobuf): the GPU machine has no more.
if objdump -p "$sysroot/$lib/libsentencepiece.so.0" | grep NEEDED | grep -vE "libstdc\+\+|libm\.|libgcc_s|libc\.|ld-linux"; then
  echo "libsentencepiece.so needs more than the C/C++ runtime (above)" >&2
  exit 1
fi
ls -l "$sysroot/usr/include" "$sysroot/$lib"
du -sh "$deps"
