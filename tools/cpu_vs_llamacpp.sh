#!/usr/bin/env bash
# CPU decode / prefill, turbolm against llama.cpp on the same model, interleaved round by round so both see the
# same memory bandwidth (on shared VMs it moves by +-30% from minute to minute; numbers from different minutes
# do not compare). llama.cpp comes from PyPI as the llama-cpp-python source package (its vendor/llama.cpp tree):
# its llama-bench is built, and its converter writes the model as a bf16 GGUF. Nothing else is downloaded.
#
# Usage: tools/cpu_vs_llamacpp.sh MODEL_DIR [ROUNDS] [THREADS]
#   MODEL_DIR  a Hugging Face folder, e.g. from tools/make_random_model.py --preset qwen3-0.6b
#   ROUNDS     interleaved rounds (default 5), THREADS (default 2)
# Environment: TURBOLM_BUILD (default build-cpu), PYTHON (a venv with torch, numpy, sentencepiece; default
#   /work/venv/bin/python), LLAMACPP_DIR (default build-llamacpp, git-ignored), TOKENIZER_DIR (tokenizer files the
#   converter needs when MODEL_DIR has none; default ../shared/tokenizers/qwen3).
# Prints one line per round and the medians; prefill = 128-token prompt, decode = 64 tokens (llama-bench pp128 /
# tg64; turbolm bench latency --input-len 128 --output-len 64).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=$(cd "${1:?usage: tools/cpu_vs_llamacpp.sh MODEL_DIR [ROUNDS] [THREADS]}" && pwd)
rounds=${2:-5}
threads=${3:-2}
build=${TURBOLM_BUILD:-$root/build-cpu}
python=${PYTHON:-/work/venv/bin/python}
work=${LLAMACPP_DIR:-$root/build-llamacpp}
tokenizer=${TOKENIZER_DIR:-$root/../shared/tokenizers/qwen3}
turbolm=$build/bin/turbolm
[[ -x $turbolm ]] || { echo "error: $turbolm not built (scripts/test.sh or cmake --build $build)" >&2; exit 1; }

mkdir -p "$work"
src=$(find "$work" -maxdepth 3 -type d -path "*/vendor/llama.cpp" 2> /dev/null | head -1)
if [[ -z $src ]]; then
  echo "== fetching llama-cpp-python (source package) from PyPI" >&2
  "$python" -m pip download --no-deps --no-binary :all: --dest "$work" llama-cpp-python >&2
  tar -xzf "$(ls "$work"/llama_cpp_python-*.tar.gz | head -1)" -C "$work"
  src=$(find "$work" -maxdepth 3 -type d -path "*/vendor/llama.cpp" | head -1)
fi
bench=$src/build/bin/llama-bench
if [[ ! -x $bench ]]; then
  echo "== building llama-bench (CPU, native ISA) from $src" >&2
  cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF > /dev/null
  ninja -C "$src/build" llama-bench > /dev/null
fi

gguf=$work/$(basename "$model")-bf16.gguf
if [[ ! -f $gguf ]]; then
  echo "== converting $model to $gguf" >&2
  staged=$work/$(basename "$model")-hf
  mkdir -p "$staged"
  for f in "$model"/*; do ln -sf "$f" "$staged/"; done
  for f in "$tokenizer"/*; do [[ -e $staged/$(basename "$f") ]] || ln -sf "$f" "$staged/"; done
  PYTHONPATH=$src/gguf-py "$python" "$src/convert_hf_to_gguf.py" "$staged" --outtype bf16 --outfile "$gguf" > /dev/null 2>&1
fi

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $threads threads; model $model"
echo "round | llama.cpp pp128 | llama.cpp tg64 | turbolm prefill 128 | turbolm decode 64 | turbolm read probe GB/s"
results=()
for ((r = 1; r <= rounds; ++r)); do
  lc=$("$bench" -m "$gguf" -t "$threads" -p 128 -n 64 -r 3 -o csv 2> /dev/null)
  # llama-bench CSV: the last two columns are avg_ts and stddev_ts; rows pp128 (n_prompt 128) then tg64.
  lpp=$(echo "$lc" | sed -n 2p | awk -F, '{gsub(/"/, ""); print $(NF-1)}')
  ltg=$(echo "$lc" | sed -n 3p | awk -F, '{gsub(/"/, ""); print $(NF-1)}')
  tl=$(TURBOLM_NUM_THREADS=$threads "$turbolm" bench latency --model "$model" --input-len 128 --output-len 64 \
    --repeat 3 2> /dev/null)
  tpp=$(echo "$tl" | sed -n 's/^prefill .*: \([0-9.]*\) tok\/s.*/\1/p')
  ttg=$(echo "$tl" | sed -n 's/^decode  .*: \([0-9.]*\) tok\/s.*/\1/p')
  probe=$(echo "$tl" | sed -n 's/.*of the measured \([0-9.]*\) GB\/s.*/\1/p')
  printf "%d | %.1f | %.2f | %.1f | %.2f | %s\n" "$r" "$lpp" "$ltg" "$tpp" "$ttg" "$probe"
  results+=("$lpp $ltg $tpp $ttg")
done
printf "%s\n" "${results[@]}" | "$python" -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
med = [statistics.median(c) for c in zip(*rows)]
print("median | %.1f | %.2f | %.1f | %.2f |" % tuple(med))
print("turbolm / llama.cpp: prefill %.2fx, decode %.2fx (medians of %d interleaved rounds)" % (med[2] / med[0], med[3] / med[1], len(rows)))
'
