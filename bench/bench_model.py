"""Forward+backward (+loss) throughput of `cs336_lm.TransformerLM` against the same model assembled from PyTorch built-ins.

Ours: TransformerLM with the course's `cross_entropy` (as the default teaching config, and with `fused_attention`).
Reference: nn.Embedding, nn.Linear, nn.RMSNorm, F.silu, F.scaled_dot_product_attention(is_causal=True), RoPE in real
arithmetic, F.cross_entropy (see bench/_common.py). Both hold the same weights (checked: same logits) and see the same
batch. Runs are interleaved (ours, reference, ours, ...) so that load from other processes hits all; the ratio of the
medians is what to read (> 1: ours is faster). With --compile the model and its loss are compiled together, on both
sides. The CPU proxies of GPU cost are printed too: host syncs, top-level ops (and on CUDA kernel launches) per step.

    python bench/bench_model.py                                    # CPU, fp32, small model, batch 8
    python bench/bench_model.py --compile --threads 1
    python bench/bench_model.py --threads 1 --ablate                # also ours with one optimisation undone at a time
    python bench/bench_model.py --threads 1 --chunk 32              # attention in chunks of 32 query rows
    python bench/bench_model.py --device cuda --compile --dtype bf16   # the handout's model at batch 128
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import time

import torch
import torch.nn.functional as F

import cs336_lm.attention as attention
import cs336_lm.layers as layers
from cs336_lm.loss import cross_entropy
from cs336_lm.transformer import TransformerLM
from _common import RefLM, add_common_args, autocast, fmt_proxies, header, proxies, resolve, time_interleaved


def make_step(model, loss_fn, ids, targets, dev, dtype, compile_: bool):
    "One forward + loss + backward; with `compile_`, the forward and the loss are one compiled function."
    def fwd(x, y): return loss_fn(model(x), y)
    if compile_: fwd = torch.compile(fwd)
    def step():
        with autocast(dev, dtype): loss = fwd(ids, targets)
        loss.backward()
        for p in model.parameters(): p.grad = None
    return step


def patched(step, module, name: str, value):
    "`step` with `module.name` replaced by `value` during each call (and restored after it)."
    def run():
        old = getattr(module, name); setattr(module, name, value)
        try: step()
        finally: setattr(module, name, old)
    return run


def formula_attention(q, k, v, start: int = 0, chunk=None):
    "Chapter 05's attention formula under the causal mask, in place of the chunked kernel."
    return layers.scaled_dot_product_attention(q, k, v, attention.causal_mask(q.shape[-2], k.shape[-2], q.device))


def ablations(step) -> dict:
    "Our eager step with one of its optimisations undone: chapter 05's attention formula; RoPE in real arithmetic."
    return {"ours_formula": patched(step, attention, "causal_attention", formula_attention),
            "ours_rope_real": patched(step, layers, "apply_rotary", functools.partial(layers.apply_rotary, use_complex=False))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--ablate", action="store_true", help="eager: also time ours with one optimisation undone at a time")
    ap.add_argument("--chunk", type=int, default=None, help="query rows per attention chunk (default: a quarter of the context)")
    a = ap.parse_args()
    dev, c = resolve(a)
    torch.manual_seed(0)
    ours = TransformerLM(c, device=dev)
    fused = TransformerLM(dataclasses.replace(c, fused_attention=True), device=dev)
    fused.load_state_dict(ours.state_dict())
    for block in ours.layers: block.attn.chunk = a.chunk   # None: the model's own choice
    ref = RefLM(c).to(dev).load_from(ours.state_dict())
    ids = torch.randint(0, a.vocab, (a.batch, a.context), device=dev)
    targets = torch.randint(0, a.vocab, (a.batch, a.context), device=dev)
    with torch.no_grad():
        err = (ours(ids[:2]) - ref(ids[:2])).abs().max().item()
    assert err < 1e-3, f"models disagree: max |Δlogit| = {err}"
    ce = lambda lg, y: F.cross_entropy(lg.flatten(0, 1), y.flatten())
    models = {"ours": (ours, cross_entropy), "ours_fused": (fused, cross_entropy), "reference": (ref, ce)}
    toks = a.batch * a.context
    print(f"{header(dev, a)}; d_model {a.d_model}, {a.layers} layers, {a.heads} heads, d_ff {a.d_ff}, vocab {a.vocab}, "
          f"context {a.context}, batch {a.batch}; max |Δlogit| vs reference {err:.1e}")
    for mode in (["eager", "compiled"] if a.compile else ["eager"]):
        steps, ctime = {}, {}
        for k, (m, lf) in models.items():
            steps[k] = make_step(m, lf, ids, targets, dev, a.dtype, mode == "compiled")
            t0 = time.perf_counter(); steps[k](); ctime[k] = time.perf_counter() - t0
        for k, f in (ablations(steps["ours"]) if a.ablate and mode == "eager" else {}).items():
            steps[k] = f
            t0 = time.perf_counter(); f(); ctime[k] = time.perf_counter() - t0
        wall, cpu = time_interleaved(steps, dev, a.rounds)
        for k in steps:
            print(f"{mode:8} {k:10}: {toks / wall[k]:12,.0f} tok/s  ({wall[k] * 1e3:7.1f} ms wall, {cpu[k] * 1e3:7.1f} ms CPU; "
                  f"first call {ctime[k]:.1f} s)  ratio to reference: wall {wall['reference'] / wall[k]:.3f}, "
                  f"CPU {cpu['reference'] / cpu[k]:.3f}")
        for k in steps: print(f"{mode:8} {k:10}: per step {fmt_proxies(proxies(steps[k], dev))}")


if __name__ == "__main__":
    main()
