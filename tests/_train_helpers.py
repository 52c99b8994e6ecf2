"Shared set-up for the multi-process training tests: a toy token corpus and a tiny model config."
import json, os
from pathlib import Path

import numpy as np

TINY_MODEL = dict(vocab_size=64, context_length=16, d_model=32, num_layers=2, num_heads=4, d_ff=64, rope_theta=10000.0)

def make_data(d: Path) -> tuple[str, str]:
    "A noisy repeating pattern, saved as uint16 train/valid token files in `d`."
    rng = np.random.default_rng(0)
    def toks(n):
        a = np.resize(np.array([3, 14, 15, 9, 2, 6, 5, 35, 8, 9, 7, 9, 32, 38, 4, 6]), n).astype(np.uint16)
        noise = rng.random(n) < 0.05
        a[noise] = rng.integers(0, 64, noise.sum())
        return a
    np.save(d/"train.npy", toks(20_000)); np.save(d/"valid.npy", toks(2_000))
    return str(d/"train.npy"), str(d/"valid.npy")

def write_config(d: Path, name: str = "cfg.json", **kw) -> str:
    "Write a TrainConfig JSON for the toy data into `d`; `kw` overrides the defaults."
    train, valid = make_data(d) if not (d/"train.npy").exists() else (str(d/"train.npy"), str(d/"valid.npy"))
    cfg = dict(train_data=train, valid_data=valid, model=TINY_MODEL, batch_size=8, max_iters=40, max_lr=1e-2, min_lr=1e-3,
               warmup_iters=5, eval_interval=10, eval_batches=4, log_interval=1, ckpt_interval=10, device="cpu",
               progress=False, seed=3)
    cfg.update(kw)
    (d/name).write_text(json.dumps(cfg))
    return str(d/name)

def env() -> dict:
    "One thread per process, so that runs are deterministic and two processes fit on two cores."
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "disabled"}

def read_metrics(path) -> list[dict]:
    out = []
    for line in Path(path).read_text().splitlines():
        try: out.append(json.loads(line))
        except json.JSONDecodeError: pass
    return out

def curve(path, keys=("loss", "lr", "grad_norm", "val_loss")) -> list[tuple]:
    "The step-by-step numbers of a run (timing fields left out: they differ between runs)."
    return [(r["step"],) + tuple(r.get(k) for k in keys) for r in read_metrics(path)]
