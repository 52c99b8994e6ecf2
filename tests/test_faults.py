"""Bad inputs and faults for download, encode, train-bpe, token files, checkpoints and atomic writes.

Each case either runs a `cs336-lm` command in-process and asserts a one-line error (no traceback) naming the problem,
or calls a library function and asserts the message of the exception it raises. Every case also asserts that
nothing was lost: the files in its working directory before the fault are all still there afterwards, with the same
size and modification time (new files are allowed only where a case names them, e.g. a resumable `.part`).
Faults that need a full disk use a 256 KiB tmpfs when the tests run as root, and are skipped otherwise."""
import contextlib, errno, re, fnmatch, gzip, hashlib, os, subprocess, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from cs336_lm import cli, core, data
from cs336_lm.bpe import save_bpe
from cs336_lm.checkpoint import load_latest_checkpoint, read_checkpoint, save_checkpoint
from cs336_lm.core import atomic_write, ensure_writable_dir, fixture
from cs336_lm.data import load_tokens

# ---------------------------------------------------------------- helpers

def snapshot(d: Path) -> dict:
    "Every file below `d`: relative name -> (size, mtime in ns)."
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob("*")) if p.is_file()}

def assert_nothing_lost(before: dict, after: dict, allowed_new=()):
    for name, meta in before.items(): assert after.get(name) == meta, f"{name} was changed or removed"
    new = [n for n in after if n not in before and not any(fnmatch.fnmatch(Path(n).name, g) for g in allowed_new)]
    assert not new, f"unexpected new files: {new}"

class Server:
    "Serves `files` on 127.0.0.1 with Range support; `drop_after` bytes then hangs up when set."
    def __init__(self, files: dict):
        self.files, self.drop_after = files, None
        outer = self
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_GET(self):
                body = outer.files.get(self.path)
                if body is None: self.send_error(404, "Not Found"); return
                start = int(r.split("=")[1].split("-")[0]) if (r := self.headers.get("Range")) else 0
                self.send_response(206 if start else 200); self.send_header("Content-Length", str(len(body) - start))
                self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
                if start: self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                self.wfile.write(body[start:][:outer.drop_after] if outer.drop_after else body[start:])
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

@pytest.fixture(scope="module")
def server():
    s = Server({"/a.txt": b"hello<|endoftext|>" * 50_000, "/small.txt": b"tiny file", "/t.txt.gz": gzip.compress(b"x" * 1000)[:-8]})
    yield s
    s.httpd.shutdown(); s.httpd.server_close()

@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory) -> Path:
    "GPT-2's tokenizer saved as `cs336-lm train-bpe` saves one."
    from cs336_lm.tokenizer import Tokenizer
    t = Tokenizer.from_files(fixture("gpt2/gpt2_vocab.json"), fixture("gpt2/gpt2_merges.txt"))
    d = tmp_path_factory.mktemp("tok")
    save_bpe(t.vocab, t.merges, d)
    return d

@contextlib.contextmanager
def tiny_disk(where: Path, size: str = "256k"):
    "A tmpfs of `size` mounted at `where` (root only); skips the test elsewhere."
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                                           capture_output=True).returncode:
        pytest.skip("a full disk is simulated with a tmpfs, which needs root")
    try: yield where
    finally: subprocess.run(["umount", "-l", str(where)])

def run_cli(argv, capsys) -> tuple[int, str]:
    os.environ.pop("CS336_TRACEBACK", None)
    rc = cli.main([str(a) for a in argv])
    return rc, capsys.readouterr().err

def assert_one_line(rc: int, err: str, cmd: str, *expected: str):
    assert rc == 1, f"exit status {rc}, stderr: {err}"
    lines = [l for l in err.splitlines() if l.strip() and "Warning" not in l and not re.search(r"\d+%\|", l)]   # not tqdm's bars
    assert len(lines) == 1 and "Traceback" not in err, f"not one line: {err!r}"
    assert lines[0].startswith(f"cs336-lm {cmd}: error: "), lines[0]
    for e in expected: assert e in lines[0], f"{e!r} not in {lines[0]!r}"

# ---------------------------------------------------------------- CLI cases: (id, command, setup(tmp, ctx) -> args, expected, allowed new files)

def _text(tmp, content=b"Once upon a time.<|endoftext|>The end.<|endoftext|>" * 20, name="in.txt"):
    (tmp/name).write_bytes(content); return tmp/name

def _tok_files(tmp, vocab: str, merges: str) -> bool:
    (tmp/"tk").mkdir(); (tmp/"tk"/"vocab.json").write_text(vocab); (tmp/"tk"/"merges.txt").write_text(merges)
    return True

def _registry(monkeypatch, entries):
    monkeypatch.setitem(data.DATASETS, "faulty", entries)

CLI_CASES = [
    # download
    ("download-unknown-dataset", "download", lambda t, c: ["imagenet", "--data-dir", t], ["unknown dataset 'imagenet'"], ()),
    ("download-404", "download", lambda t, c: c.reg([(f"{c.srv.url}/missing", "m.txt", None, None)]) or ["faulty", "--data-dir", t],
     ["HTTP 404", "/missing"], ()),
    ("download-no-server", "download", lambda t, c: c.reg([("http://127.0.0.1:9/x", "x.txt", None, None)]) or ["faulty", "--data-dir", t],
     ["127.0.0.1:9/x failed", "CS336_DATA_DIR"], ()),
    ("download-bad-url", "download", lambda t, c: c.reg([("nope://host/x", "x.txt", None, None)]) or ["faulty", "--data-dir", t],
     ["nope://host/x"], ()),
    ("download-pinned-size-differs", "download", lambda t, c: c.reg([(f"{c.srv.url}/small.txt", "s.txt", 5, None)]) or ["faulty", "--data-dir", t],
     ["is 9 bytes, expected 5", "partial file was deleted"], (".s.txt.part.json",)),
    ("download-pinned-sha-differs", "download", lambda t, c: c.reg([(f"{c.srv.url}/small.txt", "s.txt", 9, "0" * 64)]) or ["faulty", "--data-dir", t],
     ["does not match the expected", "deleted"], ()),
    ("download-broken-off", "download", lambda t, c: setattr(c.srv, "drop_after", 1000) or c.reg([(f"{c.srv.url}/a.txt", "a.txt", None, None)])
     or ["faulty", "--data-dir", t], ["run again to resume", "a.txt.part"], ("a.txt.part", ".a.txt.part.json")),
    ("download-corrupt-gzip", "download", lambda t, c: c.reg([(f"{c.srv.url}/t.txt.gz", "t.txt.gz", None, None)]) or ["faulty", "--data-dir", t],
     ["t.txt.gz is not a complete gzip file"], ()),
    ("download-data-dir-is-a-file", "download", lambda t, c: (t/"f").write_text("keep") and c.reg([(f"{c.srv.url}/small.txt", "s.txt", None, None)])
     or ["faulty", "--data-dir", t/"f"], ["cannot write {t}/f/s.txt: {t}/f is a file, not a folder"], ()),
    # encode
    ("encode-missing-input", "encode", lambda t, c: [t/"nope.txt", "--tokenizer-dir", c.tok, "--out", t/"o.npy"], ["nope.txt", "does not exist"], ()),
    ("encode-input-is-dir", "encode", lambda t, c: [t, "--tokenizer-dir", c.tok, "--out", t/"o.npy"], ["is a directory"], ()),
    ("encode-out-is-dir", "encode", lambda t, c: [_text(t), "--tokenizer-dir", c.tok, "--out", t], ["is a directory", "tokens.npy"], ()),
    ("encode-invalid-utf8", "encode", lambda t, c: [_text(t, b"ok<|endoftext|>\xff\xfe"), "--tokenizer-dir", c.tok, "--out", t/"o.npy"],
     ["in.txt is not valid UTF-8"], ()),
    ("encode-invalid-utf8-2-workers", "encode", lambda t, c: [_text(t, b"fine text<|endoftext|>" * 3000 + b"\xc3(<|endoftext|>" + b"more<|endoftext|>" * 3000),
     "--tokenizer-dir", c.tok, "--out", t/"o.npy", "--num-processes", "2"], ["in.txt is not valid UTF-8"], ()),
    ("encode-missing-tokenizer", "encode", lambda t, c: [_text(t), "--tokenizer-dir", t/"notok", "--out", t/"o.npy"], ["notok"], ()),
    ("encode-tokenizer-without-merges", "encode", lambda t, c: (t/"tk").mkdir() or (t/"tk"/"vocab.json").write_text("{}") and
     [_text(t), "--tokenizer-dir", t/"tk", "--out", t/"o.npy"], ["merges.txt"], ()),
    ("encode-corrupt-vocab", "encode", lambda t, c: _tok_files(t, "{not json", "") and [_text(t), "--tokenizer-dir", t/"tk", "--out", t/"o.npy"],
     ["vocab.json"], ()),
    ("encode-vocab-not-a-dict", "encode", lambda t, c: _tok_files(t, "[1, 2]", "") and [_text(t), "--tokenizer-dir", t/"tk", "--out", t/"o.npy"],
     ["vocab.json"], ()),
    ("encode-bad-merges-line", "encode", lambda t, c: _tok_files(t, '{"a": 0, "b": 1}', "a b c\n") and
     [_text(t), "--tokenizer-dir", t/"tk", "--out", t/"o.npy"], ["merges.txt"], ()),
    ("encode-out-parent-is-file", "encode", lambda t, c: (t/"f").write_text("keep") and [_text(t), "--tokenizer-dir", c.tok, "--out", t/"f"/"o.npy"],
     ["{t}/f is a file, not a folder"], ()),
    # train-bpe
    ("train-bpe-missing-input", "train-bpe", lambda t, c: [t/"nope.txt", "--vocab-size", "300", "--out", t/"tok"], ["nope.txt"], ()),
    ("train-bpe-input-is-dir", "train-bpe", lambda t, c: [t, "--vocab-size", "300", "--out", t/"tok"], ["{t}"], ()),
    ("train-bpe-vocab-too-small", "train-bpe", lambda t, c: [_text(t), "--vocab-size", "10", "--out", t/"tok"], ["vocab_size"], ()),
    ("train-bpe-out-is-file", "train-bpe", lambda t, c: (t/"f").write_text("keep") and [_text(t), "--vocab-size", "260", "--out", t/"f"], ["f"], ()),
    # generate with a damaged checkpoint
    ("generate-missing-checkpoint", "generate", lambda t, c: ["--checkpoint", t/"none.pt"], ["none.pt"], ()),
    ("generate-garbage-checkpoint", "generate", lambda t, c: (t/"g.pt").write_bytes(np.random.default_rng(0).bytes(2000)) and ["--checkpoint", t/"g.pt"],
     ["g.pt is corrupt or truncated, or not a PyTorch file"], ()),
    ("generate-text-checkpoint", "generate", lambda t, c: (t/"g.pt").write_text("not a checkpoint") and ["--checkpoint", t/"g.pt"],
     ["g.pt is corrupt or truncated, or not a PyTorch file"], ()),
]

class Ctx:
    def __init__(self, srv, tok, monkeypatch): self.srv, self.tok, self.mp = srv, tok, monkeypatch
    def reg(self, entries): _registry(self.mp, entries)

@pytest.mark.parametrize("cmd,setup,expected,allowed", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_fault(cmd, setup, expected, allowed, tmp_path, server, tok_dir, monkeypatch, capsys):
    (tmp_path/"precious.bin").write_bytes(b"do not touch")
    server.drop_after = None
    args = setup(tmp_path, Ctx(server, tok_dir, monkeypatch))
    before = snapshot(tmp_path)
    rc, err = run_cli([cmd, *args], capsys)
    server.drop_after = None
    assert_one_line(rc, err, cmd, *(e.format(t=tmp_path) for e in expected))
    assert_nothing_lost(before, snapshot(tmp_path), allowed)

# ---------------------------------------------------------------- library cases: (id, setup(tmp) -> callable, exception, expected)

def _npy(t, arr, name="x.npy"): np.save(t/name, arr); return t/name

def _bytes(t, b, name): (t/name).write_bytes(b); return t/name

def _ckpt(t, name="c.pt", iteration=7):
    m = torch.nn.Linear(3, 2); save_checkpoint(m, None, iteration, t/name)
    return t/name, m

def _flipped(t):
    p, m = _ckpt(t)
    b = bytearray(p.read_bytes()); at = bytes(b).find(m.weight.detach().numpy().tobytes()); b[at + 2] ^= 1
    p.write_bytes(b); return p

_ok = np.arange(100, dtype=np.uint16)

LIB_CASES = [
    ("tokens-truncated-npy", lambda t: _bytes(t, _npy(t, _ok).read_bytes()[:-9], "cut.npy"), load_tokens, ValueError, "cut.npy is truncated"),
    ("tokens-header-only", lambda t: _bytes(t, _npy(t, _ok).read_bytes()[:128], "h.npy"), load_tokens, ValueError, "h.npy is truncated"),
    ("tokens-longer-than-header", lambda t: _bytes(t, _npy(t, _ok).read_bytes() + b"zz", "l.npy"), load_tokens, ValueError, "longer than its header"),
    ("tokens-garbage-npy", lambda t: _bytes(t, b"hello world" * 10, "g.npy"), load_tokens, ValueError, "g.npy is not a valid .npy file"),
    ("tokens-empty-npy", lambda t: _bytes(t, b"", "e.npy"), load_tokens, ValueError, "e.npy is not a valid .npy file"),
    ("tokens-odd-bin", lambda t: _bytes(t, b"\x01\x00\x02", "o.bin"), load_tokens, ValueError, "o.bin: 3 bytes is not a whole number"),
    ("tokens-empty-bin", lambda t: _bytes(t, b"", "e.bin"), load_tokens, ValueError, "0 tokens are too few"),
    ("tokens-object-array", lambda t: _npy(t, np.array([1, "a"], dtype=object)), load_tokens, ValueError, "holds Python objects"),
    ("tokens-float", lambda t: _npy(t, np.zeros(10, np.float32)), load_tokens, TypeError, "got float32"),
    ("tokens-int64", lambda t: _npy(t, np.arange(10)), load_tokens, TypeError, "got int64"),
    ("tokens-2d", lambda t: _npy(t, np.zeros((2, 5), np.uint16)), load_tokens, ValueError, "expected a 1-D array"),
    ("tokens-one-id", lambda t: _npy(t, np.zeros(1, np.uint16)), load_tokens, ValueError, "1 tokens are too few"),
    ("tokens-directory", lambda t: t, load_tokens, IsADirectoryError, "is a directory"),
    ("tokens-missing", lambda t: t/"none.npy", load_tokens, FileNotFoundError, "none.npy' does not exist"),
    ("tokens-id-too-large", lambda t: _npy(t, _ok), lambda p: load_tokens(p, vocab_size=50), ValueError, "token id 50 at position 50"),
    ("ckpt-truncated", lambda t: _bytes(t, _ckpt(t)[0].read_bytes()[:300], "cut.pt"), read_checkpoint, ValueError, "cut.pt is corrupt or truncated"),
    ("ckpt-flipped-bit", _flipped, read_checkpoint, ValueError, "contents do not match its checksum"),
    ("ckpt-text", lambda t: _bytes(t, b"hello", "t.pt"), read_checkpoint, ValueError, "not a PyTorch file"),
    ("ckpt-bare-state-dict", lambda t: torch.save(torch.nn.Linear(2, 2).state_dict(), t/"s.pt") or t/"s.pt", read_checkpoint, ValueError,
     "bare state dict"),
    ("ckpt-python-objects", lambda t: torch.save({"model": {}, "iteration": 1, "x": Path("/")}, t/"p.pt") or t/"p.pt", read_checkpoint,
     ValueError, "refuses to run"),
    ("ckpt-directory", lambda t: t, read_checkpoint, IsADirectoryError, "is a directory"),
    ("ckpt-missing", lambda t: t/"none.pt", read_checkpoint, FileNotFoundError, "no checkpoint at"),
    ("ckpt-latest-both-corrupt", lambda t: (_flipped(t), _bytes(t, b"junk", "c.pt.prev"))[0],
     lambda p: load_latest_checkpoint(p, torch.nn.Linear(3, 2)), ValueError, "c.pt.prev is corrupt"),
    ("ckpt-wrong-model", lambda t: _ckpt(t)[0], lambda p: load_latest_checkpoint(p, torch.nn.Linear(4, 2)), ValueError, "does not fit this model"),
    ("writable-dir-is-file", lambda t: _bytes(t, b"x", "f"), lambda p: ensure_writable_dir(p/"sub"), PermissionError, "is not writable"),
]

@pytest.mark.parametrize("setup,func,exc,expected", [c[1:] for c in LIB_CASES], ids=[c[0] for c in LIB_CASES])
def test_library_fault(setup, func, exc, expected, tmp_path):
    import warnings
    arg = setup(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(exc) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        func(arg)
    assert expected in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert_nothing_lost(before, snapshot(tmp_path))

# ---------------------------------------------------------------- a full disk

def test_atomic_write_enospc_simulated(tmp_path, monkeypatch):
    "Without root: fsync reporting ENOSPC (as NFS or delayed allocation do) gives the one-line error; the old file stays."
    (tmp_path/"v.bin").write_bytes(b"old")
    before = snapshot(tmp_path)
    def full(fd): raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(core.os, "fsync", full)
    with pytest.raises(OSError, match=f"^no space left on device: {tmp_path/'v.bin'}$"):
        with atomic_write(tmp_path/"v.bin") as f: f.write(b"new")
    assert_nothing_lost(before, snapshot(tmp_path))

@pytest.mark.parametrize("what", ["encode", "download", "checkpoint", "atomic_write"])
def test_full_disk(what, tmp_path, server, tok_dir, monkeypatch, capsys):
    "A real full disk (a 256 KiB tmpfs): 'no space left on device: PATH', the files already there intact."
    with tiny_disk(tmp_path/"disk") as disk:
        (disk/"precious.bin").write_bytes(os.urandom(50_000))
        if what == "encode":
            src = _text(tmp_path, b"Once upon a time there was a big dog.<|endoftext|>" * 20_000)   # ~250k ids: 500 KB
            (disk/"out.npy").write_bytes(b"the old output")
            before = snapshot(disk)
            rc, err = run_cli(["encode", src, "--tokenizer-dir", tok_dir, "--out", disk/"out.npy"], capsys)
            assert_one_line(rc, err, "encode", f"no space left on device: {disk/'out.npy'}")
            allowed = ()
        elif what == "download":
            _registry(monkeypatch, [(f"{server.url}/a.txt", "a.txt", None, None)])   # 900 KB
            before = snapshot(disk)
            rc, err = run_cli(["download", "faulty", "--data-dir", disk], capsys)
            assert_one_line(rc, err, "download", f"no space left on device: {disk/'a.txt.part'}")
            allowed = ("a.txt.part", ".a.txt.part.json")     # kept: the download resumes once there is space
        elif what == "checkpoint":
            save_checkpoint(torch.nn.Linear(10, 10), None, 1, disk/"ckpt.pt")
            before = snapshot(disk)
            with pytest.raises(OSError, match=f"^no space left on device: {disk/'ckpt.pt'}$"):
                save_checkpoint(torch.nn.Linear(300, 300), None, 2, disk/"ckpt.pt")
            assert read_checkpoint(disk/"ckpt.pt")["iteration"] == 1
            allowed = ()
        else:   # NumPy's own message has no errno: recognised by the space left
            before = snapshot(disk)
            with pytest.raises(OSError, match=f"^no space left on device: {disk/'a.npy'}$"):
                with atomic_write(disk/"a.npy") as f: np.save(f, np.zeros(300_000, np.uint8))
            allowed = ()
        assert_nothing_lost(before, snapshot(disk), allowed)
        assert not [p for p in disk.iterdir() if p.name.endswith(".tmp")]

# ---------------------------------------------------------------- damaged downloads are repaired, not trusted

def test_download_cli_verify_repairs_a_corrupt_file(tmp_path, server, monkeypatch, capsys):
    "A downloaded file damaged later (same size) is trusted by size alone, caught by --verify and downloaded again."
    _registry(monkeypatch, [(f"{server.url}/a.txt", "a.txt", None, None)])
    assert run_cli(["download", "faulty", "--data-dir", tmp_path], capsys)[0] == 0
    good = (tmp_path/"a.txt").read_bytes()
    bad = bytearray(good); bad[12345] ^= 0xFF; (tmp_path/"a.txt").write_bytes(bad)
    assert run_cli(["download", "faulty", "--data-dir", tmp_path], capsys)[0] == 0
    assert (tmp_path/"a.txt").read_bytes() == bytes(bad)                # the size matches: not re-fetched without --verify
    rc, err = run_cli(["download", "faulty", "--data-dir", tmp_path, "--verify"], capsys)
    assert rc == 0 and f"{tmp_path/'a.txt'} is corrupt: its SHA-256 is" in err and "downloading it again" in err
    assert (tmp_path/"a.txt").read_bytes() == good == server.files["/a.txt"]
    (tmp_path/"a.txt").write_bytes(good[:-1])                            # truncated: caught by the size, without --verify
    rc, err = run_cli(["download", "faulty", "--data-dir", tmp_path], capsys)
    assert rc == 0 and f"has {len(good) - 1:,} bytes, expected {len(good):,}" in err
    assert (tmp_path/"a.txt").read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.txt.json", "a.txt"]

def test_download_cli_resumes_after_a_break(tmp_path, server, monkeypatch, capsys):
    _registry(monkeypatch, [(f"{server.url}/a.txt", "a.txt", None, None)])
    server.drop_after = 300_000
    try: assert run_cli(["download", "faulty", "--data-dir", tmp_path], capsys)[0] == 1
    finally: server.drop_after = None
    assert (tmp_path/"a.txt.part").stat().st_size == 300_000
    assert run_cli(["download", "faulty", "--data-dir", tmp_path], capsys)[0] == 0
    assert (tmp_path/"a.txt").read_bytes() == server.files["/a.txt"]
