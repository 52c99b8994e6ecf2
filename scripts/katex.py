"""Ship KaTeX with a built docs site, so that its maths renders without a network:  python scripts/katex.py SITE_DIR

KaTeX comes from the npm package `katex` (the `dist/` folder: the script, its auto-render extension, the stylesheet and
the fonts), fetched once with `npm pack` into `.cache/` (ignored by git) and checked against the checksum pinned
below; without npm, put `katex-VERSION.tgz` (from any npm mirror) into `.cache/` by hand. The files go to
`SITE_DIR/katex/`, and every page that loads KaTeX from a CDN (smalldocs does) is pointed there instead. A site
rendered by Quarto already points there (`html-math-method` in nbs/_quarto.yml); this script then only adds the files.
Fails, naming the page, if a page still loads KaTeX from elsewhere afterwards.
"""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

VERSION = "0.16.11"
SHA512 = "RQrI8rlHY92OLf3rho/Ts8i/XvjgguEjOkO1BEXcU3N8BqPpSzBNwV/G0Ukr+P/l3ivvJUE/Fa/CwbS6HesGNQ=="  # npm's integrity
FILES = re.compile(r"package/(LICENSE|dist/(katex\.min\.(js|css)|contrib/auto-render\.min\.js|fonts/[\w-]+\.(woff2|woff|ttf)))$")
CDN = re.compile(r"""(["'])(?:https?:)?//[^"']*katex[^"']*?/dist/""")   # the start of a CDN link to KaTeX's dist/
ROOT = Path(__file__).resolve().parent.parent


def tarball() -> Path:
    "The checked `katex-VERSION.tgz` in .cache/, fetched with `npm pack` if it is not there yet."
    cache = ROOT/".cache"
    tgz = cache/f"katex-{VERSION}.tgz"
    if not tgz.exists():
        if not shutil.which("npm"):
            sys.exit(f"docs: KaTeX {VERSION} is shipped with the site from the npm package: install npm (Debian: apt-get "
                     f"install npm), or put katex-{VERSION}.tgz into {cache}")
        cache.mkdir(exist_ok=True)
        r = subprocess.run(["npm", "pack", f"katex@{VERSION}", "--pack-destination", str(cache), "--silent"],
                           capture_output=True, text=True)
        if r.returncode or not tgz.exists():
            sys.exit(f"docs: `npm pack katex@{VERSION}` failed (offline?): {(r.stderr or r.stdout).strip()[-500:]}\n"
                     f"put katex-{VERSION}.tgz into {cache} by hand to build offline")
    digest = base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != SHA512:
        tgz.unlink()
        sys.exit(f"docs: {tgz} does not have katex {VERSION}'s checksum (a corrupt download?): removed it, run again")
    return tgz


def ship(site: Path) -> int:
    "Put KaTeX's files into `site/katex/` and point every page there; returns the number of pages that use it."
    if not (site/"index.html").exists(): sys.exit(f"docs: {site} is not a built site (no index.html)")
    dest = site/"katex"
    shutil.rmtree(dest, ignore_errors=True)
    with tarfile.open(tarball()) as tar:
        for m in tar.getmembers():
            if m.isfile() and (f := FILES.match(m.name)):
                out = dest/f.group(1).removeprefix("dist/")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(m).read())
    pages, stale = 0, []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        rel = Path(os.path.relpath(dest, page.parent)).as_posix()
        new = CDN.sub(lambda m: f"{m.group(1)}{rel}/", text)
        if new != text: page.write_text(new, encoding="utf-8")
        if re.search(r"""<(?:script|link)\b[^>]*(?:src|href)=["'](?:https?:)?//[^"']*katex""", new):
            stale.append(str(page.relative_to(site)))
        pages += f"{rel}/katex.min.js" in new
    if stale: sys.exit(f"docs: these pages still load KaTeX from another site: {', '.join(stale)}")
    return pages


if __name__ == "__main__":
    if len(sys.argv) != 2: sys.exit(__doc__.strip().splitlines()[0])
    n = ship(Path(sys.argv[1]))
    print(f"KaTeX {VERSION} shipped with the site: {n} pages with maths load it from katex/")
