"""Generation speed with the KV cache against without it: 256 new tokens, greedy, the same model and prompt.

Without a cache every new token re-runs the model over the whole window; with it, one position per step. Both runs
are timed in alternating rounds (so machine load hits both) and the ratio of tokens/s is printed; the two must also
produce the same tokens.

    python bench/bench_generate.py [--d-model 512 --layers 4 --heads 16 --ctx 256 --vocab 10000 --new 256 --rounds 3 --threads N]

The defaults are the course's TinyStories model (chapter 7), with random weights: speed does not depend on them.
"""
import argparse, statistics, time

import torch

from cs336_lm.transformer import ModelConfig, TransformerLM
from cs336_lm.generate import generate_ids
from cs336_lm.layers import swiglu_hidden_size


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=512); p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=16); p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--vocab", type=int, default=10_000); p.add_argument("--new", type=int, default=256)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--prompt", type=int, default=16); p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = ModelConfig(vocab_size=a.vocab, context_length=a.ctx, d_model=a.d_model, num_layers=a.layers, num_heads=a.heads,
                    d_ff=swiglu_hidden_size(a.d_model), rope_theta=10000.0)
    model = TransformerLM(c).eval()
    prompt = torch.randint(0, a.vocab, (a.prompt,)).tolist()
    run = lambda cache: list(generate_ids(model, prompt, a.new, temperature=0, use_cache=cache))
    assert run(True) == run(False), "cached and uncached greedy decoding disagree"
    rates = {True: [], False: []}
    for _ in range(a.rounds):
        for cache in (True, False):
            t = time.perf_counter(); n = len(run(cache)); rates[cache].append(n / (time.perf_counter() - t))
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    print(f"model d{a.d_model} L{a.layers} ctx{a.ctx} vocab{a.vocab}, prompt {a.prompt} + {a.new} new tokens, CPU, {torch.get_num_threads()} threads")
    print(f"with KV cache: {on:,.0f} tokens/s   without: {off:,.0f} tokens/s   ratio {on / off:.1f}")


if __name__ == "__main__":
    main()
