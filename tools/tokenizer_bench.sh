#!/usr/bin/env bash
# Encode throughput, turbolm vs HF tokenizers, one thread each, same text, same machine, one run.
# Usage: tools/tokenizer_bench.sh [build-dir] [python]   (defaults: build-tok, /work/venv/bin/python)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-tok}
python=${2:-/work/venv/bin/python}
shared=$root/../shared
text=$shared/text/wikitext-2-raw_wiki.test.raw
for model in tokenizers/qwen3 tokenizers/mistral; do
  echo "== $model on $(basename "$text")"
  taskset -c 0 "$build/bench/turbolm_tokenizer_bench" "$shared/$model" "$text" 3
  taskset -c 0 "$python" "$root/tools/tokenizer_bench_hf.py" "$shared/$model/tokenizer.json" "$text" 3
done
