"""Tokenizer training and encoding at the size of real datasets: ours against HF tokenizers and tiktoken, same run.

Usage: python bench/bench_scale.py [--mb 10 50 200] [--words 1500000] [--vocab 32000] [--procs 2]
                                   [--encode-mb 20] [--repeat 3] [--skip-train] [--skip-encode]

Training: for each size, a heavy-tailed web-like corpus (bench/make_corpus.py: Zipf over `--words` made-up words,
generated once into bench/data/, deterministic) is trained by `cs336_lm.bpe.train_bpe` and by HF tokenizers'
`BpeTrainer` (GPT-2's byte-level pre-tokenizer, i.e. the same GPT-2 regex; the same vocabulary size and special
token; `--procs` worker processes for ours, `RAYON_NUM_THREADS=--procs` for HF), each in a fresh process, one after
the other. Prints wall time and peak memory — the largest total resident memory of the process and all its children,
sampled every 100 ms — and the ratios ours/HF. Ours also reports its two phases (pre-token counting, merges) and the
number of distinct pre-tokens, from which the BPE chapter projects the full datasets.

Encoding: the first `--encode-mb` MB of the largest corpus, cut at a document boundary. One thread, best of
`--repeat` runs taken in turns: tiktoken's GPT-2 encoding against ours (a fresh `Tokenizer`: first pass, empty cache) and against ours `with_tiktoken()`; then the
same with the vocabulary trained above (its tiktoken `Encoding` built from the same vocab). N processes:
`cs336_lm.data.encode_file` with 1 and N processes against tiktoken's `encode_ordinary_batch` on N threads.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from make_corpus import generate  # noqa: E402

DATA = Path(__file__).parent / "data"
EOT = "<|endoftext|>"

_OURS = r"""
import json, sys, time
import cs336_lm.bpe as B
path, vocab_size, procs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
phase, count = {}, B.count_pretokens
def timed_count(*a, **k):                      # train_bpe calls this module global: time the counting phase apart
    t = time.perf_counter(); c = count(*a, **k)
    phase.update(count_s=time.perf_counter() - t, distinct=len(c), symbols=sum(map(len, c))); return c
B.count_pretokens = timed_count
t = time.perf_counter()
vocab, merges = B.train_bpe(path, vocab_size, ["<|endoftext|>"], num_processes=procs, progress=False)
phase["total_s"] = time.perf_counter() - t
B.save_bpe(vocab, merges, out)
print(json.dumps({**phase, "merges": len(merges)}))
"""

_HF = r"""
import json, sys, time
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
path, vocab_size = sys.argv[1], int(sys.argv[2])
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)   # GPT-2's regex, bytes as printable chars
tr = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
t = time.perf_counter(); tok.train([path], tr)
print(json.dumps({"total_s": time.perf_counter() - t, "vocab": tok.get_vocab_size()}))
"""


def run_tree(args: list[str], env: dict | None = None) -> tuple[float, int, dict]:
    "Run a command; its wall time, the peak total RSS of it and its children (sampled every 100 ms), its JSON line."
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, env={**os.environ, **(env or {})}, text=True)
    root, peak = psutil.Process(p.pid), 0
    while p.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(q.memory_info().rss for q in procs if q.is_running()))
        except psutil.Error: pass
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    out = p.stdout.read()
    if p.returncode: raise RuntimeError(f"{args[:3]} failed with exit code {p.returncode}")
    return wall, peak, json.loads(out.strip().splitlines()[-1])


def corpus(mb: float, words: int) -> Path:
    path = DATA / f"web_{mb:g}mb_{words}w.txt"
    if not path.exists():
        t = time.perf_counter(); generate(path, mb, words)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def train(path: Path, vocab: int, procs: int) -> Path:
    out = DATA / f"tok_{path.stem}_{vocab}"
    o_s, o_mem, o = run_tree([sys.executable, "-c", _OURS, str(path), str(vocab), str(procs), str(out)])
    h_s, h_mem, h = run_tree([sys.executable, "-c", _HF, str(path), str(vocab)], {"RAYON_NUM_THREADS": str(procs)})
    mb = path.stat().st_size / 1e6
    print(f"train {mb:5.0f} MB vocab {vocab:,} {procs} cores: ours {o_s:6.1f} s peak {o_mem / 1e9:5.2f} GB | "
          f"HF {h_s:6.1f} s peak {h_mem / 1e9:5.2f} GB | time ratio {o_s / h_s:4.2f} (target <= 2.0), "
          f"memory ratio {o_mem / h_mem:4.2f} (target <= 1.5)")
    print(f"      ours: counting {o['count_s']:.1f} s ({mb / o['count_s']:.1f} MB/s on {procs} processes), "
          f"{o['distinct']:,} distinct pre-tokens ({o['symbols'] / 1e6:.1f} M characters), merges "
          f"{o['total_s'] - o['count_s']:.1f} s for {o['merges']:,}; load average {os.getloadavg()[0]:.1f}", flush=True)
    return out


def mbps(nbytes: int, f, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)
    return nbytes / best / 1e6


def encode(path: Path, mb: float, tok_dir: Path | None, procs: int, repeat: int):
    import numpy as np
    import tiktoken
    from cs336_lm.bpe import GPT2_SPLIT_PATTERN
    from cs336_lm.core import fixture
    from cs336_lm.data import encode_file
    from cs336_lm.tokenizer import Tokenizer
    with open(path, encoding="utf-8") as f: text = f.read(int(mb * 1e6))
    text = text[:text.rfind(EOT) + len(EOT)]
    nb = len(text.encode("utf-8"))
    gpt2 = lambda: Tokenizer.from_files(fixture("gpt2/gpt2_vocab.json"), fixture("gpt2/gpt2_merges.txt"), [EOT])
    tik = tiktoken.get_encoding("gpt2")
    vocabs = [("GPT-2 50K", gpt2, tik)]
    if tok_dir is not None and (tok_dir / "vocab.json").exists():
        ours = lambda: Tokenizer.from_files(tok_dir / "vocab.json", tok_dir / "merges.txt", [EOT])
        t = ours()                                      # the reference: a tiktoken Encoding of the same vocabulary
        ranks = {b: i for i, b in t.vocab.items() if i != t.special_ids[EOT]}
        ref = tiktoken.Encoding("trained", pat_str=GPT2_SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens=t.special_ids)
        vocabs.append((f"trained {tok_dir.name.rsplit('_', 1)[1]}", ours, ref))
    for name, make, enc in vocabs:
        want = enc.encode(text, allowed_special="all")
        slow, fast = make(), make().with_tiktoken()
        assert slow.encode(text) == want and fast.encode(text) == want, name
        best = {"tik": 0.0, "py": 0.0, "fast": 0.0}                     # best MB/s of `repeat` runs taken in turns
        for _ in range(repeat):                                          # each of ours from an empty cache: first pass
            best["tik"] = max(best["tik"], mbps(nb, lambda: enc.encode(text, allowed_special="all")))
            best["py"] = max(best["py"], mbps(nb, lambda: (slow._reset_cache(), slow.encode(text))))
            best["fast"] = max(best["fast"], mbps(nb, lambda: (fast._reset_cache(), fast.encode(text))))
        t_tik, t_py, t_fast = best["tik"], best["py"], best["fast"]
        print(f"encode {nb / 1e6:.0f} MB, {name}, 1 thread: tiktoken {t_tik:5.1f} MB/s | ours first pass "
              f"{t_py:5.1f} MB/s (x{t_py / t_tik:.2f}) | ours with_tiktoken {t_fast:5.1f} MB/s (x{t_fast / t_tik:.2f}, "
              f"target >= 0.6)", flush=True)
    docs = text.split(EOT)
    chunks = [EOT.join(docs[i::procs * 4]) for i in range(procs * 4)]
    t_tik_n = mbps(nb, lambda: tik.encode_ordinary_batch(chunks, num_threads=procs), repeat)
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "text.txt"; src.write_text(text, encoding="utf-8")
        for label, tok in [("ours", gpt2()), ("ours with_tiktoken", gpt2().with_tiktoken())]:
            rates = {n: mbps(nb, lambda: (tok._reset_cache(), encode_file(src, tok, Path(d) / "ids.npy", num_processes=n)),
                              repeat) for n in (1, procs)}     # empty cache each time: first passes
            print(f"encode_file {nb / 1e6:.0f} MB GPT-2, {label:18}: 1 process {rates[1]:5.1f} MB/s, {procs} processes "
                  f"{rates[procs]:5.1f} MB/s (x{rates[procs] / rates[1]:.2f}) | tiktoken {procs} threads {t_tik_n:5.1f} MB/s",
                  flush=True)
        assert np.load(Path(d) / "ids.npy").tolist() == tik.encode(text, allowed_special="all")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, nargs="+", default=[200])
    ap.add_argument("--words", type=int, default=1_500_000)
    ap.add_argument("--vocab", type=int, default=32_000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--encode-mb", type=float, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="encoding: best of this many runs, taken in turns")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-encode", action="store_true")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, load average "
          f"{os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
          flush=True)
    paths, tok_dir = [corpus(mb, a.words) for mb in a.mb], None
    for p in paths:
        if not a.skip_train: tok_dir = train(p, a.vocab, a.procs)
    if not a.skip_encode:
        enc_dir = DATA / f"tok_{paths[-1].stem}_{a.vocab}"
        encode(paths[-1], a.encode_mb, tok_dir or enc_dir, a.procs, a.repeat)


if __name__ == "__main__":
    main()
