#!/usr/bin/env bash
# Install the harness and run its main job: verify manual_grads against torch.autograd.
#
#   bash scripts/setup.sh [arguments for python -m reference.verify]
#
# torch: an already-installed torch is kept. Otherwise TORCH_REQUIREMENT is installed
# (default torch==2.13.0, which resolves to a local CPU build where one is provided and to
# the normal build elsewhere); set it to e.g. "torch" to take your platform's latest.
# PYTHON selects the interpreter (default: python, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python || command -v python3)}

if "$PY" -c "import torch" 2>/dev/null; then
  echo "using installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
  "$PY" -m pip install "${TORCH_REQUIREMENT:-torch==2.13.0}"
fi
"$PY" -m pip install -e ".[dev]"
exec "$PY" -m reference.verify "$@"
