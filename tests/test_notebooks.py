"Run each notebook's tests with nbdev-test, one pytest case per notebook, so CI counts and names them."
import os
import subprocess
import sys
from pathlib import Path

import pytest

NBS = Path(__file__).resolve().parent.parent/"nbs"
NOTEBOOKS = sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", ".")))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook(nb):
    flags = os.environ.get("NBDEV_FLAGS", "")
    cmd = [str(Path(sys.executable).parent/"nbdev-test"), str(nb), "--n-workers", "1"]
    if flags: cmd += ["--flags", flags]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=NBS.parent)
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
