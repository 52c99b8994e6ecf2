"""Time of one `cs336_lm.AdamW.step()` against `torch.optim.AdamW` (foreach=False and foreach=True), same run.

Parameters are tensors of the course's TinyStories model's shapes (vocab 10,000, d_model 512, d_ff 1344, 4 layers:
22.7M parameters in 43 tensors), float32 on the CPU, with fixed random gradients. Each optimizer gets its own copy
of the parameters; steps are interleaved (ours, torch, ours, ...) so that CPU contention from other processes hits
all of them alike, and the ratio of the medians is what to read. Wall-clock and process CPU time are both reported.

    python bench/bench_optim.py                   # 2 threads (torch's default here), 15 rounds
    python bench/bench_optim.py --threads 1 --rounds 30
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from cs336_lm.optim import AdamW

V, D, F, L = 10_000, 512, 1344, 4
SHAPES = [(V, D)] + L * ([(D, D)] * 4 + [(D,), (F, D), (D, F), (F, D), (D,)]) + [(D,), (V, D)]


def make_params(seed: int = 0) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    ps = [torch.nn.Parameter(torch.randn(s, generator=g) * 0.02) for s in SHAPES]
    for p in ps: p.grad = torch.randn(p.shape, generator=g) * 1e-3
    return ps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15, help="timed steps per optimizer")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    kw = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    opts = {"ours (foreach)": AdamW(make_params(), **kw),
            "ours (loop)": AdamW(make_params(), foreach=False, **kw),
            "torch foreach=False": torch.optim.AdamW(make_params(), foreach=False, **kw),
            "torch foreach=True": torch.optim.AdamW(make_params(), foreach=True, **kw)}
    n = sum(math.prod(s) for s in SHAPES)
    print(f"{n/1e6:.1f}M parameters in {len(SHAPES)} tensors, float32, CPU, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    for o in opts.values(): o.step()                     # warm-up: allocates the state
    wall = {k: [] for k in opts}; cpu = {k: [] for k in opts}
    for _ in range(args.rounds):
        for name, o in opts.items():
            t0, c0 = time.perf_counter(), time.process_time()
            o.step()
            wall[name].append(time.perf_counter() - t0); cpu[name].append(time.process_time() - c0)
    # all four must still agree (a benchmark of a wrong optimizer is worthless)
    ref = opts["torch foreach=False"].param_groups[0]["params"]
    for name, o in opts.items():
        err = max((a - b).abs().max().item() for a, b in zip(o.param_groups[0]["params"], ref))
        assert err < 1e-6, f"{name} drifted from torch.optim.AdamW by {err}"
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    bytes_moved = 28 * n                                 # read θ, g, m, v; write θ, m, v (float32)
    print(f"{'':22} {'wall ms':>8} {'cpu ms':>8} {'GB/s':>6}")
    for k in opts: print(f"{k:22} {med[k]*1e3:8.1f} {cmed[k]*1e3:8.1f} {bytes_moved/med[k]/1e9:6.1f}")
    for ours in ("ours (foreach)", "ours (loop)"):
        for theirs in ("torch foreach=False", "torch foreach=True"):
            print(f"ratio {ours} / {theirs}: wall {med[ours]/med[theirs]:.2f}, cpu {cmed[ours]/cmed[theirs]:.2f}")


if __name__ == "__main__":
    main()
