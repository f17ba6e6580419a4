#!/usr/bin/env bash
# Regression: output that cannot be written (here /dev/full: "No space left on device") makes a command fail
# with an error, never exit 0 with the output lost.
# Usage: output_errors_e2e.sh TURBOLM_BINARY MODEL_DIR
set -uo pipefail
binary=$1
model=$2
if [[ ! -w /dev/full ]] || [[ ! -d $model ]]; then
  echo "SKIP: needs /dev/full and $model" >&2
  exit 77
fi
failed=0
check() {
  local label=$1
  shift
  local err
  err=$("$@" 2>&1 > /dev/full)
  local rc=$?
  if [[ $rc == 0 ]] || ! grep -q "writing the output failed" <<< "$err"; then
    echo "FAIL: $label: rc=$rc, stderr: $(tail -1 <<< "$err")" >&2
    failed=1
  else
    echo "ok: $label (rc=$rc)"
  fi
}
check generate "$binary" generate --model "$model" --prompt Once --max-new-tokens 4
check "generate --json" "$binary" generate --model "$model" --prompt Once --max-new-tokens 4 --json
check tokenize sh -c "echo Once upon a time | \"$binary\" tokenize --model \"$model\""
exit $failed
