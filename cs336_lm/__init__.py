__version__ = "0.1.0"

# The public API, importable from the top (`from cs336_lm import Tokenizer, train_bpe`). Names load lazily from
# their chapter's module on first use, so `import cs336_lm.bpe` stays torch-free and `import cs336_lm` is instant.
# This file is written by hand (nbdev only keeps `__version__` up to date); the modules are exported from nbs/.
import importlib as _importlib

_API = {
    "core": ["data_dir", "fixture", "atomic_write", "ensure_writable_dir", "get_device"],
    "bpe": ["train_bpe", "train_bpe_naive", "save_bpe", "load_bpe", "bytes_to_unicode", "find_chunk_boundaries"],
    "tokenizer": ["Tokenizer"],
}
_WHERE = {name: module for module, names in _API.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE: raise AttributeError(f"module 'cs336_lm' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__(): return sorted(set(globals()) | set(__all__))
