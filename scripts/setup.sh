#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install cs336-lm into it, editable.
#   bash scripts/setup.sh          # the library and its CLI
#   bash scripts/setup.sh dev      # plus what the tests, notebooks and docs need
# PyTorch: if the venv has none yet, install TORCH_SPEC first (default torch==2.13.0: pip picks the CUDA build on
# Linux x86-64 from PyPI, the CPU/MPS build on macOS). Set TORCH_SPEC, e.g. TORCH_SPEC="torch==2.5.1", to choose.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check --upgrade pip
python -c "import torch" 2>/dev/null || python -m pip install -q --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}"
extra=""; [ "${1:-}" = "dev" ] && extra="[dev]"
python -m pip install -q --disable-pip-version-check -e ".${extra}"
