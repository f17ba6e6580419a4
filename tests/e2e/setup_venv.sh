#!/usr/bin/env bash
# Creates (or reuses) the virtualenv the server e2e tests run in, with the official `openai` SDK.
# Usage: tests/e2e/setup_venv.sh VENV_DIR
# TURBOLM_E2E_PYTHON=/path/to/python skips this and uses an interpreter that already has `openai` (offline runs).
set -euo pipefail
venv=${1:?usage: setup_venv.sh VENV_DIR}
if [ -n "${TURBOLM_E2E_PYTHON:-}" ]; then
  "$TURBOLM_E2E_PYTHON" -c "import openai" && exit 0
fi
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import openai" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check openai
"$venv/bin/python" -c "import openai; print('e2e venv: openai', openai.__version__)"
