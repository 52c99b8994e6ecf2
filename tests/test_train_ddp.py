"Two CPU processes under torchrun (gloo) train exactly like one process that accumulates their two micro-batches."
import subprocess, sys
from pathlib import Path

import pytest

from _train_helpers import env, write_config, curve

def test_ddp_two_processes_match_one_process(tmp_path: Path):
    one = write_config(tmp_path, "one.json", out_dir=str(tmp_path/"one"), batch_size=4, grad_accum_steps=2, max_iters=20)
    two = write_config(tmp_path, "two.json", out_dir=str(tmp_path/"two"), batch_size=4, grad_accum_steps=1, max_iters=20)
    r = subprocess.run([sys.executable, "-m", "cs336_lm.train", "--config", one], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "cs336_lm.train", "--config", two], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = curve(tmp_path/"one"/"metrics.jsonl"), curve(tmp_path/"two"/"metrics.jsonl")
    assert [x[0] for x in a] == [x[0] for x in b]          # rank 0 alone logged: no duplicated steps
    assert len(a) == 20 + 3                                # a loss per step + validations at 0, 10, 20
    for ra, rb in zip(a, b):
        for va, vb in zip(ra[1:], rb[1:]):
            assert (va is None) == (vb is None)
            if va is not None: assert vb == pytest.approx(va, rel=1e-4, abs=1e-5), (ra, rb)
    losses = [x[1] for x in a if x[1] is not None]
    assert losses[-1] < losses[0] - 1.0                    # and it did learn
