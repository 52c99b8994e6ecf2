"`cs336-lm train-bpe` with worker processes, killed with SIGKILL while counting: no worker outlives it."
import os, random, signal, subprocess, sys, time
from pathlib import Path

import psutil


def _alive(p: psutil.Process) -> bool:
    try: return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess: return False


def test_train_bpe_workers_die_with_parent(tmp_path: Path):
    rng = random.Random(0)
    words = ["".join(rng.choices("abcdefghijklmnop", k=rng.randint(2, 9))) for _ in range(50_000)]
    doc = " ".join(rng.choices(words, k=2_000)) + "<|endoftext|>"
    (tmp_path/"t.txt").write_text(doc * 4_000, encoding="utf-8")          # ~50 MB: counting takes seconds
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    cli = "import sys; from cs336_lm.cli import main; sys.exit(main())"     # what the `cs336-lm` script runs
    p = subprocess.Popen([sys.executable, "-c", cli, "train-bpe", str(tmp_path/"t.txt"), "--vocab-size", "1000",
                          "--special-token", "<|endoftext|>", "--out", str(tmp_path/"tok"), "--num-processes", "2"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parent, workers, deadline = psutil.Process(p.pid), [], time.time() + 120
    while len(workers) < 2 and p.poll() is None and time.time() < deadline:   # wait until both workers have started
        workers = [c for c in parent.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        time.sleep(0.05)
    assert len(workers) == 2, f"workers never started: {p.poll()=}"
    time.sleep(0.5)                                                          # let them get to work
    assert all(map(_alive, workers)), "the workers finished before the kill: make the text longer"
    os.kill(p.pid, signal.SIGKILL)
    assert p.wait(timeout=30) == -signal.SIGKILL
    deadline = time.time() + 30
    while any(map(_alive, workers)) and time.time() < deadline: time.sleep(0.1)
    left = [w.pid for w in workers if _alive(w)]
    for pid in left: os.kill(pid, signal.SIGKILL)                            # don't leave them behind for the next test
    assert not left, f"workers {left} outlived their killed parent"
