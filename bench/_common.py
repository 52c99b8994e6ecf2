"""Shared pieces of the model-side benchmarks: device/dtype options, the reference model from torch built-ins,
timing that waits for the device, and the CPU-visible proxies of GPU cost (host syncs and dispatched ops per step).

A GPU step is fast when it launches few kernels and never waits for the host; both can be counted on the CPU with
torch.profiler: `aten::_local_scalar_dense` is every `.item()` / `int(t)` / `bool(t)` on a tensor (on a GPU each one
stops the pipeline), and the top-level `aten::` ops (those not called by another aten op) are what eager mode launches one by one (a compiled graph shows
up as one region plus its extern matmuls). On CUDA the kernel launches themselves are counted too.
"""
from __future__ import annotations

import argparse
import os
os.environ.setdefault("KINETO_LOG_LEVEL", "5")   # keep the profiler quiet
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from cs336_lm.train import autocast  # noqa: F401  (re-exported for the scripts: the trainer's own bf16 autocast)
from cs336_lm.transformer import ModelConfig

HANDOUT = dict(vocab=10_000, context=256, d_model=512, layers=4, heads=16, d_ff=1344, batch=128)   # the handout's model
CPU_SMALL = dict(vocab=4096, context=256, d_model=256, layers=4, heads=8, d_ff=704, batch=8)       # minutes on 2 cores


def add_common_args(ap: argparse.ArgumentParser, sizes: bool = True):
    ap.add_argument("--device", default="cpu", help="cpu | cuda | mps")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"], help="bf16 = autocast to bfloat16")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd versions")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave as is)")
    if sizes:
        for k in HANDOUT: ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None,
                                          help=f"default {HANDOUT[k]} on a GPU, {CPU_SMALL[k]} on the CPU")


def resolve(a) -> tuple[torch.device, ModelConfig]:
    "Apply --threads, fill size defaults by device, and return the device and the model config."
    if a.threads: torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    base = CPU_SMALL if dev.type == "cpu" else HANDOUT
    for k, v in base.items():
        if getattr(a, k, None) is None: setattr(a, k, v)
    return dev, ModelConfig(vocab_size=a.vocab, context_length=a.context, d_model=a.d_model, num_layers=a.layers,
                            num_heads=a.heads, d_ff=a.d_ff)


def sync(dev: torch.device):
    if dev.type == "cuda": torch.cuda.synchronize()
    elif dev.type == "mps": torch.mps.synchronize()


def header(dev: torch.device, a) -> str:
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{torch.get_num_threads()} CPU threads" if dev.type == "cpu" else dev.type
    return f"torch {torch.__version__}, {name}, {a.dtype}"


class RefBlock(nn.Module):
    "Pre-norm block from torch built-ins: nn.Linear, nn.RMSNorm, RoPE in real arithmetic, causal SDPA, SwiGLU."
    def __init__(self, d, h, dff):
        super().__init__()
        self.h = h
        self.q_proj, self.k_proj, self.v_proj, self.output_proj = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.w1, self.w3, self.w2 = nn.Linear(d, dff, bias=False), nn.Linear(d, dff, bias=False), nn.Linear(dff, d, bias=False)
        self.ln1, self.ln2 = nn.RMSNorm(d, eps=1e-5), nn.RMSNorm(d, eps=1e-5)

    @staticmethod
    def rope(x, cos, sin):
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1).flatten(-2).type_as(x)

    def forward(self, x, cos, sin):
        B, T, d = x.shape
        y = self.ln1(x)
        q, k, v = (p(y).view(B, T, self.h, d // self.h).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        o = F.scaled_dot_product_attention(self.rope(q, cos, sin), self.rope(k, cos, sin), v, is_causal=True)
        x = x + self.output_proj(o.transpose(1, 2).reshape(B, T, d))
        y = self.ln2(x)
        return x + self.w2(F.silu(self.w1(y)) * self.w3(y))


class RefLM(nn.Module):
    "The course's architecture assembled from torch built-ins (the reference every ratio is measured against)."
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.emb = nn.Embedding(c.vocab_size, c.d_model)
        self.blocks = nn.ModuleList(RefBlock(c.d_model, c.num_heads, c.d_ff) for _ in range(c.num_layers))
        self.ln_final = nn.RMSNorm(c.d_model, eps=1e-5)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        dk = c.d_model // c.num_heads
        ang = torch.arange(c.context_length)[:, None].double() * c.rope_theta ** (-torch.arange(0, dk, 2).double() / dk)
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def forward(self, ids):
        x, T = self.emb(ids), ids.shape[1]
        for b in self.blocks: x = b(x, self.cos[:T], self.sin[:T])
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


def time_interleaved(fns: dict, dev: torch.device, rounds: int, warmup: int = 2, per_round: int = 1) -> tuple[dict, dict]:
    "Median wall and process-CPU seconds per call of each function; calls interleaved so that machine load hits all."
    for _ in range(warmup):
        for f in fns.values(): f()
    sync(dev)
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            sync(dev); t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(per_round): f()
            sync(dev)
            wall[k].append((time.perf_counter() - t0) / per_round); cpu[k].append((time.process_time() - c0) / per_round)
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()})


LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernelEx", "cudaGraphLaunch")
SYNCS = ("aten::_local_scalar_dense", "cudaStreamSynchronize", "cudaDeviceSynchronize")


def proxies(fn, dev: torch.device, steps: int = 2) -> dict:
    "Per call of `fn`: host syncs, top-level aten ops dispatched, and (CUDA) kernel launches, counted by torch.profiler."
    from torch.profiler import ProfilerActivity, profile
    fn(); sync(dev)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(steps): fn()
    ev = prof.events()
    out = dict(syncs=sum(e.name in SYNCS for e in ev) / steps,
               ops=sum(e.name.startswith("aten::") and not (e.cpu_parent and e.cpu_parent.name.startswith("aten::"))
                       for e in ev) / steps)
    if dev.type == "cuda": out["launches"] = sum(e.name in LAUNCHES for e in ev) / steps
    return out


def fmt_proxies(p: dict) -> str:
    return ", ".join(f"{v:.0f} {k}" for k, v in p.items())
