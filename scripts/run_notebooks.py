"""Run the chapters the way a learner does: each notebook top to bottom ("Run All") in a real Jupyter kernel.

    python scripts/run_notebooks.py                 # every chapter; fail on an error or a stale stored output
    python scripts/run_notebooks.py nbs/14_*.ipynb  # some chapters
    python scripts/run_notebooks.py --store         # re-execute and store the fresh outputs (then nbdev-clean)

Each notebook runs in its own kernel (nbclient, cwd `nbs/`, inline figures), two at a time, with the chapters'
switches as they are in the notebooks (off: `#| slow` cells and full-scale `#| gpu` cells print one line and run
nothing; see `cs336_lm.core.switch_cells`). A cell that raises fails the run. Then every cell's fresh text output
(stdout and `text/plain`/`text/markdown` results; not stderr, images, HTML or widgets) must equal the stored one,
except in cells marked with a `#| volatile` line, whose outputs depend on time or the machine: there numbers,
hex ids and temporary paths are masked before comparing (temporary folders' random names always are) (`#| volatile skip`: not compared at all). Cells the
switches skipped keep and are not compared to their stored outputs. `--store` writes the fresh outputs into the
notebook (only if it did not change on disk meanwhile; never an output that names a folder of this machine) and runs
nbdev-clean on it. As in nbdev-test, the cell that calls `nbdev_export()` is left out, so a run never rewrites the library.
Kernels run side by side get `OMP_NUM_THREADS` = cores / workers, so that their threads do not fight over the cores.
"""
import argparse
import concurrent.futures
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/"nbs"
SKIPPED = re.compile(r"skipped \((RUN_SLOW is off|FULL_SCALE is off|no CUDA GPU here)\)")  # what switch_cells prints
WIDGET = "application/vnd.jupyter.widget-view+json"
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+)(.*)$")
_TEMP = re.compile(re.escape(tempfile.gettempdir()) + r"/tmp[\w]{6,}")   # a fresh temporary folder's name: random
_MASKS = [(re.compile(r"0x[0-9a-fA-F]+"), "0x…"), (re.compile(r"/tmp/[^\s'\"]*|tmp[\w]{6,}"), "TMP"),
          (re.compile(r"[ \t]*[-+]?(\d+[\d_,]*\.?\d*|\.\d+)([eE][-+]?\d+)?"), " #")]   # padding goes with the number


def all_notebooks():
    return sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", ".")))


def names_this_machine(outputs):
    "Do these outputs name a folder of this machine (the checkout, the data directory, the home directory)?"
    text = json.dumps(outputs)
    return any(d in text for d in (str(ROOT), os.environ.get("CS336_DATA_DIR") or str(ROOT/"data"), str(Path.home())))


def _src(cell): return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
def _text(v): return "".join(v) if isinstance(v, list) else v


def directives(source):
    "The nbdev directives at the top of a cell, as {name: rest of line}."
    out = {}
    for line in source.splitlines():
        if m := _DIRECTIVE.match(line): out[m.group(1)] = m.group(2).strip(" :")
        elif line.strip(): break
    return out


def text_output(outputs):
    "What a reader reads of a cell's outputs: stdout and the text/plain or text/markdown of results and displays."
    parts = []
    for o in outputs:
        if o["output_type"] == "stream" and o.get("name") == "stdout": parts.append(_text(o["text"]))
        elif o["output_type"] in ("execute_result", "display_data"):
            data = o.get("data", {})
            if WIDGET in data: continue   # a widget: its model id is random
            for mime in ("text/markdown", "text/plain"):
                if mime in data: parts.append(_text(data[mime]).rstrip("\n") + "\n"); break
    return "".join(parts)


def skipped(cell):
    "Did the switches skip this cell (its only output is switch_cells' one line)?"
    return SKIPPED.match(text_output(cell.get("outputs", [])).strip() or "-") is not None


def loose(text):
    for pattern, repl in _MASKS: text = pattern.sub(repl, text)
    return text


def compare(name, stored_nb, fresh_nb):
    "A readable diff for each cell whose fresh text output differs from the stored one (empty when all agree)."
    problems = []
    for i, (cell, stored) in enumerate(zip(fresh_nb["cells"], stored_nb["cells"])):   # the same file: cells pair up
        if cell["cell_type"] != "code": continue
        if names_this_machine(stored.get("outputs", [])):
            problems.append(f"{name} cell {i}: its stored output names a folder of this machine (a reader has other folders)")
        if skipped(cell): continue
        d = directives(_src(cell))
        if d.get("volatile") == "skip": continue
        a, b = (_TEMP.sub("TMPDIR", text_output(c)) for c in (stored.get("outputs", []), cell["outputs"]))
        if "volatile" in d: a, b = loose(a), loose(b)
        if a == b: continue
        first = _src(cell).strip().splitlines()[0][:80] if _src(cell).strip() else ""
        diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "stored", "fresh", n=1))
        problems.append(f"{name} cell {i} ({first!r}): stored output differs from a fresh run"
                        f"{' (numbers masked: #| volatile)' if 'volatile' in d else ''}:\n{diff[:3000]}")
    return problems


def execute(path, timeout=900, threads=None):
    "Run the notebook at `path` in a fresh kernel (`threads`: its CPU threads); (executed notebook, seconds, error or None)."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("MPLBACKEND", None)          # figures inline, as in JupyterLab
    env.pop("IN_TEST", None)             # a learner's kernel, not nbdev-test
    if threads: env["OMP_NUM_THREADS"] = str(threads)   # kernels side by side: each its share of the cores, no spinning
    exports = {i: c.source for i, c in enumerate(nb.cells) if c.cell_type == "code" and "nbdev_export(" in c.source}
    for i in exports: nb.cells[i].source = "pass"     # as nbdev-test does: a test run never rewrites the library
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t, err = time.time(), None
    try: client.execute(env=env, cwd=str(path.parent))
    except (CellExecutionError, CellTimeoutError) as e: err = str(e)[-4000:]
    for i, source in exports.items(): nb.cells[i].source = source
    for i, cell in enumerate(nb.cells):    # an error output that did not stop the run (e.g. printed by a display hook)
        if err is None and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            err = f"cell {i} has an error output"
    return nb, time.time() - t, err


def slowest(nb, n=3):
    "The `n` slowest cells of an executed notebook, as 'cell I: S s' strings."
    times = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            from datetime import datetime
            a, b = (datetime.fromisoformat(t[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply"))
            times.append(((b - a).total_seconds(), i))
    return [f"cell {i}: {s:.1f} s" for s, i in sorted(times, reverse=True)[:n]]


def run_one(path, store=False, timeout=900, threads=None):
    "Execute one notebook; (name, seconds, list of problems, slowest cells). With `store`, write its fresh outputs back."
    import nbformat
    path = Path(path).resolve()
    before = path.read_bytes()
    stored = json.loads(before)
    fresh, seconds, err = execute(path, timeout, threads)
    slow = slowest(fresh)
    if err: return path.name, seconds, [f"{path.name}: {err}"], slow
    if not store: return path.name, seconds, compare(path.name, stored, fresh), slow
    if path.read_bytes() != before: return path.name, seconds, [f"{path.name} changed on disk while it ran; not stored"], slow
    problems = []
    for i, (cell, old) in enumerate(zip(fresh.cells, stored["cells"])):
        if cell.cell_type != "code": continue
        cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]   # live only: the docs show the figure
        if skipped(cell):
            cell.outputs = nbformat.from_dict(old.get("outputs", []))                  # keep what a real run showed
            if names_this_machine(cell.outputs):
                problems.append(f"{path.name} cell {i}: its stored output names a folder of this machine (a reader has other folders)")
        elif names_this_machine(cell.outputs):                                         # a reader's machine differs
            if directives(cell.source).get("volatile") != "skip":
                problems.append(f"{path.name} cell {i}: its output names a folder of this machine; kept the stored output")
            cell.outputs = nbformat.from_dict(old.get("outputs", []))
    fresh.metadata.pop("widgets", None)                  # the widgets' state: live only, as their views
    nbformat.write(fresh, path)
    subprocess.run([str(Path(sys.executable).parent/"nbdev-clean"), "--fname", str(path)], cwd=ROOT, check=True)
    return path.name, seconds, problems, slow


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all of nbs/)")
    ap.add_argument("--store", action="store_true", help="write the fresh outputs into the notebooks")
    ap.add_argument("--workers", type=int, default=2, help="notebooks run at the same time (default 2)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds one cell may take (default 900)")
    args = ap.parse_args(argv)
    nbs = [p.resolve() for p in args.notebooks] or all_notebooks()
    t0, failed = time.time(), []
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        jobs = [pool.submit(run_one, p, args.store, args.timeout, threads) for p in nbs]
        for job in concurrent.futures.as_completed(jobs):
            name, seconds, problems, slow = job.result()
            print(f"{'FAIL' if problems else 'ok  '} {seconds:6.1f} s  {name:28} slowest: {', '.join(slow)}", flush=True)
            for p in problems: print(p, file=sys.stderr)
            failed += [name] if problems else []
    print(f"{len(nbs) - len(failed)}/{len(nbs)} notebooks ok in {time.time() - t0:.0f} s ({args.workers} at a time)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
