"Two CPU processes under torchrun (gloo) with FSDP train like one process accumulating their micro-batches, and resume exactly."
import subprocess, sys
from pathlib import Path

import pytest

from _train_helpers import env, write_config, curve

def _torchrun(cfg: str, *extra: str):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "cs336_lm.train", "--config", cfg, *extra]
    r = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
    if r.returncode and "terminate called without an active exception" in r.stderr:
        # Seen once in CI under heavy load: a gloo worker aborted in C++ (not reproduced since). A crash, not a wrong
        # result, so run it once more; the comparisons below still decide whether FSDP trains correctly.
        r = subprocess.run(cmd + ["--resume"], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]

def _loads_into_one_process(ckpt_path: Path):
    "The gathered checkpoint is an ordinary one: it fits a plain model and AdamW, keys, shapes and optimizer state alike."
    import torch
    from cs336_lm.checkpoint import load_checkpoint, read_checkpoint
    from cs336_lm.optim import AdamW
    from cs336_lm.train import param_groups
    from cs336_lm.train_config import TrainConfig
    from cs336_lm.transformer import TransformerLM
    cfg = TrainConfig.from_dict(read_checkpoint(ckpt_path)["extra"]["config"])
    model = TransformerLM(cfg.model)
    opt = AdamW(param_groups(model, cfg.weight_decay, cfg.no_decay_embed_norm), lr=cfg.max_lr)
    assert load_checkpoint(ckpt_path, model, opt) == 10
    n = sum(p.numel() for p in model.parameters())
    moments = [opt.state[p]["exp_avg"] for p in model.parameters()]     # every parameter's own moment, in its own shape
    assert sum(m.numel() for m in moments) == n and all(m.abs().sum() > 0 for m in moments)

def test_fsdp_two_processes_match_one_process_and_resume_exactly(tmp_path: Path):
    one = write_config(tmp_path, "one.json", out_dir=str(tmp_path/"one"), batch_size=4, grad_accum_steps=2, max_iters=20)
    two = write_config(tmp_path, "two.json", out_dir=str(tmp_path/"two"), batch_size=4, max_iters=20, parallel="fsdp")
    paused = write_config(tmp_path, "paused.json", out_dir=str(tmp_path/"paused"), batch_size=4, max_iters=20, parallel="fsdp")
    r = subprocess.run([sys.executable, "-m", "cs336_lm.train", "--config", one], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    _torchrun(two)
    a, b = curve(tmp_path/"one"/"metrics.jsonl"), curve(tmp_path/"two"/"metrics.jsonl")
    assert [x[0] for x in a] == [x[0] for x in b] and len(a) == 20 + 3   # rank 0 alone logged: a loss per step + 3 validations
    for ra, rb in zip(a, b):
        for va, vb in zip(ra[1:], rb[1:]):
            assert (va is None) == (vb is None)
            if va is not None: assert vb == pytest.approx(va, rel=1e-4, abs=1e-5), (ra, rb)
    _torchrun(paused, "--stop-at-iter", "10")            # a checkpoint gathered from the shards …
    _loads_into_one_process(tmp_path/"paused"/"ckpt.pt")
    _torchrun(paused, "--resume")                        # … loaded back into them
    assert curve(tmp_path/"paused"/"metrics.jsonl") == b  # exactly the uninterrupted FSDP run
