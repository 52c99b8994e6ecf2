"""Time of one `cs336_lm.AdamW.step()` against `torch.optim.AdamW` (foreach=False, foreach=True, fused=True), same run.

Parameters are tensors of the course's TinyStories model's shapes (vocab 10,000, d_model 512, d_ff 1344, 4 layers:
22.7M parameters in 39 tensors), float32 (or --dtype bf16) on --device, with fixed random gradients. With --compile
each optimizer's `step` is also run through torch.compile. Ops per step (kernel launches on CUDA) are printed too. Each optimizer gets its own copy
of the parameters; steps are interleaved (ours, torch, ours, ...) so that CPU contention from other processes hits
all of them alike, and the ratio of the medians is what to read. Wall-clock and process CPU time are both reported.

    python bench/bench_optim.py                   # 2 threads (torch's default here), 15 rounds
    python bench/bench_optim.py --threads 1 --rounds 30
    python bench/bench_optim.py --device cuda --compile
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from cs336_lm.optim import AdamW
from _common import add_common_args, fmt_proxies, header, proxies, sync

V, D, F, L = 10_000, 512, 1344, 4
SHAPES = [(V, D)] + L * ([(D, D)] * 4 + [(D,), (F, D), (D, F), (F, D), (D,)]) + [(D,), (V, D)]


def make_params(dev, dtype, seed: int = 0) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    ps = [torch.nn.Parameter((torch.randn(s, generator=g) * 0.02).to(dev, dtype)) for s in SHAPES]
    for p in ps: p.grad = (torch.randn(p.shape, generator=g) * 1e-3).to(dev, dtype)
    return ps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15, help="timed steps per optimizer")
    add_common_args(ap, sizes=False)
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    dev, dtype = torch.device(args.device), torch.bfloat16 if args.dtype == "bf16" else torch.float32
    kw = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    mk = lambda: make_params(dev, dtype)
    make = {"ours (foreach)": lambda: AdamW(mk(), foreach=True, **kw),
            "ours (loop)": lambda: AdamW(mk(), foreach=False, **kw),
            "torch foreach=False": lambda: torch.optim.AdamW(mk(), foreach=False, **kw),
            "torch foreach=True": lambda: torch.optim.AdamW(mk(), foreach=True, **kw),
            "torch fused=True": lambda: torch.optim.AdamW(mk(), fused=True, **kw)}
    opts = {k: f() for k, f in make.items()}
    if args.compile:   # each compiled step drives an optimizer of its own, so every optimizer steps once a round
        opts |= {f"{k}, compiled": make[k]() for k in make if "loop" not in k and "False" not in k}
    steps = {k: torch.compile(o.step) if k.endswith("compiled") else o.step for k, o in opts.items()}
    n = sum(math.prod(s) for s in SHAPES)
    print(f"{n/1e6:.1f}M parameters in {len(SHAPES)} tensors, {header(dev, args)}")
    for f in steps.values(): f()                         # warm-up: allocates the state (and compiles)
    wall = {k: [] for k in steps}; cpu = {k: [] for k in steps}
    for _ in range(args.rounds):
        for name, f in steps.items():
            sync(dev); t0, c0 = time.perf_counter(), time.process_time()
            f(); sync(dev)
            wall[name].append(time.perf_counter() - t0); cpu[name].append(time.process_time() - c0)
    # all must still agree (a benchmark of a wrong optimizer is worthless)
    ref = opts["torch foreach=False"].param_groups[0]["params"]
    tol = 1e-6 if dtype == torch.float32 else 1e-2
    for name, o in opts.items():
        err = max((a - b).abs().max().item() for a, b in zip(o.param_groups[0]["params"], ref))
        assert err < tol, f"{name} drifted from torch.optim.AdamW by {err}"
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    bytes_moved = 7 * n * torch.finfo(dtype).bits // 8   # read θ, g, m, v; write θ, m, v
    print(f"{'':32} {'wall ms':>8} {'cpu ms':>8} {'GB/s':>6}")
    for k in steps: print(f"{k:32} {med[k]*1e3:8.1f} {cmed[k]*1e3:8.1f} {bytes_moved/med[k]/1e9:6.1f}")
    for ours in [k for k in steps if k.startswith("ours")]:
        theirs = "torch fused=True" if dev.type == "cuda" else "torch foreach=True"
        print(f"ratio {ours} / {theirs} (time, < 1: ours faster): wall {med[ours]/med[theirs]:.2f}, cpu {cmed[ours]/cmed[theirs]:.2f}")
    for k, f in steps.items(): print(f"{k:32}: per step {fmt_proxies(proxies(f, dev, steps=1))}")


if __name__ == "__main__":
    main()
