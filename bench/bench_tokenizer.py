"""Encoding speed of `cs336_lm.Tokenizer` against tiktoken, GPT-2 vocab, measured in the same run.

Usage: python bench/bench_tokenizer.py [--repeat 5] [--procs N]
Needs CS336_DATA_DIR (the fixtures) and tiktoken's GPT-2 files (TIKTOKEN_CACHE_DIR offline).

Prints, per text: MB/s of tiktoken (one thread), of ours on a fresh tokenizer (empty pre-token cache: the first pass
over a text) and warm (second pass), and the ratios ours/tiktoken; then N worker processes over document-aligned
chunks against tiktoken's `encode_ordinary_batch` on N threads; then peak memory of `encode` vs `encode_iterable` on a
6 MB file, each in a fresh process.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

import tiktoken

from cs336_lm.core import fixture
from cs336_lm.tokenizer import Tokenizer

VOCAB, MERGES = fixture("gpt2/gpt2_vocab.json"), fixture("gpt2/gpt2_merges.txt")
EOT = "<|endoftext|>"


def best(f, repeat):
    "Smallest wall time of `repeat` calls of `f` (contention only ever adds time)."
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
    return min(times)


def split_docs(text: str, n: int, sep: str) -> list[str]:
    "`text` cut into `n` pieces of similar size, each cut right after a `sep` (so every piece encodes independently)."
    out, start = [], 0
    for k in range(1, n):
        cut = text.find(sep, max(start, len(text) * k // n))
        if cut < 0: break
        out.append(text[start:cut + len(sep)]); start = cut + len(sep)
    return out + [text[start:]]


_TOK = None
def _init():
    global _TOK
    _TOK = Tokenizer.from_files(VOCAB, MERGES, [EOT])

def _encode(chunk): return array("I", _TOK.encode(chunk))   # an array pickles as one block of bytes, a list id by id


def single(name, text, enc, repeat):
    "One thread: tiktoken, ours from an empty cache, ours warm — measured in turns so that load hits all three."
    nb = len(text.encode())
    tok = Tokenizer.from_files(VOCAB, MERGES, [EOT])
    assert tok.encode(text) == enc.encode(text, allowed_special={EOT}), name
    fns = {"tik": lambda: enc.encode(text, allowed_special={EOT}),
           "cold": lambda: (tok._reset_cache(), tok.encode(text)), "warm": lambda: tok.encode(text)}
    t = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, f in fns.items(): t[k] = min(t[k], best(f, 1))
    mb = lambda k: nb / t[k] / 1e6
    print(f"{name:30s} {nb / 1e6:5.2f} MB  1 thread: tiktoken {mb('tik'):5.1f} MB/s | ours first pass {mb('cold'):5.1f} "
          f"MB/s (x{t['tik'] / t['cold']:.2f}) | ours warm {mb('warm'):5.1f} MB/s (x{t['tik'] / t['warm']:.2f})")


def parallel(name, text, enc, procs, sep, repeat):
    nb = len(text.encode())
    chunks = split_docs(text, procs * 4, sep)
    ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
    with ctx.Pool(procs, initializer=_init) as pool:
        pool.map(_encode, [EOT] * procs)                               # start the workers before timing
        t_ours = best(lambda: pool.map(_encode, chunks), repeat)       # caches warm up from the 2nd round on
        ours = [i for ids in pool.map(_encode, chunks) for i in ids]
    t_tik = best(lambda: enc.encode_batch(chunks, num_threads=procs, allowed_special={EOT}), repeat)
    t_tik1 = best(lambda: enc.encode(text, allowed_special={EOT}), repeat)
    assert ours == [i for ids in enc.encode_batch(chunks, allowed_special={EOT}) for i in ids], name
    print(f"{name:30s} {nb / 1e6:5.2f} MB  {procs} procs: ours (warm) {nb / t_ours / 1e6:6.2f} MB/s | tiktoken "
          f"encode_batch {procs} threads {nb / t_tik / 1e6:6.2f} MB/s, 1 thread {nb / t_tik1 / 1e6:6.2f} MB/s "
          f"| ratio x{t_tik / t_ours:.2f}")


_CHILD = r"""
import os, resource, sys
from cs336_lm.tokenizer import Tokenizer
mode, vocab, merges, src = sys.argv[1:]
tok = Tokenizer.from_files(vocab, merges, ["<|endoftext|>"])
def status(key): return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))
base = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f: f.write("5")   # reset the peak (VmHWM) to the current RSS
if mode == "encode": n = len(tok.encode(open(src, encoding="utf-8").read()))
else:
    with open(src, encoding="utf-8") as f: n = sum(1 for _ in tok.encode_iterable(f))
print(n, status("VmHWM:") - base)
"""


def memory(text):
    if not sys.platform.startswith("linux"):
        print("peak memory: skipped (uses /proc, Linux only)"); return
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "six_mb.txt"
        src.write_text(text * 3, encoding="utf-8")
        for mode in ("encode", "stream"):
            out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(VOCAB), str(MERGES), str(src)],
                                 capture_output=True, text=True, check=True).stdout.split()
            # (peak resident memory after the tokenizer was loaded, minus the memory the loaded tokenizer holds)
            print(f"peak memory above the loaded tokenizer, {src.stat().st_size / 1e6:.1f} MB file, "
                  f"{'encode(whole text)' if mode == 'encode' else 'encode_iterable(file)':22s}: "
                  f"{int(out[1]) / 1e6:7.1f} MB ({int(out[0]):,} ids)")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--procs", type=int, default=os.cpu_count())
    a = p.parse_args()
    enc = tiktoken.get_encoding("gpt2")
    ts = fixture("tinystories/TinyStories-train-sample.txt").read_text(encoding="utf-8")
    web = fixture("corpus.en").read_text(encoding="utf-8")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}, "
          f"tiktoken {tiktoken.__version__}")
    single("TinyStories train sample", ts, enc, a.repeat)
    single("corpus.en", web, enc, a.repeat)
    parallel("TinyStories train sample x4", ts * 4, enc, a.procs, EOT, a.repeat)
    memory(ts)


if __name__ == "__main__":
    main()
