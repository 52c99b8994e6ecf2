"""Every chapter run top to bottom in a real Jupyter kernel, as a learner runs it ("Run All"), one case per notebook.

Uses `scripts/run_notebooks.py`: the switches stay as the notebooks set them (off), so slow and full-scale cells print
one line and run nothing, and GPU cells run only where CUDA is present. A case fails when a cell raises, or when a
cell's stored text output differs from the fresh one (cells marked `#| volatile` are compared with their numbers
masked); the message names the notebook and cell and shows the diff. Refresh the stored outputs with
`python scripts/run_notebooks.py --store NOTEBOOK`.
"""
import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("run_notebooks", Path(__file__).resolve().parent.parent/"scripts"/"run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)
NOTEBOOKS = run_notebooks.all_notebooks()
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
THREADS = max(1, (os.cpu_count() or 1) // WORKERS)   # each kernel its share of the cores


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all(nb):
    name, seconds, problems, slowest = run_notebooks.run_one(nb, threads=THREADS)
    assert not problems, "\n\n".join(problems)
