"""Bad settings and misuse of the run layer (train, generate, main, experiments) through the command line: each case
must end with one line naming the problem (no traceback), and must not change or remove anything in a run directory."""
import contextlib, io, json, shutil
from pathlib import Path

import pytest
import torch

from _train_helpers import write_config
from cs336_lm.cli import main
from cs336_lm.tokenizer import Tokenizer


def run_cli(*argv) -> tuple[int, str]:
    "Run `cs336-lm ARGV` in this process; its exit status and what it wrote to stderr."
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main([str(a) for a in argv])
    return rc, err.getvalue()


def snapshot(d: Path) -> dict:
    "Name -> (size, mtime) of every file under `d` (nothing if it does not exist)."
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    "Toy data, a config for it, a finished 10-step run in `done/` and a byte-level tokenizer beside it."
    d = tmp_path_factory.mktemp("faults")
    write_config(d, "cfg.json", out_dir=str(d/"done"), max_iters=10, warmup_iters=2, eval_interval=5, ckpt_interval=5)
    rc, err = run_cli("train", "--config", d/"cfg.json")
    assert rc == 0, err
    Tokenizer({i: bytes([i]) for i in range(60)}, [], []).save(d/"done"/"tokenizer")   # 61 ids with <|endoftext|>: fits the 64 of the model
    return d


def _one_line(rc: int, err: str, expected: str):
    assert rc == 1, (rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert expected in lines[0], (expected, lines[0])


TRAIN_CASES = [  # extra flags for `cs336-lm train --config cfg.json --out-dir NEW`, the expected message
    (["--max-iters", "5", "--warmup-iters", "100"], "warmup_iters=100 is longer than the run's 5 steps"),
    (["--max-lr", "inf"], "max_lr must be a finite number"),
    (["--max-lr", "nan"], "max_lr must be a finite number"),
    (["--min-lr", "-1"], "min_lr must be >= 0"),
    (["--max-minutes", "-1"], "max_minutes must be > 0"),
    (["--max-minutes", "inf"], "max_minutes must be a finite number"),
    (["--stop-at-iter", "-3"], "stop_at_iter must be a positive integer"),
    (["--batch-size", "0"], "batch_size must be a positive integer"),
    (["--max-tokens", "0"], "max_tokens must be a positive integer"),
    (["--eps", "0"], "eps must be > 0"),
    (["--weight-decay", "-0.1"], "weight_decay must be >= 0"),
    (["--grad-clip", "nan"], "grad_clip must be a finite number"),
    (["--betas", "0.9", "1.0"], "betas must be two numbers in [0, 1)"),
    (["--dtype", "fp16"], "dtype must be 'fp32' or 'bf16'"),
    (["--lr-schedule", "time"], "lr_schedule='time' needs max_minutes"),
    (["--resume", "--overwrite"], "resume and overwrite exclude each other"),
    (["--d-model", "30"], "d_model=30 is not divisible by num_heads=4"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--train-data", "missing.npy"], "missing.npy"),
    (["--eval-interval", "0"], "eval_interval must be a positive integer"),
]

@pytest.mark.parametrize("flags,expected", TRAIN_CASES, ids=[" ".join(f) for f, _ in TRAIN_CASES])
def test_train_refuses_bad_settings_before_any_work(work: Path, flags, expected):
    before = snapshot(work)
    _one_line(*run_cli("train", "--config", work/"cfg.json", "--out-dir", work/"new", *flags), expected)
    assert snapshot(work) == before          # not even the run directory was created


def _bad_config(work: Path, name: str, text: str) -> Path:
    (work/"configs").mkdir(exist_ok=True)
    (work/"configs"/name).write_text(text)
    return work/"configs"/name

CONFIG_CASES = [  # a --config file's content, the expected message
    ("broken.json", '{"max_iters": 5,\n "seed": }', "broken.json, line 2: not valid JSON"),
    ("list.json", "[1, 2]", "list.json: expected a JSON object, got list"),
    ("unknown.json", '{"lr": 1}', "unknown TrainConfig fields: lr"),
    ("badmodel.json", '{"model": {"d_model": -1}}', "d_model must be a positive integer"),
]

@pytest.mark.parametrize("name,text,expected", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_train_names_a_malformed_config(work: Path, name, text, expected):
    cfg = _bad_config(work, name, text)
    before = snapshot(work/"done")
    _one_line(*run_cli("train", "--config", cfg, "--out-dir", work/"done"), expected)
    assert snapshot(work/"done") == before

def test_train_missing_config_file(work: Path):
    _one_line(*run_cli("train", "--config", work/"nowhere.json"), "nowhere.json does not exist")

def test_train_without_data(work: Path):
    _one_line(*run_cli("train", "--out-dir", work/"new"), "--train-data is required")
    assert not (work/"new").exists()


RUN_DIR_CASES = [  # flags for training into the finished run `done/`, the expected message
    ([], "already holds a run (config.json, metrics.jsonl, ckpt.pt, summary.json, ckpt.pt.prev): pass --resume to continue it, or --overwrite"),
    (["--resume", "--max-lr", "0.02"], "cannot resume"),
    (["--resume", "--max-lr", "0.02"], "max_lr (0.01 → 0.02)"),
    (["--resume", "--seed", "4"], "seed (3 → 4)"),
    (["--resume", "--batch-size", "4"], "batch_size (8 → 4)"),
    (["--resume", "--d-model", "64"], "model.d_model (32 → 64)"),
]

@pytest.mark.parametrize("flags,expected", RUN_DIR_CASES, ids=[" ".join(f) or "no-flag" for f, _ in RUN_DIR_CASES])
def test_a_run_is_never_overwritten_by_accident(work: Path, flags, expected):
    before = snapshot(work/"done")
    _one_line(*run_cli("train", "--config", work/"cfg.json", *flags), expected)
    assert snapshot(work/"done") == before


def test_resume_may_extend_the_budget(work: Path):
    shutil.copytree(work/"done", work/"longer")
    rc, err = run_cli("train", "--config", work/"cfg.json", "--out-dir", work/"longer", "--resume", "--max-iters", "15")
    assert rc == 0, err
    records = [json.loads(l) for l in (work/"longer"/"metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == list(range(1, 16))   # 1-10 kept, 11-15 added, none twice
    assert records[-1]["tokens"] == 15 * 8 * 16


def test_non_finite_loss_is_one_line_and_keeps_the_last_checkpoint(work: Path):
    rc, err = run_cli("train", "--config", work/"cfg.json", "--out-dir", work/"nan", "--max-lr", "1e10", "--min-lr", "1e10",
                      "--warmup-iters", "0", "--ckpt-interval", "1", "--log-interval", "5")
    _one_line(rc, err, "training stopped, and the last good checkpoint")
    ckpt = torch.load(work/"nan"/"ckpt.pt", map_location="cpu", weights_only=False)
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values() if t.is_floating_point())
    assert f"at step {ckpt['iteration'] + 1}" in err       # the first bad step: the guard runs before every checkpoint


GENERATE_CASES = [  # flags for `cs336-lm generate --checkpoint done`, the expected message
    (["--max-new-tokens", "-1"], "max_new_tokens must be >= 0"),
    (["--tokenizer-dir", "BIG"], "tokens, but the model in"),
    (["--tokenizer-dir", "NOWHERE"], "tokenizer files not found"),
    (["--temperature", "-1"], "temperature must be >= 0"),
    (["--top-p", "0"], "top_p must be in (0, 1]"),
]

@pytest.mark.parametrize("flags,expected", GENERATE_CASES, ids=[" ".join(f) for f, _ in GENERATE_CASES])
def test_generate_refuses_bad_input(work: Path, flags, expected):
    if not (work/"big").exists(): Tokenizer({i: bytes([i]) for i in range(256)}, [], []).save(work/"big")   # 257 ids > 64
    flags = [{"BIG": work/"big", "NOWHERE": work/"nowhere"}.get(f, f) for f in flags]
    before = snapshot(work/"done")
    _one_line(*run_cli("generate", "--checkpoint", work/"done", "--prompt", "", "--device", "cpu", *flags), expected)
    assert snapshot(work/"done") == before

def test_generate_without_a_checkpoint(work: Path):
    _one_line(*run_cli("generate", "--checkpoint", work/"nothing"), "no checkpoint at")


MAIN_CASES = [  # flags for `cs336-lm main --out-dir NEW`, the expected message: all refused before any file is written
    (["--set", "max_lr=inf"], "max_lr must be a finite number"),
    (["--set", "lr=1"], "unknown setting 'lr'"),
    (["--set", "model.width=1"], "unknown setting 'model.width'"),
    (["--set", "max_lr"], "expected NAME=VALUE"),
    (["--max-new-tokens", "-1"], "max_new_tokens must be >= 0"),
    (["--minutes", "-2"], "max_minutes must be > 0"),
    (["--device", "tpu"], "unknown device"),
]

@pytest.mark.parametrize("flags,expected", MAIN_CASES, ids=[" ".join(f) for f, _ in MAIN_CASES])
def test_main_refuses_bad_settings_before_any_work(work: Path, flags, expected):
    _one_line(*run_cli("main", "--out-dir", work/"pipe", *flags), expected)
    assert not (work/"pipe").exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "a\\b", ""])
def test_experiment_names_stay_inside_the_runs_folder(work: Path, name):
    from cs336_lm.experiments import run_experiment
    from cs336_lm.train import TrainConfig
    from cs336_lm.run_dir import read_json
    base = TrainConfig.from_dict(read_json(work/"cfg.json"))
    before = snapshot(work)
    with pytest.raises(ValueError, match="must be a plain directory name"): run_experiment(name, base, work/"runs")
    assert snapshot(work) == before
