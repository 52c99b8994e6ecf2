"""Forward + backward time of `cs336_lm.cross_entropy` against `F.cross_entropy`, same logits, same run.

Also timed: the stable formula of chapter 09 with autograd doing the backward (what the hand-written backward replaces).

Logits of shape (batch·context, vocab) — by default 8·256 positions and the course's vocabulary of 10,000 — in float32
(or --dtype bf16). Runs are interleaved (ours, torch, ours, …) so that load from other processes hits both alike; read
the ratio of the medians (process CPU time on the CPU, synchronized wall-clock on a GPU).

    python bench/bench_loss.py --threads 1
    python bench/bench_loss.py --device cuda --dtype bf16
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from cs336_lm.loss import cross_entropy


def formula(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    "Chapter 09's stable cross-entropy (shift by the max, log-sum-exp), differentiated by autograd."
    z = logits - logits.amax(-1, keepdim=True)
    return (z.logsumexp(-1) - z.gather(-1, y[:, None])[:, 0]).float().mean()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu"); p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--positions", type=int, default=8 * 256); p.add_argument("--vocab", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=15); p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev, dt = torch.device(a.device), torch.bfloat16 if a.dtype == "bf16" else torch.float32
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(a.positions, a.vocab, generator=g).to(dev, dt).requires_grad_()
    y = torch.randint(0, a.vocab, (a.positions,), generator=g).to(dev)
    clock = time.process_time if dev.type == "cpu" else time.perf_counter
    def run(f):
        logits.grad = None
        if dev.type == "cuda": torch.cuda.synchronize()
        t = clock(); f(logits, y).backward()
        if dev.type == "cuda": torch.cuda.synchronize()
        return clock() - t
    fns = {"ours": cross_entropy, "F.cross_entropy": F.cross_entropy, "formula+autograd": formula}
    diff = (cross_entropy(logits, y) - F.cross_entropy(logits.float(), y)).abs().item()
    times = {k: [] for k in fns}
    for k, f in fns.items(): run(f)                      # warm-up
    for _ in range(a.rounds):
        for k, f in fns.items(): times[k].append(run(f))
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"# {a.positions} x {a.vocab} logits, {a.dtype}, {dev}, {torch.get_num_threads()} threads; |loss diff| {diff:.1e}")
    for k, v in med.items(): print(f"{k:>16}: {v:7.1f} ms forward+backward (median of {a.rounds})")
    print(f"ratio ours / F.cross_entropy: {med['ours'] / med['F.cross_entropy']:.2f}x the time; "
          f"formula+autograd / F.cross_entropy: {med['formula+autograd'] / med['F.cross_entropy']:.2f}x")


if __name__ == "__main__":
    main()
