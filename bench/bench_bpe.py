"""BPE training speed of `cs336_lm.bpe.train_bpe` against HF `tokenizers`' BpeTrainer, measured in the same run.

Usage: python bench/bench_bpe.py [--repeat 3] [--scale 10]
Needs CS336_DATA_DIR (the fixtures).

Prints: TinyStories train sample at vocab 10,000 with `<|endoftext|>`, ours in one process vs HF on one Rayon thread
(ByteLevel pre-tokenizer, same special token) and the ratio; the same for `corpus.en` at vocab 500; ours with 1 and 2
processes on the sample and on the sample repeated `--scale` times (where starting workers pays off); peak resident
memory of one training run, each in a fresh process. Times are the best of `--repeat` runs taken in turns, so that
load on a shared machine hits both sides alike.
"""
from __future__ import annotations

import os
os.environ["RAYON_NUM_THREADS"] = "1"            # before tokenizers starts its thread pool

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from cs336_lm.bpe import train_bpe
from cs336_lm.core import fixture

EOT = "<|endoftext|>"


def hf_train(path: Path, vocab_size: int):
    "HF's BPE trainer with GPT-2's byte-level pre-tokenizer: the reference."
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tr = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT], show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(path)], tr)
    return tok


def timed(f) -> float:
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0


def versus_hf(name: str, path: Path, vocab_size: int, repeat: int) -> tuple[float, float]:
    "Best times of ours (1 process) and HF (1 thread), taken in turns; prints the ratio."
    ours, hf = [], []
    for _ in range(repeat):
        ours.append(timed(lambda: train_bpe(path, vocab_size, [EOT], num_processes=1, progress=False)))
        hf.append(timed(lambda: hf_train(path, vocab_size)))
    o, h = min(ours), min(hf)
    print(f"{name:38} vocab {vocab_size:>6,}: ours {o:6.3f} s  HF {h:6.3f} s  ratio {o / h:5.2f}")
    return o, h


_MEM = """
import json, resource, sys, time
from cs336_lm.bpe import train_bpe
t = time.perf_counter()
train_bpe(sys.argv[1], int(sys.argv[2]), ["<|endoftext|>"], num_processes=int(sys.argv[3]), progress=False)
t = time.perf_counter() - t
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"s": t, "self": hwm, "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
# VmHWM is the peak of this process's own memory; ru_maxrss(SELF) would also count the parent's size at fork time.
_BASE = ("import json, cs336_lm.bpe; "
         "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')))")


def fresh(path: Path, vocab_size: int, procs: int) -> dict:
    "Train in a fresh interpreter; its time and peak RSS (KiB) of the main process and of the largest worker (Linux)."
    out = subprocess.run([sys.executable, "-c", _MEM, str(path), str(vocab_size), str(procs)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=int, default=10)
    args = ap.parse_args()
    sample, corpus = fixture("tinystories/TinyStories-train-sample.txt"), fixture("corpus.en")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}")

    print("\n# ours in one process vs HF tokenizers BpeTrainer on one thread (best of", args.repeat, "in turns)")
    versus_hf("TinyStories train sample (2.1 MB)", sample, 10_000, args.repeat)
    versus_hf("corpus.en (130 KB)", corpus, 500, args.repeat)

    with tempfile.TemporaryDirectory() as d:
        big = Path(d)/"big.txt"
        data = sample.read_bytes()
        with open(big, "wb") as f:
            for _ in range(args.scale): f.write(data)
        print("\n# processes (fresh interpreter each; times include start-up of the workers; peak RSS in MiB)")
        base = json.loads(subprocess.run([sys.executable, "-c", _BASE], check=True, capture_output=True,
                                         text=True).stdout) / 1024
        print(f"{'':38} interpreter + cs336_lm.bpe alone: {base:.0f} MiB")
        for name, path in [("TinyStories sample (2.1 MB)", sample), (f"sample × {args.scale} ({big.stat().st_size / 2**20:.0f} MiB)", big)]:
            for procs in (1, 2):
                r = min((fresh(path, 10_000, procs) for _ in range(args.repeat)), key=lambda r: r["s"])
                print(f"{name:38} {procs} process{'es' if procs > 1 else '  '}: {r['s']:6.2f} s  "
                      f"peak RSS main {r['self'] / 1024:5.0f} MiB, largest worker {r['children'] / 1024:5.0f} MiB")


if __name__ == "__main__":
    main()
