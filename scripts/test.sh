#!/usr/bin/env bash
# Everything CI checks, from a fresh clone: set up .venv with the dev extras, check that the library and README are
# exactly what the notebooks export, that the notebooks are clean, then run every notebook's tests (nbdev-test, one
# pytest case per notebook), the other tests and the docs-site browser test. Ends with pytest's "N passed" line.
#   NBDEV_FLAGS="slow gpu" bash scripts/test.sh   # also run the cells flagged slow / gpu
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# shellcheck disable=SC1091
. .venv/bin/activate
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else echo "the browser test needs Debian's chromium: sudo apt-get install -y chromium" >&2; exit 1; fi
fi
if [ -z "${CS336_DATA_DIR:-}" ] && [ -d ../shared/data ]; then export CS336_DATA_DIR="$(cd ../shared/data && pwd)"; fi
if [ -z "${TIKTOKEN_CACHE_DIR:-}" ] && [ -d ../shared/tiktoken_cache ]; then export TIKTOKEN_CACHE_DIR="$(cd ../shared/tiktoken_cache && pwd)"; fi
python -c "from cs336_lm.core import fixture; fixture('corpus.en')" 2>/dev/null || cs336-lm download fixtures
export WANDB_MODE=${WANDB_MODE:-offline} MPLBACKEND=Agg

echo "== nbdev-export and nbdev-clean must leave no diff"
nbdev-export
nbdev-clean
python scripts/make_readme.py
changed=$(git status --porcelain -- cs336_lm nbs README.md)
if [ -n "$changed" ]; then
  echo "these files differ from what the notebooks export/clean to (run nbdev-export, nbdev-clean, scripts/make_readme.py):" >&2
  echo "$changed" >&2; git --no-pager diff --stat -- cs336_lm nbs README.md >&2; exit 1
fi

echo "== tests: every notebook (nbdev-test), the other tests, the docs site in a browser"
python -m pytest -q -n "${PYTEST_WORKERS:-2}" tests
