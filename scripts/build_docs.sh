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
# 3. `smalldocs check` rebuilds into a scratch folder and lists what it ignores and every broken link. Broken links
#    fail the build; the keys smalldocs ignores (listed below) are printed as notes.
#
# With Quarto installed (`pip install quarto-cli` or quarto.org's installer), `nbdev-docs` builds the same project
# into `_docs/` (that is what .github/workflows/deploy.yaml publishes) and `nbdev-preview` serves it with live reload.
# Known differences from Quarto: smalldocs does not read `output-file`, so `nbs/05_layers.ipynb` becomes
# `05_layers.html` here but `layers.html` on the Quarto site (links between notebooks written as `05_layers.ipynb`
# work on both); it builds no Markdown (`commonmark`) copy of the pages; KaTeX for maths comes from a CDN in both.
set -euo pipefail
out="${1:-_site}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "$0")/.."
root="$PWD"
command -v smalldocs >/dev/null || { echo "smalldocs not found: activate .venv (bash scripts/setup.sh dev installs it)" >&2; exit 1; }

SECONDS=0
# nbdev warns about each cell that mixes imports with other code (it runs every cell with an import, to make
# show_doc work) and prints the whole cell; that is advice for notebook authors, not a build problem: silence it here.
PYTHONWARNINGS="ignore::UserWarning:nbdev.processors" python -c "from nbdev.serve import proc_nbs; proc_nbs()"

# smalldocs writes into the project's `output-dir` (nbdev.yml: _docs, inside _proc); move it to OUTDIR.
smalldocs render _proc --quiet 2>/dev/null
if [ -e "$out" ] && [ ! -d "$out/site_libs" ]; then
  echo "refusing to replace $out: it exists and is not a built site (no site_libs/)" >&2; exit 1
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$root/_proc/_docs" "$out"

set +e
report=$(smalldocs check _proc 2>&1)
set -e
# What smalldocs does not do as Quarto does, and that is expected for an nbdev project (nothing to fix):
#   format-links / format commonmark / keep-md: Quarto's "Markdown" copy of each page, which smalldocs does not make;
#   output-file: nbdev names each page without its number prefix; smalldocs keeps the notebook's name.
expected='unknown key format-links|format commonmark is not built|format\.html\.keep-md is ignored|output-file is not read'
broken=$(grep -E 'broken link' <<<"$report" | sort -u || true)
other=$(grep -vE "broken link|$expected|page\(s\); .* thing\(s\) to look at" <<<"$report" | sort -u || true)
[ -n "$other" ] && { echo "smalldocs notes:"; sed 's/^/  /' <<<"$other"; }
if [ -n "$broken" ]; then
  echo "broken links in the docs site (page: target):" >&2
  sed 's/^/  /' <<<"$broken" >&2
  exit 1
fi
pages=$(find "$out" -maxdepth 1 -name '*.html' | wc -l)
echo "docs site: $pages pages in ${out#"$root"/} (${SECONDS} s)"
