#!/usr/bin/env bash
# Build the docs site offline, without Quarto, into OUTDIR (default: _site at the project root):
#   . .venv/bin/activate && bash scripts/build_docs.sh [OUTDIR]
#
# 1. nbdev's notebook processing, as `nbdev-proc-nbs` does it: the notebooks and the yml/css files are copied into
#    `_proc/` with `show_doc` run for every exported name, hidden and exported cells dropped, the `> summary` line
#    turned into the page's description. We call nbdev's `proc_nbs` directly rather than the `nbdev-proc-nbs`
#    command because that command first tries to *install Quarto* when it finds none (with sudo, which prompts for a
#    password or downloads a .deb) and rewrites `nbs/nbdev.yml`; this script must stay offline and leave the
#    tree as it found it.
# 2. `smalldocs render` (PyPI, pure Python) builds a Quarto-style website from the same `_quarto.yml` (+ `nbdev.yml`,
#    `sidebar.yml`, `styles.css`): navbar, sidebar, table of contents, search (search.json + Fuse.js), the API docs.
# 3. `python scripts/katex.py` ships KaTeX with the site (from the npm package `katex`, fetched once into the ignored
#    `.cache/` and checked against a pinned checksum) and points the pages at it, so maths renders offline.
# 4. `smalldocs check` rebuilds into a scratch folder and lists what it ignores and every broken link. Broken links
#    fail the build (exit 3); the keys smalldocs ignores (listed below) are printed as notes.
#
# With Quarto installed (`pip install quarto-cli` or quarto.org's installer), `nbdev-docs` builds the same project
# into `_docs/` (that is what .github/workflows/deploy.yaml publishes) and `nbdev-preview` serves it with live reload.
# Known differences from Quarto: smalldocs does not read `output-file`, so `nbs/05_layers.ipynb` becomes
# `05_layers.html` here but `layers.html` on the Quarto site (links between notebooks written as `05_layers.ipynb`
# work on both); it builds no Markdown (`commonmark`) copy of the pages. KaTeX lives in `katex/` in both: Quarto
# points there through `html-math-method` (nbs/_quarto.yml) and the deploy workflow runs scripts/katex.py after it.
set -euo pipefail
out="${1:-_site}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "$0")/.."
root="$PWD"
command -v smalldocs >/dev/null || { echo "smalldocs not found: activate .venv (bash scripts/setup.sh dev installs it)" >&2; exit 1; }

SECONDS=0
# nbdev warns about each cell that mixes imports with other code (it runs every cell with an import, to make
# show_doc work) and prints the whole cell; that is advice for notebook authors, not a build problem: silence it here.
# (python -c, not a here-document: nbdev's worker processes are spawned and re-import the main script.)
proc_nbs=$(cat <<'PY'
import json, re, sys
from nbdev.config import get_config
from nbdev.serve import proc_nbs
try: proc_nbs()
except Exception as e:  # nbdev says "Error in notebook: <title> in cell N :", then the cell and the error: name the file
    msg = str(e).strip()
    m = re.match(r"Error in notebook: (.*) in cell (\d+)", msg)
    for nb in sorted(get_config().nbs_path.glob("*.ipynb")) if m else []:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        if any(re.match(rf"#\s+{re.escape(m.group(1))}\s*$", "".join(c["source"]).strip().splitlines()[0])
               for c in cells[:2] if c["cell_type"] == "markdown" and c["source"]):
            msg = f"{nb.name}, the cell:" + msg.split(":", 1)[1].split(" :", 1)[1]
    sys.exit(f"docs: nbdev could not process the notebooks. It runs each notebook's export cells and every cell "
             f"with an import (to render show_doc), and one failed:\n{msg}")
PY
)
PYTHONWARNINGS="ignore::UserWarning:nbdev.processors" python -c "$proc_nbs"

# smalldocs writes into the project's `output-dir` (nbdev.yml: _docs, inside _proc); move it to OUTDIR.
if ! msg=$(smalldocs render _proc --quiet 2>&1); then echo "$msg" >&2; exit 1; fi  # its warnings: see check below
if [ -e "$out" ] && [ ! -d "$out/site_libs" ]; then
  echo "refusing to replace $out: it exists and is not a built site (no site_libs/)" >&2; exit 1
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$root/_proc/_docs" "$out"
python scripts/katex.py "$out" >/dev/null

set +e
report=$(smalldocs check _proc 2>&1)
set -e
# What smalldocs does not do as Quarto does, and that is expected for an nbdev project (nothing to fix):
#   format-links / format commonmark / keep-md: Quarto's "Markdown" copy of each page, which smalldocs does not make;
#   output-file: nbdev names each page without its number prefix; smalldocs keeps the notebook's name;
#   html-math-method: Quarto's pointer to the local KaTeX; for smalldocs, scripts/katex.py points the pages there.
expected='unknown key format-links|format commonmark is not built|format\.html\.keep-md is ignored|output-file is not read|html-math-method is ignored'
notes=$(python -c '
import re, sys
expected = re.compile(sys.argv[1])
broken, other = {}, []
for line in sys.stdin.read().splitlines():
    if m := re.match(r"(.+?): broken link (.+)", line): broken.setdefault(m.group(2).lstrip("/"), set()).add(m.group(1))
    elif line.strip() and not expected.search(line) and not re.search(r"page\(s\); .* thing\(s\) to look at", line): other.append(line)
if other: print("smalldocs notes:", *sorted(set(other)), sep="\n  ")
if broken:
    print("broken links in the docs site (target: the pages that link to it):", file=sys.stderr)
    for target, pages in sorted(broken.items()):
        print("  " + target + ": " + ", ".join(sorted(pages)), file=sys.stderr)
    sys.exit(3)
' "$expected" <<<"$report") || { rc=$?; [ -n "$notes" ] && echo "$notes"; exit $rc; }
[ -n "$notes" ] && echo "$notes"
pages=$(find "$out" -maxdepth 1 -name '*.html' | wc -l)
echo "docs site: $pages pages in ${out#"$root"/} (${SECONDS} s)"
