"""Training-step throughput of the course's pieces against the same step built from PyTorch built-ins.

Ours: `cs336_lm` TransformerLM (as is, and with `fused_attention=True`) + cross_entropy + gradient_clipping + AdamW (the pieces `train` uses; foreach paths on
GPUs). Reference: the same architecture from nn.Linear / nn.Embedding / nn.RMSNorm / F.scaled_dot_product_attention
(bench/_common.py) with F.cross_entropy, clip_grad_norm_ and torch.optim.AdamW (fused=True on CUDA). Both draw their
batches with `cs336_lm.data.get_batch` from the same token array, so the difference is the model, loss, clipping and
optimizer. Steps alternate between the two so that machine load hits both; the ratio (ours / reference tokens/s) is
the result. With --compile the model and loss are compiled together on both sides. Host syncs and top-level ops per
step (kernel launches on CUDA) are printed as well: the CPU-visible proxies of GPU cost.

    python bench/bench_train.py [--threads 1 --compile]
    python bench/bench_train.py --device cuda --compile --dtype bf16      # the handout's model at batch 128
"""
import argparse
import dataclasses
import time

import numpy as np
import torch
import torch.nn.functional as F

from cs336_lm.data import get_batch
from cs336_lm.loss import cross_entropy
from cs336_lm.optim import AdamW
from cs336_lm.schedule import gradient_clipping
from cs336_lm.transformer import TransformerLM
from _common import RefLM, add_common_args, autocast, fmt_proxies, header, proxies, resolve, time_interleaved

HP = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)


def make_loop(kind, c, data, a, dev):
    "A closure doing one full training step (batch, forward, loss, backward, clip, AdamW)."
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if kind == "reference":
        m = RefLM(c).to(dev)
        opt = torch.optim.AdamW(m.parameters(), **HP, **({"fused": True} if dev.type == "cuda" else {}))
        loss_fn, clip = (lambda lg, y: F.cross_entropy(lg.flatten(0, 1), y.flatten())), torch.nn.utils.clip_grad_norm_
    else:
        m = TransformerLM(dataclasses.replace(c, fused_attention=kind == "ours_fused"), device=dev)
        opt = AdamW(m.parameters(), **HP)
        loss_fn, clip = cross_entropy, gradient_clipping
    fwd = lambda x, y: loss_fn(m(x), y)
    if a.compiled: fwd = torch.compile(fwd)
    def step():
        x, y = get_batch(data, a.batch, c.context_length, dev, generator=g)
        with autocast(dev, a.dtype): loss = fwd(x, y)
        loss.backward(); clip(m.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    p.add_argument("--rounds", type=int, default=3); p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    dev, c = resolve(a)
    data = np.random.default_rng(0).integers(0, a.vocab, 2_000_000).astype(np.uint16)
    print(f"{header(dev, a)}; d_model {a.d_model}, {a.layers} layers, {a.heads} heads, d_ff {a.d_ff}, vocab {a.vocab}, "
          f"context {a.context}, batch {a.batch}")
    for mode in (["eager", "compiled"] if a.compile else ["eager"]):
        a.compiled = mode == "compiled"
        loops = {k: make_loop(k, c, data, a, dev) for k in ("ours", "ours_fused", "reference")}
        t0 = time.perf_counter()
        wall, cpu = time_interleaved(loops, dev, a.rounds, warmup=2, per_round=a.steps)
        for k in loops:
            print(f"{mode:8} {k:10}: {a.batch * a.context / wall[k]:12,.0f} tok/s ({wall[k] * 1e3:7.1f} ms wall, "
                  f"{cpu[k] * 1e3:7.1f} ms CPU per step)  ratio to reference: wall {wall['reference'] / wall[k]:.3f}, "
                  f"CPU {cpu['reference'] / cpu[k]:.3f}")
        for k in loops: print(f"{mode:8} {k:10}: per step {fmt_proxies(proxies(loops[k], dev))}")
        print(f"({mode}: {time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
    main()
