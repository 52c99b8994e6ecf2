r"""The docs site, built offline and checked in a real browser.

A session fixture builds the site with `scripts/build_docs.sh` (nbdev's notebook processing, then smalldocs), serves
it on 127.0.0.1 with `http.server`, and drives Debian's Chromium through Playwright (no browser download). Every
page comes from a notebook in `nbs/`, so a new chapter is covered as soon as it exists. Per page: it loads, has its
title, shows the API docs of every exported name, has no traceback or error in its outputs, no JavaScript error,
every image loads and every same-site link and anchor resolves, nothing is fetched from another site (requests that
leave 127.0.0.1 are blocked; only the theme's web font may ask, and falls back to the system's font),
and its maths is typeset by the KaTeX shipped with the site: no raw `\(`…`\)`, `\[`…`\]` or `$$` left in the prose,
no KaTeX error. For the site: the sidebar and navbar navigate, search finds an exported function and leads to it, and a
screenshot of an equation-heavy chapter shows typeset maths in KaTeX's own fonts.

Needs `chromium` (Debian: `apt-get install -y chromium`) and `playwright` (pip); it fails, never skips, without them.
"""
import ast
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/"nbs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15_000  # for any one browser action; local pages load in well under a second
# Requests to other sites that a page may make, blocked like all others: the Bootswatch theme's @import of its web
# font (the text falls back to the system's sans-serif font; nothing else depends on it).
ALLOWED_EXTERNAL = re.compile(r"https://fonts\.googleapis\.com/")


# ------------------------------------------------------------------ what the notebooks say the pages hold

def _cells(nb_path):
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]

def _src(cell): return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]

_directive = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")

def _directives(source):
    "The nbdev directives (`#| name value`) at the top of a cell."
    out = {}
    for line in source.splitlines():
        m = _directive.match(line)
        if m: out[m.group(1).lower()] = m.group(2).lower()
        elif line.strip(): break
    return out


def notebook_title(nb_path):
    "The page title nbdev gives a notebook: a raw front-matter `title:`, else the first markdown `# heading`."
    for cell in _cells(nb_path):
        src = _src(cell).strip()
        if cell["cell_type"] == "raw" and src.startswith("---"):
            m = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", src, re.M)
            if m: return m.group(1)
        if cell["cell_type"] == "markdown" and src:
            m = re.match(r"#\s+(.+)", src)
            return m.group(1).strip() if m else None
    return None


def notebook_summary(nb_path):
    "The `> summary` line under the title, which nbdev makes the page's description; None if there is none."
    for cell in _cells(nb_path):
        if cell["cell_type"] == "markdown" and _src(cell).strip():
            m = re.search(r"^>\s*(.+(?:\n>\s*.+)*)", _src(cell), re.M)
            return re.sub(r"\s*\n>\s*", " ", m.group(1)).strip() if m else None
    return None


def plain(md):
    "Markdown inline text as a reader sees it: links to their text, no backticks or emphasis, straight quotes, single spaces."
    md = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", md).translate(str.maketrans("‘’“”", "''\"\""))
    return " ".join(re.sub(r"[`*]", "", md).split())


def _patched_name(node):
    "`Class.method` for a function that fastcore's `@patch` adds to a class, else None."
    decos = [d.id if isinstance(d, ast.Name) else getattr(d, "attr", None) for d in node.decorator_list]
    if not {"patch", "patch_to"} & set(decos) or not node.args.args: return None
    ann = node.args.args[0].annotation
    return f"{ast.unparse(ann)}.{node.name}" if ann is not None else None


def exported_names(nb_path):
    "The names nbdev documents: top-level functions and classes of `#| export(s)` cells that are not private or hidden."
    names = []
    for cell in _cells(nb_path):
        if cell["cell_type"] != "code": continue
        src = _src(cell)
        d = _directives(src)
        if not {"export", "exports"} & d.keys() or "hide" in d or d.get("include") == "false": continue
        code = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in src.splitlines())
        try: tree = ast.parse(code)
        except SyntaxError as e: pytest.fail(f"{nb_path.name}: an export cell does not parse: {e}")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                names.append(_patched_name(node) if isinstance(node, ast.FunctionDef) and _patched_name(node) else node.name)
    return names


NOTEBOOKS = sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", ".")))
PAGE_IDS = [p.stem for p in NOTEBOOKS]
def page_of(nb_path): return f"{nb_path.stem}.html"


# ------------------------------------------------------------------ build, serve, browse

def _build_once(out_dir, log_path):
    "Run scripts/build_docs.sh into `out_dir`; keep its exit code and output in `log_path`."
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    t = time.time()
    r = subprocess.run(["bash", str(ROOT/"scripts"/"build_docs.sh"), str(out_dir)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    log_path.write_text(json.dumps({"rc": r.returncode, "out": r.stdout + r.stderr, "s": time.time() - t}))


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    "The built site: its folder and the build's exit code and output. One build per test run, shared by xdist workers."
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, log = shared/"docs_site", shared/"docs_build.json"
    from filelock import FileLock  # a dependency of torch, so always there
    with FileLock(str(shared/"docs_build.lock")):
        if not log.exists(): _build_once(out, log)
    return {"dir": out, **json.loads(log.read_text())}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope="session")
def base_url(site):
    "The site served over HTTP on 127.0.0.1 at a free port, from a thread."
    if not (site["dir"]/"index.html").exists():  # test_build shows why
        pytest.fail(f"scripts/build_docs.sh built no site (exit {site['rc']}); see test_build for its output")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site["dir"])))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="session")
def browser():
    "Headless Chromium from the system (Debian's package), driven by Playwright."
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"no Chromium at {CHROMIUM}: the docs-site test needs it. Install it with "
                    "`apt-get install -y chromium` (Debian/Ubuntu), or set CHROMIUM=/path/to/chromium")
    try: from playwright.sync_api import sync_playwright
    except ImportError: pytest.fail("the docs-site test needs Playwright: pip install playwright (no browser download needed)")
    with sync_playwright() as pw:  # launch() gives the browser a fresh temporary profile, removed at close
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture(scope="session")
def context(browser, base_url):
    "One browser context (desktop-sized window) for the session; requests that leave the local server are refused and listed in `ctx.external`."
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.external = []
    def route(r):
        if r.request.url.startswith(base_url) or r.request.url.startswith("data:"): return r.continue_()
        if not ALLOWED_EXTERNAL.match(r.request.url): ctx.external.append(r.request.url)
        r.abort()
    ctx.route("**/*", route)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    "A fresh tab that records the page's uncaught JavaScript errors in `page.js_errors`, and `context.external` emptied."
    context.external.clear()
    p = context.new_page()
    p.js_errors = []
    p.on("pageerror", lambda e: p.js_errors.append(str(e)))
    yield p
    p.close()


def open_page(page, base_url, name):
    resp = page.goto(base_url + name, wait_until="load")
    assert resp is not None and resp.status == 200, f"{name}: HTTP {resp.status if resp else 'no response'}"
    return resp


# ------------------------------------------------------------------ the build

def test_build(site):
    "scripts/build_docs.sh succeeded: nbdev processed every notebook, smalldocs found no broken link."
    assert site["rc"] == 0, f"scripts/build_docs.sh failed (exit {site['rc']}):\n{site['out'][-6000:]}"


def test_every_notebook_has_a_page(site, base_url):
    missing = [page_of(nb) for nb in NOTEBOOKS if not (site["dir"]/page_of(nb)).exists()]
    assert not missing, f"no page built for: {missing}"


# ------------------------------------------------------------------ each page

# TeX that KaTeX's auto-render should have replaced: \( \) \[ \] or $$ anywhere in the prose.
RAW_MATHS = re.compile(r"\\[()\[\]].{0,40}|\$\$.{0,40}", re.S)

# Outputs that mean a cell failed when the notebook was run: a traceback, an error output, or an error line on stderr.
TRACEBACK = "Traceback (most recent call last)"
ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception)\b:", re.M)

PAGE_JS = """() => {
  const text = (el) => (el ? el.innerText : '').trim();
  const cells = [...document.querySelectorAll('main .cell')].map((c) => ({
    id: c.id,
    code: text(c.querySelector('pre code.sourceCode, .cell-code')),
    errors: [...c.querySelectorAll('.cell-output-error')].map(text),
    stderr: [...c.querySelectorAll('.cell-output-stderr')].map(text),
    outputs: [...c.querySelectorAll('.cell-output:not(.cell-output-markdown):not(.cell-output-error):not(.cell-output-stderr)')].map(text),
  }));
  const headings = [...document.querySelectorAll('main h2, main h3, main h4')].map((h) => {
    const box = h.closest('.cell-output') || h.parentElement;
    return {text: text(h), id: h.id, sig: [...box.querySelectorAll('pre code')].map(text).join('\\n')};
  });
  const imgs = [...document.querySelectorAll('img')].map((i) => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
  const prose = document.querySelector('main').cloneNode(true);   // the text outside code, where maths is written
  prose.querySelectorAll('pre, code, .katex, script, style').forEach((e) => e.remove());
  return {
    title: text(document.querySelector('main h1.title') || document.querySelector('main h1')),
    description: text(document.querySelector('main header .description')),
    main: text(document.querySelector('main')),
    cells, headings, imgs,
    prose: prose.textContent,
    katex: document.querySelectorAll('main .katex').length,
    katexErrors: [...document.querySelectorAll('main .katex-error')].map((e) => e.getAttribute('title') || e.textContent),
  };
}"""


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=PAGE_IDS)
def test_page(nb, page, base_url, context):
    "The page loads, has the notebook's title, the API docs of each exported name, and no error in its outputs."
    name = page_of(nb)
    open_page(page, base_url, name)
    info = page.evaluate(PAGE_JS)
    problems = []

    want = notebook_title(nb)
    if not want: problems.append(f"{nb.name} has no title: its first cell must be markdown `# Title`")
    elif plain(info["title"]) != plain(want):
        problems.append(f"title is {info['title']!r}, the notebook says {want!r}")

    summary = notebook_summary(nb)
    if summary and plain(info["description"]) != plain(summary):
        problems.append(f"the description under the title is {info['description']!r}, the notebook's `> ` line says "
                        f"{summary!r} (nbdev keeps only the first line of the `> ` summary: write it on one line)")

    for sym in exported_names(nb):
        short = sym.split(".")[-1]
        hs = [h for h in info["headings"] if h["text"] == sym or h["text"].endswith("." + short) or h["text"] == short]
        if not hs: problems.append(f"no API docs (show_doc heading) for exported `{sym}`")
        elif not any(re.search(rf"\b{re.escape(short)}\s*\(", h["sig"]) for h in hs):
            problems.append(f"the API docs of `{sym}` have no signature block")

    if TRACEBACK in info["main"]: problems.append("a Python traceback is shown on the page")
    for c in info["cells"]:
        where = f"cell {c['id'] or '?'} ({c['code'][:60]!r})"
        for e in c["errors"]: problems.append(f"{where} has an error output: {e[-300:]}")
        for s in c["stderr"]:
            if ERROR_LINE.search(s) or TRACEBACK in s: problems.append(f"{where} printed an error on stderr: {s[-300:]}")
        intentional = re.search(r"\bexcept\b|test_fail|raises|show_error", c["code"])  # a cell that shows an error on purpose
        for o in c["outputs"]:
            if not intentional and ERROR_LINE.search(o): problems.append(f"{where} shows an error: {ERROR_LINE.search(o).group(0)}… {o[-200:]}")

    raw = RAW_MATHS.findall(info["prose"])
    if raw: problems.append(f"maths left as raw TeX (KaTeX did not typeset it): {raw[:5]}")
    if info["katexErrors"]: problems.append(f"KaTeX could not typeset: {info['katexErrors'][:5]}")
    if context.external: problems.append(f"requests to other sites (blocked: the site must work offline): {sorted(set(context.external))[:5]}")

    bad_imgs = [i["src"][:80] for i in info["imgs"] if not i["ok"]]
    if bad_imgs: problems.append(f"images that do not load: {bad_imgs}")
    if page.js_errors: problems.append(f"JavaScript errors: {page.js_errors}")
    assert not problems, f"{name} (from nbs/{nb.name}):\n  " + "\n  ".join(problems)


class _Ids(html.parser.HTMLParser):
    "Collect the ids and names a page can be linked to (`#id`)."
    def __init__(self):
        super().__init__()
        self.ids = set()
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" or (tag == "a" and k == "name"): self.ids.add(v)


_fetched = {}
def _fetch(url):
    "HTTP status and, for an HTML page, its ids; cached for the session."
    if url not in _fetched:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body, status, ctype = r.read(), r.status, r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body, status, ctype = b"", e.code, ""
        ids = set()
        if "html" in ctype:
            p = _Ids()
            p.feed(body.decode("utf-8", "replace"))
            ids = p.ids
        _fetched[url] = (status, ids)
    return _fetched[url]


LINKS_JS = """() => [
  ...[...document.querySelectorAll('a[href]')].map((a) => ({kind: 'link', raw: a.getAttribute('href'), url: a.href, text: a.innerText.trim().slice(0, 40)})),
  ...[...document.querySelectorAll('img[src], script[src]')].map((e) => ({kind: e.tagName.toLowerCase(), raw: e.getAttribute('src'), url: e.src, text: ''})),
  ...[...document.querySelectorAll('link[rel=stylesheet][href], link[rel=icon][href]')].map((e) => ({kind: 'css', raw: e.getAttribute('href'), url: e.href, text: ''})),
]"""


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=PAGE_IDS)
def test_links(nb, page, base_url):
    "Every same-site link, image, script and stylesheet of the page answers 200, and every `#anchor` exists."
    name = page_of(nb)
    open_page(page, base_url, name)
    broken = []
    for link in page.evaluate(LINKS_JS):
        url = link["url"]
        if not url.startswith(base_url): continue  # other sites, data: URIs
        target, _, frag = url.partition("#")
        status, ids = _fetch(target)
        label = f"{link['kind']} {link['raw']!r}" + (f" ({link['text']!r})" if link["text"] else "")
        if status != 200: broken.append(f"{label}: HTTP {status}")
        elif frag and urllib.parse.unquote(frag) not in ids: broken.append(f"{label}: no #{frag} on {target[len(base_url):] or 'index'}")
    assert not broken, f"{name}: broken links:\n  " + "\n  ".join(sorted(set(broken)))


# ------------------------------------------------------------------ the site as a whole

def test_navigation(page, base_url):
    "Click from the home page to a chapter in the sidebar, then back home with the navbar."
    chapters = [nb for nb in NOTEBOOKS if nb.stem != "index"]
    assert chapters, "no chapter notebooks in nbs/"
    target = page_of(chapters[0])
    open_page(page, base_url, "index.html")
    link = page.locator(f'#quarto-sidebar a.sidebar-link[href="{target}"]')
    assert link.count() == 1, f"the sidebar of index.html has {link.count()} link(s) to {target}; is it in nbs/sidebar.yml?"
    link.click()
    page.wait_for_url(base_url + target)
    assert page.locator("main h1").first.inner_text().strip(), f"{target} opened from the sidebar has no title"
    home = page.locator('nav.navbar a[href="index.html"], nav.navbar a[href="./"]')
    assert home.count() >= 1, f"{target}: no navbar link to index.html"
    home.first.click()
    page.wait_for_url(base_url + "index.html")
    assert page.locator('#quarto-sidebar a.sidebar-link.active[href="index.html"]').count() == 1, "home page: sidebar does not mark it active"


def test_search(page, base_url):
    "Typing an exported name into the search box lists its chapter; choosing the result opens the page there."
    with_api = [(nb, names) for nb in NOTEBOOKS if (names := exported_names(nb))]
    if with_api:
        nb, names = with_api[0]
        query = max(names, key=len).split(".")[-1]
    else:  # no chapter exports anything yet: search for a chapter's title
        nb = next(n for n in NOTEBOOKS if n.stem != "index")
        query = notebook_title(nb)
    target = page_of(nb)
    open_page(page, base_url, "index.html")
    box = page.locator("#quarto-search input").first
    box.click()
    box.fill(query)
    hit = page.locator(f'.smalldocs-search-results a.search-result[href*="{target}"]')
    try:
        hit.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    except Exception:
        shown = page.locator(".smalldocs-search-results").inner_text()
        pytest.fail(f"searching {query!r} on index.html lists no result on {target}; the results were:\n{shown[:1000]}")
    hit.first.click()
    page.wait_for_url(re.compile(re.escape(base_url + target) + r"(#.*)?$"))
    assert query.lower() in page.locator("main").inner_text().lower(), f"{target} opened from search does not mention {query!r}"


def test_sidebar_lists_every_page(page, base_url):
    "Each notebook's page can be reached from the sidebar (nbs/sidebar.yml lists it)."
    open_page(page, base_url, "index.html")
    hrefs = page.eval_on_selector_all("#quarto-sidebar a.sidebar-link[href]", "els => els.map((e) => e.getAttribute('href'))")
    listed = {h.split("#")[0].removeprefix("./") for h in hrefs}
    missing = [page_of(nb) for nb in NOTEBOOKS if page_of(nb) not in listed]
    assert not missing, f"pages not in the sidebar (add their notebooks to nbs/sidebar.yml): {missing}"


MATHS_PAGE = "10_optim.html"  # AdamW's update rules: the chapter with the most equations


def test_maths_renders_offline(page, base_url, context, tmp_path_factory):
    "The optimizer chapter's equations are typeset by the KaTeX in the site (no network), in KaTeX's fonts; screenshot."
    open_page(page, base_url, MATHS_PAGE)
    info = page.evaluate("""async () => {
      await document.fonts.ready;
      return {
        inline: document.querySelectorAll('main .katex').length,
        display: document.querySelectorAll('main .katex-display').length,
        fonts: [...document.fonts].filter((f) => f.family.includes('KaTeX') && f.status === 'loaded').map((f) => f.family),
        css: [...document.styleSheets].map((s) => s.href || '').filter((h) => h.includes('katex')),
      };
    }""")
    assert info["inline"] >= 20 and info["display"] >= 2, f"{MATHS_PAGE}: too little typeset maths: {info}"
    assert info["css"] and all(h.startswith(base_url) for h in info["css"]), f"{MATHS_PAGE}: KaTeX's stylesheet is not the site's own: {info['css']}"
    assert info["fonts"], f"{MATHS_PAGE}: no KaTeX font loaded (the fonts must come with the site)"
    assert not context.external, f"{MATHS_PAGE}: requests to other sites: {context.external[:5]}"
    eq = page.locator("main .katex-display").first
    eq.scroll_into_view_if_needed()
    shot = tmp_path_factory.mktemp("screenshots")/"maths.png"
    eq.screenshot(path=str(shot))
    page.screenshot(path=str(shot.with_name("page.png")))
    import matplotlib.image
    img = matplotlib.image.imread(str(shot))
    box = eq.bounding_box()
    assert box["height"] >= 15 and box["width"] >= 50, f"{MATHS_PAGE}: the first displayed equation is {box}: not typeset"
    assert img.std() > 0.05, f"{MATHS_PAGE}: the screenshot of the first displayed equation ({shot}) is blank"
