"""Training-step throughput of the course's loop against the same loop built from PyTorch built-ins.

Ours: `cs336_lm` TransformerLM + cross_entropy + AdamW + gradient_clipping + get_batch (the pieces `train` uses).
Reference: the same architecture from nn.Linear / nn.Embedding / F.rms_norm / F.scaled_dot_product_attention, with
F.cross_entropy, torch.optim.AdamW and clip_grad_norm_. CPU, fp32, same shapes and batches. The two are timed in
alternating rounds so that load from other processes hits both; the ratio (ours / reference tokens/s) is the result.

    python bench/bench_train.py [--d-model 256 --layers 4 --heads 8 --ctx 256 --batch 8 --vocab 4096 --rounds 3 --steps 6 --threads N]
"""
import argparse, statistics, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cs336_lm.transformer import ModelConfig, TransformerLM
from cs336_lm.loss import cross_entropy
from cs336_lm.optim import AdamW
from cs336_lm.schedule import gradient_clipping
from cs336_lm.data import get_batch
from cs336_lm.layers import swiglu_hidden_size


class RefBlock(nn.Module):
    "Pre-norm block from torch built-ins: RoPE on q/k, causal SDPA, SwiGLU."
    def __init__(self, d, h, dff, T, theta):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.RMSNorm(d, eps=1e-5), nn.RMSNorm(d, eps=1e-5)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.w1, self.w3, self.w2 = nn.Linear(d, dff, bias=False), nn.Linear(d, dff, bias=False), nn.Linear(dff, d, bias=False)
        dk = d // h
        ang = torch.arange(T)[:, None] * theta ** (-torch.arange(0, dk, 2).float() / dk)
        self.register_buffer("cos", ang.cos(), persistent=False); self.register_buffer("sin", ang.sin(), persistent=False)

    def rope(self, x):
        T = x.shape[-2]; c, s = self.cos[:T], self.sin[:T]; x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x1 * c - x2 * s, x1 * s + x2 * c], -1).flatten(-2)

    def forward(self, x):
        B, T, d = x.shape
        y = self.ln1(x)
        q, k, v = (p(y).view(B, T, self.h, d // self.h).transpose(1, 2) for p in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(self.rope(q), self.rope(k), v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, d))
        y = self.ln2(x)
        return x + self.w2(F.silu(self.w1(y)) * self.w3(y))


class RefLM(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.emb = nn.Embedding(c.vocab_size, c.d_model)
        self.blocks = nn.ModuleList(RefBlock(c.d_model, c.num_heads, c.d_ff, c.context_length, c.rope_theta) for _ in range(c.num_layers))
        self.ln = nn.RMSNorm(c.d_model, eps=1e-5)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)

    def forward(self, x):
        x = self.emb(x)
        for b in self.blocks: x = b(x)
        return self.head(self.ln(x))


def make_loop(kind, c, data, batch):
    "A closure doing one full training step (batch, forward, loss, backward, clip, AdamW)."
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if kind == "reference":
        m = RefLM(c)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
        def step():
            ix = torch.randint(len(data) - c.context_length, (batch,), generator=g).numpy()
            b = torch.from_numpy(np.stack([data[i:i + c.context_length + 1] for i in ix]).astype(np.int64))
            loss = F.cross_entropy(m(b[:, :-1]).flatten(0, 1), b[:, 1:].flatten())
            loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
    else:
        m = TransformerLM(ModelConfig(**{**c.to_dict(), "fused_attention": kind == "ours+fused"}))
        opt = AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
        def step():
            x, y = get_batch(data, batch, c.context_length, "cpu", generator=g)
            loss = cross_entropy(m(x), y)
            loss.backward(); gradient_clipping(m.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=256); p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8); p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--batch", type=int, default=8); p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--rounds", type=int, default=3); p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    c = ModelConfig(vocab_size=a.vocab, context_length=a.ctx, d_model=a.d_model, num_layers=a.layers, num_heads=a.heads,
                    d_ff=swiglu_hidden_size(a.d_model), rope_theta=10000.0)
    data = np.random.default_rng(0).integers(0, a.vocab, 200_000).astype(np.uint16)
    kinds = ["reference", "ours", "ours+fused"]
    loops = {k: make_loop(k, c, data, a.batch) for k in kinds}
    for k in kinds: loops[k](); loops[k]()          # warm-up
    rates = {k: [] for k in kinds}
    for _ in range(a.rounds):
        for k in kinds:
            t = time.perf_counter()
            for _ in range(a.steps): loops[k]()
            rates[k].append(a.steps * a.batch * a.ctx / (time.perf_counter() - t))
    ref = statistics.median(rates["reference"])
    print(f"model d{a.d_model} L{a.layers} h{a.heads} ctx{a.ctx} batch{a.batch} vocab{a.vocab}, CPU fp32, {torch.get_num_threads()} threads")
    for k in kinds:
        r = statistics.median(rates[k])
        print(f"{k:>11}: {r:8,.0f} tokens/s  ratio to reference {r / ref:.2f}")


if __name__ == "__main__":
    main()
