"""The merge phase alone: `merge_words` (lists and a heap) against `merge_flat` (NumPy arrays), on the same pre-token counts.

`train_bpe` switches from the first to the second once the distinct pre-tokens hold `bpe.FLAT_MIN` characters; this
prints, for corpora of growing size, how many characters that is and the time ratio flat / words (< 1: flat faster),
so the crossover can be read off. Corpora are prefixes of one bench/make_corpus.py web-like text (Zipf over `--words`
made-up words), each counted once; each merge variant runs on its own copy of the counts. Process CPU time, best of `--repeat`.

    python bench/bench_merge.py --mb 0.25 1 4 --merges 2000
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cs336_lm.bpe import FLAT_MIN, count_pretokens, flat_words, merge_flat, merge_words  # noqa: E402
from make_corpus import generate  # noqa: E402

DATA = Path(__file__).parent / "data"


def cpu_time(f, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time(); f(); best = min(best, time.process_time() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, nargs="+", default=[0.25, 1, 4])
    ap.add_argument("--words", type=int, default=1_500_000)
    ap.add_argument("--merges", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    base = {i: bytes([i]) for i in range(256)}
    print(f"FLAT_MIN = {FLAT_MIN:,} characters; {a.merges:,} merges; process CPU time, best of {a.repeat}")
    source = DATA/f"merge_{max(a.mb):g}mb.txt"
    if not source.exists(): generate(source, max(a.mb), a.words)
    text = source.read_bytes()
    for mb in a.mb:
        path = DATA/f"merge_prefix_{mb:g}mb.txt"       # the first `mb` MB, cut after a document
        head = text[:int(mb * 1e6)]
        path.write_bytes(head[:head.rfind(b"<|endoftext|>") + len(b"<|endoftext|>")] if b"<|endoftext|>" in head else head)
        counts = count_pretokens(path, ["<|endoftext|>"])
        chars = sum(map(len, counts))
        words = lambda: merge_words([list(s.encode("utf-8")) for s in counts], list(counts.values()), dict(base), a.merges)
        flat = lambda: merge_flat(*flat_words(Counter(counts)), dict(base), a.merges)
        assert words() == flat(), "the two merge loops disagree"
        tw, tf = cpu_time(words, a.repeat), cpu_time(flat, a.repeat)
        print(f"{mb:6g} MB: {len(counts):9,} distinct pre-tokens, {chars:11,} characters: words {tw:6.2f} s, "
              f"flat {tf:6.2f} s, flat / words {tf / tw:.2f}")


if __name__ == "__main__":
    main()
