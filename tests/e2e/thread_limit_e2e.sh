#!/usr/bin/env bash
# Regression: when the CPU thread pool cannot start all its threads (here: a 100-process limit for an
# unprivileged user), `turbolm generate --num-threads 500` must fail with a clear error, not hang while the
# threads already started wait on a pool that is being destroyed. Needs root (to switch to `nobody`) and setpriv;
# exit 77 (skipped) otherwise.
# Usage: thread_limit_e2e.sh TURBOLM_BINARY MODEL_DIR
set -uo pipefail
binary=$1
model=$2
if [[ $(id -u) != 0 ]] || ! command -v setpriv > /dev/null || [[ ! -d $model ]]; then
  echo "SKIP: needs root, setpriv and $model" >&2
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/turbolm"
chmod 755 "$work" "$work/turbolm"
output=$(timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \
  "ulimit -u 100; '$work/turbolm' generate --model '$model' --prompt Once --max-new-tokens 2 --num-threads 500" 2>&1)
rc=$?
echo "$output" | tail -3
if [[ $rc == 124 ]]; then
  echo "FAIL: hung (killed after 120 s)" >&2
  exit 1
fi
if [[ $rc == 0 ]] || ! grep -q "cannot start 500 threads" <<< "$output"; then
  echo "FAIL: expected a 'cannot start 500 threads' error, got rc=$rc" >&2
  exit 1
fi
echo "PASS: rc=$rc with a clear error"
