#!/usr/bin/env bash
# Runs a Python e2e script in the e2e virtualenv (or TURBOLM_E2E_PYTHON).
# Usage: tests/e2e/run_python.sh VENV_DIR SCRIPT ARGS...
set -euo pipefail
venv=$1
shift
python=${TURBOLM_E2E_PYTHON:-$venv/bin/python}
exec "$python" "$@"
