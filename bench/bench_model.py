"""Forward+backward throughput of `cs336_lm.TransformerLM` against the same model assembled from PyTorch built-ins.

The reference uses nn.Embedding, nn.Linear, F.rms_norm, F.silu and F.scaled_dot_product_attention(is_causal=True),
with RoPE as a complex multiply (the LLaMA way). Both models hold the same weights (checked: same logits). Runs are
interleaved (ours, reference, ours, ...) so that CPU contention from other processes hits both; the ratio of the
medians is what to read. Both wall-clock time and the process's CPU time are reported: on a shared machine the CPU
time is the steadier measure of what the code costs.

    python bench/bench_model.py                  # eager, float32, CPU
    python bench/bench_model.py --compile        # also torch.compile both sides
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from cs336_lm.transformer import ModelConfig, TransformerLM


class BuiltinBlock(nn.Module):
    def __init__(self, d, h, d_ff):
        super().__init__()
        self.h = h
        self.q_proj, self.k_proj, self.v_proj, self.output_proj = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.w1, self.w3 = nn.Linear(d, d_ff, bias=False), nn.Linear(d, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d, bias=False)
        self.ln1, self.ln2 = nn.RMSNorm(d, eps=1e-5), nn.RMSNorm(d, eps=1e-5)

    def forward(self, x, freqs):                                   # x (B, T, d), freqs (T, dk/2) complex
        B, T, d = x.shape
        u = self.ln1(x)
        q, k, v = (p(u).view(B, T, self.h, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        q, k = (torch.view_as_real(torch.view_as_complex(t.float().unflatten(-1, (-1, 2))) * freqs).flatten(-2).type_as(t)
                for t in (q, k))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.output_proj(o.transpose(1, 2).reshape(B, T, d))
        u = self.ln2(x)
        return x + self.w2(F.silu(self.w1(u)) * self.w3(u))


class BuiltinLM(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.emb = nn.Embedding(c.vocab_size, c.d_model)
        self.blocks = nn.ModuleList(BuiltinBlock(c.d_model, c.num_heads, c.d_ff) for _ in range(c.num_layers))
        self.ln_final = nn.RMSNorm(c.d_model, eps=1e-5)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        dk = c.d_model // c.num_heads
        ang = torch.outer(torch.arange(c.context_length).double(), c.rope_theta ** (-torch.arange(0, dk, 2).double() / dk))
        self.register_buffer("freqs", torch.polar(torch.ones_like(ang), ang).to(torch.complex64), persistent=False)

    def forward(self, ids):
        x = self.emb(ids)
        for b in self.blocks: x = b(x, self.freqs[: ids.shape[1]])
        return self.lm_head(self.ln_final(x))

    def load_from(self, sd):
        "Copy weights from a TransformerLM state dict (the course's key layout)."
        m = {"emb.weight": "token_embeddings.weight", "ln_final.weight": "ln_final.weight", "lm_head.weight": "lm_head.weight"}
        for i in range(len(self.blocks)):
            for n in ("q_proj", "k_proj", "v_proj", "output_proj"): m[f"blocks.{i}.{n}.weight"] = f"layers.{i}.attn.{n}.weight"
            for n in ("w1", "w2", "w3"): m[f"blocks.{i}.{n}.weight"] = f"layers.{i}.ffn.{n}.weight"
            for n in ("ln1", "ln2"): m[f"blocks.{i}.{n}.weight"] = f"layers.{i}.{n}.weight"
        self.load_state_dict({k: sd[v] for k, v in m.items()})
        return self


def step(model, ids, targets):
    logits = model(ids)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()
    for p in model.parameters(): p.grad = None
    return loss


def bench(models: dict, ids, targets, rounds: int, warmup: int = 2) -> tuple[dict, dict]:
    "Median wall-clock and process-CPU seconds per forward+backward step for each model, runs interleaved."
    for _ in range(warmup):
        for m in models.values(): step(m, ids, targets)
    wall, cpu = {k: [] for k in models}, {k: [] for k in models}
    for _ in range(rounds):
        for k, m in models.items():
            t0, c0 = time.perf_counter(), time.process_time()
            step(m, ids, targets)
            wall[k].append(time.perf_counter() - t0); cpu[k].append(time.process_time() - c0)
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()})


def report(label: str, t: dict, c: dict, toks: int, extra: dict | None = None):
    extra = extra or {}
    print(f"{label}: " + ", ".join(f"{k} {toks / v:,.0f} tok/s ({v * 1e3:.0f} ms wall, {c[k] * 1e3:.0f} ms CPU{extra.get(k, '')})"
                                   for k, v in t.items()))
    for name, d in (("wall", t), ("CPU ", c)):
        print(f"{label}: {name} ratio ours/reference = {d['reference'] / d['ours']:.3f}, "
              f"ours_fused/reference = {d['reference'] / d['ours_fused']:.3f}, fused/from-scratch = {d['ours'] / d['ours_fused']:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--d-ff", type=int, default=704)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = leave as is)")
    ap.add_argument("--compile", action="store_true", help="also compare torch.compile'd models")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = ModelConfig(vocab_size=a.vocab, context_length=a.context, d_model=a.d_model, num_layers=a.layers,
                    num_heads=a.heads, d_ff=a.d_ff)
    dev = torch.device(a.device)
    ours = TransformerLM(c, device=dev)
    fused = TransformerLM(dataclasses.replace(c, fused_attention=True), device=dev)
    fused.load_state_dict(ours.state_dict())
    ref = BuiltinLM(c).to(dev).load_from(ours.state_dict())
    ids = torch.randint(0, a.vocab, (a.batch, a.context), device=dev)
    targets = torch.randint(0, a.vocab, (a.batch, a.context), device=dev)
    with torch.no_grad():
        err = (ours(ids) - ref(ids)).abs().max().item()
    assert err < 1e-3, f"models disagree: max |Δlogit| = {err}"
    toks = a.batch * a.context
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}, float32; "
          f"d_model {a.d_model}, {a.layers} layers, {a.heads} heads, d_ff {a.d_ff}, vocab {a.vocab}, "
          f"context {a.context}, batch {a.batch}; max |Δlogit| vs reference {err:.1e}")
    t, cpu = bench({"ours": ours, "ours_fused": fused, "reference": ref}, ids, targets, a.rounds)
    report("eager   ", t, cpu, toks)
    if a.compile:
        compiled, ctime = {}, {}
        for k, m in {"ours": ours, "ours_fused": fused, "reference": ref}.items():
            cm = torch.compile(m)
            t0 = time.perf_counter(); step(cm, ids, targets); ctime[k] = f", compile {time.perf_counter() - t0:.0f} s"
            compiled[k] = cm
        t, cpu = bench(compiled, ids, targets, a.rounds)
        report("compiled", t, cpu, toks, ctime)

if __name__ == "__main__":
    main()
