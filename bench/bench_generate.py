"""Generation speed with the KV cache against without it: 256 new tokens, greedy, the same model and prompt.

Without a cache every new token re-runs the model over the whole window; with it, one position per step. Both runs
are timed in alternating rounds (so machine load hits both) and the ratio of tokens/s is printed; the two must also
produce the same tokens. With --compile the one-token step is also run through torch.compile(mode="reduce-overhead")
(CUDA graphs on a GPU). With --batch N, N prompts of different lengths are also decoded together (tokens/s counts
all rows). Host syncs and top-level ops per generated token (kernel launches on CUDA) are printed too.

    python bench/bench_generate.py [--threads 1] [--compile]
    python bench/bench_generate.py --device cuda --compile --dtype bf16 --batch 8

The defaults are the course's TinyStories model (chapter 7), with random weights: speed does not depend on them.
"""
import argparse
import time

import torch

from cs336_lm.generate import generate_batch, generate_ids
from cs336_lm.transformer import TransformerLM
from _common import HANDOUT, add_common_args, header, proxies, resolve, sync, time_interleaved


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    p.add_argument("--new", type=int, default=256); p.add_argument("--prompt", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    for k in ("vocab", "context", "d_model", "layers", "heads", "d_ff"):   # the handout's model on every device
        if getattr(a, k) is None: setattr(a, k, HANDOUT[k])
    batch = a.batch or 1
    dev, c = resolve(a)
    torch.manual_seed(0)
    model = TransformerLM(c, device=dev, dtype=torch.bfloat16 if a.dtype == "bf16" else None).eval()
    prompt = torch.randint(0, a.vocab, (a.prompt,)).tolist()
    run = lambda cache, compile=False: list(generate_ids(model, prompt, a.new, temperature=0, use_cache=cache, compile=compile))
    same = run(True) == run(False)
    print(f"{header(dev, a)}; model d{a.d_model} L{a.layers} ctx{a.context} vocab{a.vocab}, prompt {a.prompt} + {a.new} new tokens, "
          f"batch 1; cached == uncached tokens: {same}")
    if a.dtype == "fp32": assert same, "cached and uncached greedy decoding disagree"
    fns = {"cache": lambda: run(True), "no cache": lambda: run(False)}
    if a.compile:
        t0 = time.perf_counter(); compiled = run(True, True); sync(dev)
        print(f"compiled one-token step: first run {time.perf_counter() - t0:.1f} s, same tokens as eager: {compiled == run(True)}")
        fns["cache, compiled"] = lambda: run(True, True)
    wall, _ = time_interleaved(fns, dev, a.rounds, warmup=0)
    rate = {k: a.new / v for k, v in wall.items()}
    print("  ".join(f"{k}: {r:,.0f} tok/s" for k, r in rate.items()))
    print(f"KV cache speed-up: {rate['cache'] / rate['no cache']:.1f}x" +
          (f" eager, {rate['cache, compiled'] / rate['no cache']:.1f}x compiled" if a.compile else ""))
    for k, f in fns.items():
        pr = {n: v / a.new for n, v in proxies(f, dev, steps=1).items()}
        print(f"{k:16}: per token {', '.join(f'{v:.1f} {n}' for n, v in pr.items())}")
    if batch > 1:
        g = torch.Generator().manual_seed(1)
        prompts = [torch.randint(0, a.vocab, (int(n),), generator=g).tolist() for n in torch.randint(1, 2 * a.prompt, (batch,), generator=g)]
        for comp in ([False, True] if a.compile else [False]):
            generate_batch(model, prompts, 8, temperature=0, compile=comp)           # warm-up (and compile)
            sync(dev); t0 = time.perf_counter()
            generate_batch(model, prompts, a.new, temperature=0, compile=comp); sync(dev)
            dt = time.perf_counter() - t0
            print(f"batch of {batch} prompts ({min(map(len, prompts))}-{max(map(len, prompts))} tokens), "
                  f"{'compiled' if comp else 'eager'}: {batch * a.new / dt:,.0f} tok/s in all, "
                  f"{batch * a.new / dt / rate['cache']:.1f}x one prompt's cached rate")


if __name__ == "__main__":
    main()
