"""Write README.md from nbs/index.ipynb (what `nbdev-readme` does, without needing Quarto).

Links to chapters (`01_unicode.ipynb`, `01_unicode.ipynb#why-utf-8`) are pointed into `nbs/`.

Markdown cells are copied, code cells become ```python blocks (their `#|` directives dropped, `#| hide` cells
skipped) followed by their text output. CI checks that README.md is up to date with this script."""
import json
import re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root/"nbs"/"index.ipynb").read_text(encoding="utf-8"))
parts = ["<!-- WARNING: generated from nbs/index.ipynb by scripts/make_readme.py; edit the notebook, not this file -->"]
for cell in nb["cells"]:
    src = "".join(cell["source"])
    if cell["cell_type"] == "markdown":
        parts.append(re.sub(r"\]\((\w+\.ipynb(?:#[\w.-]+)?)\)", r"](nbs/\1)", src.strip()))   # chapter links from the repo root
    elif cell["cell_type"] == "code":
        lines = src.splitlines()
        if any(l.strip() in ("#| hide", "#|hide") for l in lines): continue
        code = "\n".join(l for l in lines if not l.lstrip().startswith("#|")).strip()
        if code: parts.append(f"```python\n{code}\n```")
        text = "".join("".join(o.get("text", "")) if o["output_type"] == "stream"
                       else "".join(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
        if text.strip(): parts.append(f"```\n{text.rstrip()}\n```")
(root/"README.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
