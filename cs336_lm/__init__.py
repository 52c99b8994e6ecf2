"""Build a Transformer language model from scratch: a notebook-first course on Stanford CS336 Assignment 1"""

__version__ = "0.1.0"

# The public API, importable from the top (`from cs336_lm import Tokenizer, train_bpe`). Names load lazily from
# their chapter's module on first use, so `import cs336_lm.bpe` stays torch-free and `import cs336_lm` is instant.
# This file is written by hand (nbdev only keeps `__version__` up to date); the modules are exported from nbs/.
import importlib as _importlib

_API = {
    "core": ["data_dir", "fixture", "atomic_write", "atomic_dir", "remove_stale_temps", "ensure_writable_dir", "get_device", "dataclass_from_dict",
             "check_positive_int", "apply_overrides", "skip_reason", "switch_cells", "compile_model"],
    "bpe": ["train_bpe", "train_bpe_naive", "save_bpe", "load_bpe", "bytes_to_unicode", "find_chunk_boundaries",
            "gpt2_pretokenize", "GPT2_SPLIT_PATTERN"],
    "tokenizer": ["Tokenizer", "pretokenize", "compression_ratio", "sample_documents"],
    "data": ["download", "download_file", "dataset_files", "encode_file", "load_tokens", "get_batch"],
    "layers": ["Linear", "Embedding", "RMSNorm", "silu", "SwiGLU", "SiLUFFN", "ReLU2FFN", "RotaryPositionalEmbedding", "softmax",
               "scaled_dot_product_attention", "load_weights"],
    "attention": ["MultiHeadSelfAttention", "KVCache", "causal_attention", "causal_mask"],
    "model_config": ["ModelConfig"],
    "transformer": ["TransformerBlock", "TransformerLM", "load_model"],
    "accounting": ["count_params", "forward_matmuls", "forward_flops", "flop_shares", "adamw_memory", "adamw_memory_line",
                   "max_batch_size", "adamw_step_flops", "training_time_days", "gpt2_config", "peak_flops", "training_flops_per_token"],
    "loss": ["cross_entropy", "perplexity"],
    "optim": ["AdamW", "SGDDecay"],
    "schedule": ["get_lr_cosine_schedule", "lr_cosine_by_time", "gradient_clipping"],
    "checkpoint": ["save_checkpoint", "load_checkpoint", "read_checkpoint", "load_latest_checkpoint", "save_weights", "read_weights"],
    "run_dir": ["run_status", "claim_run_dir", "changed_settings", "read_metrics", "MetricsLog", "read_json", "write_json"],
    "train_config": ["TrainConfig"],
    "parallel": ["DistInfo", "setup_distributed", "shard_model", "full_state", "load_full_state"],
    "train": ["Trainer", "train", "evaluate"],
    "generate": ["generate", "generate_batch", "load_trained", "load_for_generation"],
    "pipeline": ["run_pipeline", "SMALL_RUN", "FULL_RUN"],
    "experiments": ["run_experiment", "sweep", "load_runs", "plot_curves", "results_table", "full_val_loss", "prepare_tokens", "cpu_base", "full_base",
                    "cluster_executor", "RunJob"],
    "export": ["export_hf", "llama_state_dict", "llama_config", "check_llama", "rope_permute"],
}
_WHERE = {name: module for module, names in _API.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE: raise AttributeError(f"module 'cs336_lm' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__(): return sorted(set(globals()) | set(__all__))
