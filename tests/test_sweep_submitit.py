"""A sweep run as submitit jobs gives exactly the numbers of the sequential runner: two runs side by side in local
processes, one of them killed with SIGKILL and resumed by running the sweep again; a job pre-empted (SIGUSR2) requeues
itself and resumes; the Slurm path writes the sbatch script it should, and runs through submitit's DebugExecutor."""
import contextlib, dataclasses, io, os, signal, sys, threading, time
from pathlib import Path

import pytest
import torch

submitit = pytest.importorskip("submitit")
linux = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds a job's process through /proc")

from _train_helpers import TINY_MODEL, make_data, curve
from cs336_lm.experiments import (RunJob, _local_slots, _run_as_jobs, cluster_executor, load_runs, plot_curves,
                                  results_table, sweep)
from cs336_lm.checkpoint import read_checkpoint
from cs336_lm.run_dir import read_metrics
from cs336_lm.train_config import TrainConfig

GRID = dict(max_lr=[1e-2, 3e-3])
NAMES = ["s-max_lr=0.01", "s-max_lr=0.003"]
SAME = ("status", "step", "tokens", "train_loss", "val_loss", "best_val_loss", "final_val_loss", "full_val_loss")

@pytest.fixture(scope="module")
def base(tmp_path_factory) -> TrainConfig:
    train, valid = make_data(tmp_path_factory.mktemp("data"))
    return TrainConfig.from_dict(dict(train_data=train, valid_data=valid, model=TINY_MODEL, batch_size=8, max_iters=100,
                                      max_lr=1e-2, min_lr=1e-3, warmup_iters=5, eval_interval=50, eval_batches=4,
                                      log_interval=5, ckpt_interval=20, device="cpu", progress=False, seed=3))

@pytest.fixture(scope="module")
def reference(base, tmp_path_factory) -> dict:
    "The sequential runner, in this process, on one thread like the jobs: summaries and curves by run name."
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runs = tmp_path_factory.mktemp("seq")
    try:
        with contextlib.redirect_stdout(io.StringIO()): summaries = sweep("s", base, runs, **GRID)
    finally: torch.set_num_threads(threads)
    return {s["name"]: (s, curve(runs/s["name"]/"metrics.jsonl")) for s in summaries}

def same(summary: dict, want: dict) -> bool: return all(summary.get(k) == want.get(k) for k in SAME)

def holder(lock: Path) -> int | None:
    "The id of the process that has `lock` open (a job's process holds its run's lock file open while it trains)."
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(fd) == str(lock): return int(fd.parts[2])
    return None

def in_thread(fn):
    "Start `fn()` in a thread; returns a list that receives its result or exception, and the thread."
    out = []
    def go():
        try: out.append(fn())
        except Exception as e: out.append(e)
    t = threading.Thread(target=go); t.start()
    return out, t

def wait_for(cond, timeout=120):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.005)

@linux
def test_local_jobs_killed_and_resumed_match_sequential(base, reference, tmp_path):
    runs, ex = tmp_path/"runs", cluster_executor("local", tmp_path/"jobs", cpus_per_job=1)
    locks = [runs/f".{n}.lock" for n in NAMES]
    out, t = in_thread(lambda: sweep("s", base, runs, executor=ex, **GRID))
    wait_for(lambda: all(holder(l) for l in locks))                  # both runs train at once, in two other processes
    pids = {holder(l) for l in locks}
    assert len(pids) == 2 and os.getpid() not in pids
    ckpt = runs/NAMES[1]/"ckpt.pt"
    wait_for(lambda: ckpt.exists())
    os.kill(holder(locks[1]), signal.SIGKILL)
    t.join(120)
    assert isinstance(out[0], RuntimeError) and "1 of 2 runs failed" in str(out[0]) and NAMES[1] in str(out[0]), out
    it = read_checkpoint(ckpt)["iteration"]
    assert 20 <= it < 100, it
    before = [r for r in read_metrics(runs/NAMES[1]) if r["step"] <= it]   # with their wall-clock times
    # while the killed run is unfinished, with a torn last line, the runs folder reads back
    with open(runs/NAMES[1]/"metrics.jsonl", "a") as f: f.write('{"step": 999, "loss": 1.')
    got = load_runs(runs)
    assert list(got) == sorted(NAMES) and got[NAMES[1]]["summary"] is None and got[NAMES[0]]["summary"]["status"] == "finished"
    assert f"| {NAMES[1]} | running |" in results_table(got)
    plot_curves(got)
    # changed settings are an error, from inside the job too
    with pytest.raises(RuntimeError, match=r"other settings: batch_size \(8 → 4\)"):
        sweep("s", dataclasses.replace(base, batch_size=4), runs, executor=ex, max_lr=[3e-3])
    # the same sweep again: the finished run is not submitted, the killed one resumes from its checkpoint
    mtime = (runs/NAMES[0]/"metrics.jsonl").stat().st_mtime
    summaries = sweep("s", base, runs, executor=ex, **GRID)
    assert (runs/NAMES[0]/"metrics.jsonl").stat().st_mtime == mtime
    assert read_metrics(runs/NAMES[1])[:len(before)] == before         # kept, timings and all: resumed, not restarted
    for s in summaries:
        want, want_curve = reference[s["name"]]
        assert same(s, want), (s, want)
        assert curve(runs/s["name"]/"metrics.jsonl") == want_curve     # exactly, step by step

@linux
def test_preempted_job_requeues_itself_and_resumes(base, reference, tmp_path):
    runs, ex = tmp_path/"runs", cluster_executor("local", tmp_path/"jobs", cpus_per_job=1)
    out, t = in_thread(lambda: sweep("s", base, runs, executor=ex, max_lr=[1e-2]))
    ckpt = runs/NAMES[0]/"ckpt.pt"
    wait_for(lambda: ckpt.exists())
    pid = holder(runs/f".{NAMES[0]}.lock")
    os.kill(pid, signal.SIGUSR2)                                         # what Slurm sends before a time limit or pre-emption
    t.join(120)
    assert isinstance(out[0], list), out
    log = "".join(p.read_text() for p in (tmp_path/"jobs").glob("*_log.*"))
    assert "Calling checkpoint method" in log and "Requeued job" in log, log[-2000:]
    want, want_curve = reference[NAMES[0]]
    assert same(out[0][0], want) and curve(runs/NAMES[0]/"metrics.jsonl") == want_curve

def test_debug_executor_matches_sequential(base, reference, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            summaries = sweep("s", base, tmp_path/"runs", executor=cluster_executor("debug", tmp_path/"jobs"), **GRID)
    finally: torch.set_num_threads(threads)
    for s in summaries: assert same(s, reference[s["name"]][0])

def test_slurm_submission(base, tmp_path, monkeypatch):
    "Stand-ins for `sbatch` and `srun` on PATH: the job array's sbatch script and pickled calls are written, not run."
    bin = tmp_path/"bin"; bin.mkdir()
    (bin/"sbatch").write_text("#!/bin/sh\necho 'Submitted batch job 4242'\n"); (bin/"srun").write_text("#!/bin/sh\n")
    for f in bin.iterdir(): f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin}{os.pathsep}{os.environ['PATH']}")
    ex = cluster_executor("slurm", tmp_path/"jobs", partition="gpu", account="my-lab", gpus_per_job=1, cpus_per_job=4,
                          time_min=90, parallel=2)
    submitted = []
    monkeypatch.setattr(submitit.slurm.slurm.SlurmJob, "result", lambda job: submitted.append(job) or {"name": "?"})
    _run_as_jobs(ex, base, tmp_path/"runs", [(n, dict(max_lr=v)) for n, v in zip(NAMES, GRID["max_lr"])])
    assert [j.job_id for j in submitted] == ["4242_0", "4242_1"]
    script = submitted[0].paths.submission_file.read_text()
    for line in ("--partition=gpu", "--account=my-lab", "--gpus-per-node=1", "--cpus-per-task=4", "--time=90",
                 "--array=0-1%2", "--signal=USR2@"):
        assert f"#SBATCH {line}" in script, script
    call = submitit.helpers.DelayedSubmission.load(submitted[1].paths.submitted_pickle)
    assert isinstance(call.function, RunJob) and call.function.threads == 4
    assert call.args == (NAMES[1], base, str(tmp_path/"runs"), dict(max_lr=3e-3))

def test_local_gpu_slots(monkeypatch, tmp_path):
    "One job per GPU (or group of GPUs), each told its own devices; the physical ids come from CUDA_VISIBLE_DEVICES."
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,7")
    assert _local_slots(cluster_executor("local", tmp_path, gpus_per_job=1, cpus_per_job=2))[0] == ["3", "5", "7"]
    assert _local_slots(cluster_executor("local", tmp_path, gpus_per_job=2, cpus_per_job=2)) == (["3,5"], 2)
    with pytest.raises(ValueError, match="4 GPUs per job"): _local_slots(cluster_executor("local", tmp_path, gpus_per_job=4))

def test_without_submitit(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(ImportError, match=r"pip install 'cs336-lm\[cluster\]'"): cluster_executor("local", tmp_path)
