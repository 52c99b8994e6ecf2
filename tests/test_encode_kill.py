"`cs336-lm encode` with two workers, killed with SIGKILL mid-run: no worker outlives it, and the next run cleans up."
import os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import tiktoken

from cs336_lm.bpe import save_bpe
from cs336_lm.core import fixture
from cs336_lm.tokenizer import Tokenizer

def _children(pid: int) -> list[int]:
    "Processes whose parent is `pid` (Linux /proc)."
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try: stat = (p/"stat").read_text()
            except OSError: continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid: out.append(int(p.name))
    return out

def _workers(pid: int) -> list[int]:
    "The spawned worker processes among `pid`'s children (not multiprocessing's resource tracker)."
    def cmdline(c: int) -> str:
        try: return Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")
        except OSError: return ""                                   # gone meanwhile
    return [c for c in _children(pid) if "spawn_main" in cmdline(c)]

def _alive(pid: int) -> bool:
    try: return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError: return False

def _encode(text: Path, tok: Path, out: Path) -> subprocess.Popen:
    code = "import sys; from cs336_lm.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, "encode", str(text), "--tokenizer-dir", str(tok), "--out", str(out),
                             "--num-processes", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes through Linux's /proc")
def test_encode_sigkill_leaves_no_orphans_and_rerun_cleans_up(tmp_path: Path):
    gpt2 = Tokenizer.from_files(fixture("gpt2/gpt2_vocab.json"), fixture("gpt2/gpt2_merges.txt"))
    save_bpe(gpt2.vocab, gpt2.merges, tmp_path/"tok")
    sample = fixture("tinystories/TinyStories-train-sample.txt").read_bytes()
    (tmp_path/"in.txt").write_bytes(sample * 16)                      # ~34 MB: two chunks of several seconds each
    out = tmp_path/"out"/"ids.npy"
    out.parent.mkdir(); out.write_bytes(b"an old output that must survive")

    p = _encode(tmp_path/"in.txt", tmp_path/"tok", out)
    deadline, workers = time.time() + 120, []
    while time.time() < deadline and p.poll() is None:              # wait until both workers write their pieces
        workers = _workers(p.pid)
        pieces = [f for f in out.parent.glob(".ids.npy.*.tmp/*.bin") if f.stat().st_size > 0]
        if len(pieces) >= 2: break
        time.sleep(0.02)
    assert p.poll() is None, f"encode ended before it could be killed: {p.stderr.read()}"
    workers = _workers(p.pid) or workers
    assert len(workers) == 2, workers                              # the two workers, found by their command line
    os.kill(p.pid, signal.SIGKILL); p.wait()

    deadline = time.time() + 3   # far less than a chunk takes: the workers were killed, not done
    while any(_alive(w) for w in workers) and time.time() < deadline: time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "a worker outlived the killed encode"
    assert out.read_bytes() == b"an old output that must survive"
    assert list(out.parent.glob(".ids.npy.*.tmp")), "the killed run should have left its pieces (else the test proves nothing)"

    p = _encode(tmp_path/"in.txt", tmp_path/"tok", out)
    assert p.wait(timeout=600) == 0, p.stderr.read()
    assert sorted(f.name for f in out.parent.iterdir()) == ["ids.npy"]   # no temporary file or folder remains
    want = tiktoken.get_encoding("gpt2").encode((sample * 16).decode("utf-8"), allowed_special={"<|endoftext|>"})
    assert np.load(out).tolist() == want                                  # the same ids as a clean run (tiktoken's)
