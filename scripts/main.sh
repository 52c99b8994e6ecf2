#!/usr/bin/env bash
# The main job, from a fresh clone: set up .venv, then tokenizer -> tokenized data -> training -> a generated story.
# Extra arguments go to `cs336-lm main` (see `cs336-lm main --help`), e.g. --full for the handout's full-size run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
# Where there is no internet but a local copy of the data (as on the course's own machines), use it.
if [ -z "${CS336_DATA_DIR:-}" ] && [ -d ../shared/data/tinystories ]; then export CS336_DATA_DIR="$(cd ../shared/data && pwd)"; fi
exec cs336-lm main "$@"
