"A training process killed with SIGKILL after a checkpoint, then resumed, logs exactly the numbers of an uninterrupted run."
import os, signal, subprocess, sys, time
from pathlib import Path

import torch

from _train_helpers import env, write_config, curve

def _train(cfg: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cs336_lm.train", "--config", cfg, *extra], env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

def test_sigkill_then_resume_matches_uninterrupted(tmp_path: Path):
    steps = 300   # long enough that the kill lands mid-run on a fast machine
    straight = write_config(tmp_path, "straight.json", out_dir=str(tmp_path/"straight"), max_iters=steps, ckpt_interval=50,
                            eval_interval=100, log_interval=5)
    killed = write_config(tmp_path, "killed.json", out_dir=str(tmp_path/"killed"), max_iters=steps, ckpt_interval=50,
                          eval_interval=100, log_interval=5)
    p = _train(straight)
    assert p.wait(timeout=300) == 0, p.stderr.read()

    p = _train(killed)
    ckpt = tmp_path/"killed"/"ckpt.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and p.poll() is None and time.time() < deadline: time.sleep(0.005)
    os.kill(p.pid, signal.SIGKILL)
    assert p.wait(timeout=60) == -signal.SIGKILL, "the run finished before it could be killed"
    it = torch.load(ckpt, map_location="cpu", weights_only=False)["iteration"]
    assert 50 <= it < steps
    assert curve(tmp_path/"killed"/"metrics.jsonl") != curve(tmp_path/"straight"/"metrics.jsonl")

    p = _train(killed, "--resume")
    assert p.wait(timeout=300) == 0, p.stderr.read()
    got, want = curve(tmp_path/"killed"/"metrics.jsonl"), curve(tmp_path/"straight"/"metrics.jsonl")
    assert len(want) == steps // 5 + steps // 100 + 1   # a loss record every 5 steps + validations at 0, 100, 200, 300
    assert got == want   # exactly: same weights, AdamW moments, batches and schedule after the restart
