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
# the HTML report's browser test (tests/test_student_report.py) loads the page in headless Chromium
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "could not install chromium with apt-get: the HTML report's browser test will be skipped"
  else
    echo "chromium is not installed (installing it needs root and apt-get): the HTML report's browser test will be skipped"
  fi
fi
# bubblewrap: the grader runs hand-ins in their own namespaces (reference/grading/isolation.py)
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # the package lists may already be fresh (chromium above): update only when the install needs it
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
      || echo "could not install bubblewrap with apt-get: hand-ins will run with a separate uid or rlimits only"
  else
    echo "bubblewrap is not installed (installing it needs root and apt-get): hand-ins will run with a separate uid or rlimits only"
  fi
fi
if command -v bwrap >/dev/null 2>&1 && ! bwrap --unshare-all --ro-bind / / true >/dev/null 2>&1; then
  echo "bubblewrap cannot create namespaces here: hand-ins will run with a separate uid or rlimits only"
fi
exec "$PY" -m reference.verify "$@"
