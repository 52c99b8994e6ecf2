"""The generation chapter's widget, in JupyterLab in a real browser, as a learner uses it.

Starts JupyterLab on a free 127.0.0.1 port (no token, no browser of its own) over a temporary copy of
nbs/14_generate.ipynb (so that autosave never touches the source), opens it in Debian's Chromium through Playwright,
runs the temperature/top-p cell (it imports what it needs, so it runs on its own), and checks that the static figure
and the widget's sliders are displayed and that moving a slider redraws the widget's figure.

Needs `chromium` (Debian: `apt-get install -y chromium`), `playwright` and `jupyterlab` (pip); fails, never skips.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT/"nbs"/"14_generate.ipynb"
MARK = "def show_next_token("          # the widget cell
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000   # starting a kernel and importing torch on a loaded 2-core machine


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "A JupyterLab server over a folder holding a copy of the chapter; yields (base URL, notebook name)."
    work = tmp_path_factory.mktemp("lab")
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert any(MARK in "".join(c["source"]) for c in nb["cells"]), f"{NOTEBOOK.name} has no cell with {MARK!r}"
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}  # no kernel dialog
    (work/NOTEBOOK.name).write_text(json.dumps(nb), encoding="utf-8")
    port, home = _free_port(), work/".jupyter"
    tracker = home/"settings"/"@jupyterlab"/"notebook-extension"/"tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))   # every cell in the page, not only those in view
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_CONFIG_DIR": str(home/"config"), "JUPYTER_RUNTIME_DIR": str(home/"run"),
           "JUPYTERLAB_SETTINGS_DIR": str(home/"settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home/"ws"), "IPYTHONDIR": str(home/"ipython")}
    env.pop("MPLBACKEND", None); env.pop("IN_TEST", None)
    lab_bin = Path(sys.executable).parent/"jupyter-lab"
    log = open(work/"lab.log", "w")
    proc = subprocess.Popen([str(lab_bin), "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={work}",
                             "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                             "--LabApp.news_url=None", "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: pytest.fail(f"jupyter lab exited:\n{(work/'lab.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"jupyter lab did not answer on {url}:\n{(work/'lab.log').read_text()[-3000:]}")
        yield url, NOTEBOOK.name
    finally:
        proc.terminate()
        try: proc.wait(15)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    if not Path(CHROMIUM).exists(): pytest.fail(f"no browser at {CHROMIUM}: `apt-get install -y chromium`, or set CHROMIUM")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(TIMEOUT_MS)
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        url, name = lab
        pg.goto(f"{url}/lab/tree/{name}")
        pg.wait_for_selector(".jp-Notebook .jp-Cell")
        pg.errors = errors
        yield pg
        browser.close()


def test_widget_displays_and_responds(page, tmp_path):
    try: _run_widget_cell(page)
    except Exception:
        page.screenshot(path=tmp_path/"jupyterlab.png", full_page=True)
        print(f"what the page showed: {tmp_path/'jupyterlab.png'}")
        raise


def _run_widget_cell(page):
    cell = page.locator(".jp-CodeCell", has_text="show_next_token(").filter(has_text="W.interact").first
    cell.scroll_into_view_if_needed()
    out = cell.locator(".jp-OutputArea")
    sliders = out.locator(".widget-slider")
    for attempt in range(3):            # a key pressed while the page or the kernel is still starting can be lost
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try: sliders.first.wait_for(timeout=TIMEOUT_MS); break
        except Exception:
            if attempt == 2: raise
    assert sliders.count() == 2, f"expected the temperature and top-p sliders, found {sliders.count()}"
    static = out.locator(".jp-RenderedImage img").first     # the three fixed panels, what the docs site shows
    static.wait_for()
    redraw = out.locator(".widget-output .jp-RenderedImage img").first
    redraw.wait_for()
    before = redraw.get_attribute("src")
    sliders.first.locator(".noUi-handle").focus()
    for _ in range(6): page.keyboard.press("ArrowRight")    # temperature 1.0 → 1.3
    deadline = time.time() + TIMEOUT_MS / 1000
    while redraw.get_attribute("src") == before and time.time() < deadline: time.sleep(0.2)
    redrawn = redraw.get_attribute("src") != before
    assert redrawn, "moving the temperature slider did not redraw the figure"
    assert "1.3" in sliders.first.locator(".widget-readout").inner_text()
    assert not out.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']", has_text="Error").count()
    assert not page.errors, f"JavaScript errors: {page.errors}"
