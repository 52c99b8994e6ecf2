#!/usr/bin/env bash
# The course's checks on a CUDA machine: every `#| gpu` cell of the chapters, then the model-side benchmarks
# (ours against torch built-ins, eager and compiled, bf16) — one script, logs under $OUT.
#
#   scripts/gpu_check.sh --prepare   # here, with network: wheels for nbdev & co into .whl/, data into .gpu/ (both ignored)
#   scripts/gpu_check.sh             # on the GPU machine (no network): install the wheels into a temp dir, run it all
#   scripts/gpu_check.sh --dry-run   # print what would run
#   scripts/gpu_check.sh --cpu       # the same steps on the CPU, small and quick: checks this script's logic
#
# Environment: OUT (log folder; default ./gpu-logs), GPU_NB_RE (notebooks whose gpu cells run; default chapters 04-14,
# the experiment chapters' gpu cells are full training runs), GPU_NB_TIMEOUT / GPU_BENCH_TIMEOUT (seconds per step),
# GPU_STEPS (which steps; default "nb model train generate optim"). One call of a device tool may be limited to
# 10 minutes: split the steps over two calls, e.g. GPU_STEPS="nb generate" then GPU_STEPS="model train optim".
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-run}
OUT=${OUT:-$PWD/gpu-logs}
NB_RE=${GPU_NB_RE:-'^(0[4-9]|1[0-4])_'}
NB_TIMEOUT=${GPU_NB_TIMEOUT:-300}
BENCH_TIMEOUT=${GPU_BENCH_TIMEOUT:-240}
PY=${PYTHON:-python3}
STEPS=" ${GPU_STEPS:-nb model train generate optim} "

run() {   # run (or, with --dry-run, print) a command, logging to $OUT/<name>.log; a failure is reported, not fatal
  local name=$1; shift
  [[ $STEPS == *" ${name#*_} "* || $STEPS == *" ${name%_*} "* ]] || return 0
  if [[ $MODE == --dry-run ]]; then echo "[$name] $*"; return 0; fi
  echo "=== $name: $*" | tee -a "$OUT/summary.log"
  local t0=$SECONDS
  timeout "$T" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "=== $name: exit $rc after $((SECONDS - t0)) s" | tee -a "$OUT/summary.log"
  grep -v '^USDT' "$OUT/$name.log" | tail -n 25
}

case $MODE in
  --prepare)
    exclude=$(git rev-parse --git-path info/exclude)
    for p in /.whl/ /.gpu/ /gpu-logs/; do grep -qxF "$p" "$exclude" 2>/dev/null || echo "$p" >> "$exclude"; done
    $PY -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d .whl nbdev==3.3.26 fastcore==2.2.41 execnb==0.3.4 || exit 1
    # already on the GPU machine; a second version breaks it
    (cd .whl && rm -f anyio-* build-* h11-* idna-* packaging-* psutil-* pygments-* pyproject_hooks-* pyyaml-* \
                      setuptools-* six-* typing_extensions-* wheel-*)
    mkdir -p .gpu
    for d in data tiktoken_cache; do
      src=${CS336_SHARED:-../shared}/$d
      [[ $d == data && -n ${CS336_DATA_DIR:-} ]] && src=$CS336_DATA_DIR
      [[ $d == tiktoken_cache && -n ${TIKTOKEN_CACHE_DIR:-} ]] && src=$TIKTOKEN_CACHE_DIR
      [[ -d $src ]] && cp -r "$src/." ".gpu/$d/" && echo "copied $src -> .gpu/$d ($(du -sh ".gpu/$d" | cut -f1))"
    done
    du -sh .whl .gpu
    echo "now run, on the GPU machine, with carry=['.whl', '.gpu']: OUT=\$OUT scripts/gpu_check.sh"
    exit 0 ;;
  run|--dry-run) DEV=cuda; FLAGS=gpu; SIZES=() ; ROUNDS=5 ;;
  --cpu) DEV=cpu; FLAGS=''; NB_RE='^(05|09)_'; ROUNDS=1
         SIZES=(--d-model 64 --layers 2 --heads 4 --d-ff 192 --vocab 512 --context 64 --batch 2) ;;
  *) echo "usage: $0 [--prepare | --dry-run | --cpu]"; exit 2 ;;
esac

mkdir -p "$OUT"
if [[ $MODE != --dry-run ]]; then
  { date -u; nvidia-smi 2>/dev/null || echo "no nvidia-smi"; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } \
    | tee "$OUT/machine.log"
  if ! $PY -c "import nbdev" 2>/dev/null; then
    site=$(mktemp -d)
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl || exit 1
    export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
  fi
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 WANDB_MODE=offline MPLBACKEND=Agg
[[ -d .gpu/data ]] && export CS336_DATA_DIR=$PWD/.gpu/data
[[ -d .gpu/tiktoken_cache ]] && export TIKTOKEN_CACHE_DIR=$PWD/.gpu/tiktoken_cache

# 1. the notebooks' gpu cells (nbdev-test's command-line arguments are only read by its console script: call it)
T=$NB_TIMEOUT run nb_gpu $PY -c "from nbdev.test import nbdev_test; nbdev_test(path='nbs', flags='$FLAGS', file_re=r'$NB_RE', n_workers=$( [[ $DEV == cuda ]] && echo 8 || echo 1 ), do_print=True)"

# 2. the benchmarks: ours against torch built-ins, eager and compiled (bf16 on the GPU)
BF=(--dtype bf16); [[ $DEV == cpu ]] && BF=(--dtype fp32 --threads 1)
T=$BENCH_TIMEOUT run bench_model    $PY bench/bench_model.py    --device $DEV --compile "${BF[@]}" --rounds $ROUNDS "${SIZES[@]}"
T=$BENCH_TIMEOUT run bench_train    $PY bench/bench_train.py    --device $DEV --compile "${BF[@]}" --rounds $ROUNDS --steps 5 "${SIZES[@]}"
GEN=(); [[ $DEV == cpu ]] && GEN=(--new 16 --d-model 64 --layers 2 --heads 4 --d-ff 192 --vocab 512 --context 64)
T=$BENCH_TIMEOUT run bench_generate $PY bench/bench_generate.py --device $DEV --compile "${BF[@]}" --rounds 3 --batch 8 "${GEN[@]}"
T=$BENCH_TIMEOUT run bench_optim    $PY bench/bench_optim.py    --device $DEV --compile --rounds $((ROUNDS * 4))
[[ $MODE == --dry-run ]] || echo "logs in $OUT"
