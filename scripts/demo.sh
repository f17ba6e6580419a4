#!/usr/bin/env bash
# turbolm's first command: installs the build dependencies (Debian packages), builds turbolm, and runs it on the
# small model that ships inside the repository (models/default) -- nothing is downloaded but Debian packages.
# Usage: scripts/demo.sh            (from anywhere; builds into build/ of the repository)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${TURBOLM_BUILD_DIR:-build}"
model="models/default"
bin="$build/bin/turbolm"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "1/3 Installing dependencies (scripts/install-deps.sh)"
scripts/install-deps.sh

say "2/3 Building turbolm into $build/ (cmake + ninja, Release)"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target turbolm -j "$jobs"

say "3/3 Running $model ($(du -h "$model/model.safetensors" | cut -f1) of bf16 weights, trained by tools/train_default_model.py)"
prompts=(
  "The history of the city"
  "Python is a programming language that"
  "Once upon a time, there was a little girl who"
)
for p in "${prompts[@]}"; do
  printf '\n\033[36mprompt:\033[0m %s\n' "$p"
  # greedy + HF repetition penalty: deterministic, and a 14M model loops without the penalty
  "$bin" --log-level warning generate --model "$model" --prompt "$p" --max-new-tokens 48 --repetition-penalty 1.2
done
printf '\n\033[36mchat:\033[0m Who are you?\n'
"$bin" --log-level warning generate --model "$model" --chat --prompt "Who are you?" --max-new-tokens 40 \
  --repetition-penalty 1.2

cat <<EOF

Done. turbolm built and ran its default model, a ~14M-parameter Llama that lives in $model
(it writes English but knows little: see $model/README.md). Next:

  $bin chat $model                          # chat in the terminal
  $bin serve api_server $model              # OpenAI-compatible server on http://localhost:23333
  curl -s localhost:23333/v1/chat/completions -H 'Content-Type: application/json' \\
       -d '{"model":"default","messages":[{"role":"user","content":"Tell me about the Moon."}]}'
  $bin generate --model /path/to/any/hf/llama-folder --prompt "..."   # your own models

Run the whole test suite with: scripts/test.sh
EOF
