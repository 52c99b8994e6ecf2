"""A deterministic, heavy-tailed, web-like synthetic corpus for tokenizer benchmarks at the size of real datasets.

Usage: python bench/make_corpus.py OUT --mb 200 --words 1500000 [--seed 0]

Made-up words (letters drawn with English-like frequencies, lengths 1–14, a few with accented letters) are drawn from
a Zipf law (frequency ∝ 1/rank), so a few words are very common and most are rare — like the vocabulary of web text,
where the long tail of distinct pre-tokens is what the BPE merge phase and a first encoding pass pay for. Sentences
start with a capital, carry commas, numbers and end with . ! or ?; paragraphs are split by newlines and documents by
`<|endoftext|>`. The same arguments always give the same bytes (numpy's PCG64 with a fixed seed).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

EOT = "<|endoftext|>"
LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
FREQ = np.array([12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5,
                 1.0, 0.8, 0.15, 0.15, 0.1, 0.07])


def make_words(n: int, rng: np.random.Generator) -> list[str]:
    "`n` distinct made-up words; shorter words first, so the common (low-rank) words are the short ones."
    words, seen = [], set()
    p = FREQ / FREQ.sum()
    while len(words) < n:
        m = 2 * (n - len(words)) + 1000
        lens = np.clip(rng.poisson(5.5, m) + 1, 1, 14)
        letters = rng.choice(np.frombuffer(LETTERS.encode(), np.uint8), size=int(lens.sum()), p=p)
        text = letters.tobytes().decode()
        accent = rng.random(m) < 0.01
        pos = 0
        for k, ln in enumerate(lens.tolist()):
            w = text[pos:pos + ln]; pos += ln
            if accent[k]: w = w[:-1] + "éüñçø"[k % 5]
            if w not in seen: seen.add(w); words.append(w)
            if len(words) == n: break
    words.sort(key=len)
    return words


def generate(out: str | os.PathLike, mb: float, n_words: int, seed: int = 0) -> Path:
    "Write about `mb` MB (10⁶ bytes) of text drawn from `n_words` Zipf-distributed words to `out`; returns the path."
    rng = np.random.default_rng(seed)
    words = make_words(n_words, rng)
    cdf = np.cumsum(1.0 / np.arange(1, n_words + 1)); cdf /= cdf[-1]
    caps = [w.capitalize() for w in words]
    target, out = int(mb * 1e6), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    written = 0
    with open(tmp, "w", encoding="utf-8") as f:
        while written < target:
            n = 200_000                                           # words per block
            idx = np.searchsorted(cdf, rng.random(n)).tolist()
            r = rng.random(n).tolist()
            nums = rng.integers(0, 10_000, n).tolist()
            parts, start = [], True
            for k in range(n):
                parts.append(caps[idx[k]] if start else " " + words[idx[k]])
                start, x = False, r[k]
                if x < 0.02: parts.append(f" {nums[k]}")
                elif x < 0.07: parts.append(",")
                elif x < 0.14:                                    # end of sentence, paragraph or document
                    parts.append("." if x < 0.125 else "!" if x < 0.13 else "?")
                    parts.append("\n\n" if x < 0.085 else EOT if x < 0.0865 else " ")
                    start = True
            block = "".join(parts)
            f.write(block); written += len(block.encode("utf-8"))
    os.replace(tmp, out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--words", type=int, default=1_500_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    p = generate(a.out, a.mb, a.words, a.seed)
    print(f"wrote {p} ({p.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
