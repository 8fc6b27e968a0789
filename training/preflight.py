"""Checks before a training run: where the base model is, whether it exists, how much memory the run needs, and
what data it would train on. The Train tab shows these before Launch; the runner refuses a launch that fails them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playground.models.loading import resolve_source
from training.data import DataError, build_examples, preview, validate_jsonl
from training.sft_config import SFTConfig


class PreflightError(ValueError):
    """The run cannot start as configured; the message is meant for the person who asked."""


def resolve_base(base: str) -> str:
    """'tiny' → the embedded model's folder, a preset name → its hub id, a folder → its absolute path."""
    return resolve_source(base)


def check_base_model(base: str) -> None:
    """PreflightError before launch when the base model is neither a local model folder nor reachable."""
    import huggingface_hub

    base = (base or "").strip()
    if not base:
        raise PreflightError("choose a base model (a local folder or a hub id)")
    path = Path(base).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise PreflightError(f"base model folder {base} has no config.json: it is not a transformers model")
        return
    if base.startswith(("/", ".", "~")) or base.count("/") > 1:
        raise PreflightError(f"base model folder {base} does not exist")
    if isinstance(huggingface_hub.try_to_load_from_cache(base, "config.json"), str):
        return
    if huggingface_hub.is_offline_mode():
        raise PreflightError(
            f"base model {base!r} is not a local folder and not in the Hugging Face cache, "
            "and the hub is offline: download it first or pick a local folder"
        )
    try:
        huggingface_hub.model_info(base, timeout=10)
    except Exception as exc:  # noqa: BLE001 - any hub error means we cannot train on it
        raise PreflightError(f"base model {base!r} not found on the hub ({type(exc).__name__})") from exc


def estimate_memory(cfg: SFTConfig) -> dict[str, Any]:
    """A rough peak-memory estimate (GB) for `cfg` on this machine, with a one-line verdict in "text"."""
    import torch
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    from training.sft import target_modules_for, torch_dtype

    mc = AutoConfig.from_pretrained(cfg.base_model)
    with init_empty_weights():  # meta tensors: counts parameters without allocating them
        model = AutoModelForCausalLM.from_config(mc)
    dtype_bytes = torch.finfo(torch_dtype(cfg)).bits // 8
    targets = target_modules_for(model, cfg.target_modules)
    linear = lora = 0
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and not name.endswith("lm_head"):
            linear += mod.weight.numel()
            short = name.rsplit(".", 1)[-1]
            if targets == "all-linear" or short in targets:
                lora += cfg.lora_r * (mod.in_features + mod.out_features)
    total = sum(p.numel() for p in model.parameters())
    text_cfg = mc.get_text_config() if hasattr(mc, "get_text_config") else mc
    hidden, layers = text_cfg.hidden_size, text_cfg.num_hidden_layers
    inter = getattr(text_cfg, "intermediate_size", 4 * hidden) or 4 * hidden
    tokens = cfg.batch_size * cfg.max_seq_len  # worst case: every example at max length
    weights = (linear * 0.56 + (total - linear) * dtype_bytes) if cfg.load_in_4bit else total * dtype_bytes
    optim = lora * 16  # fp32 weight + grad + two Adam moments
    per_layer = hidden if cfg.gradient_checkpointing else 10 * hidden + 4 * inter  # stored activations per token
    acts = tokens * (layers * per_layer + 10 * hidden + 4 * inter) * dtype_bytes
    logits = tokens * text_cfg.vocab_size * 4 * 2  # fp32 logits and their gradient
    need = (weights + optim + acts + logits) / 1e9 * 1.15 + (0.6 if torch.cuda.is_available() else 0.2)
    if torch.cuda.is_available():
        device, available = torch.cuda.get_device_name(0), torch.cuda.mem_get_info()[1] / 1e9
    else:
        device, available = "CPU RAM", os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    fits = need < available * 0.9
    verdict = "should fit" if fits else "may not fit: try a smaller batch or max length, checkpointing or 4-bit"
    return {
        "params_m": total / 1e6,
        "lora_params_m": lora / 1e6,
        "weights_gb": weights / 1e9,
        "optimizer_gb": optim / 1e9,
        "activations_gb": acts / 1e9,
        "logits_gb": logits / 1e9,
        "total_gb": need,
        "available_gb": available,
        "device": device,
        "fits": fits,
        "text": f"≈ {need:.1f} GB of {available:.0f} GB ({device}) — {verdict}. Weights {weights / 1e9:.2f}, "
        f"LoRA+optimizer {optim / 1e9:.2f}, activations {acts / 1e9:.2f}, logits {logits / 1e9:.2f} GB; "
        f"{total / 1e6:.1f}M params, {lora / 1e6:.2f}M trainable.",
    }


def check_data(cfg: SFTConfig, limit: int = 50) -> tuple[Any, list[str], str]:
    """(preview DataFrame, errors, summary) for the data `cfg` would train on; puzzle data is sampled.

    JSONL lengths are counted with the base model's tokenizer when it loads, else estimated.
    """
    tok = None
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(resolve_base(cfg.base_model))
    except Exception:  # noqa: BLE001 - no tokenizer: lengths are estimated
        pass
    try:
        if cfg.data_source == "jsonl":
            examples, errors = validate_jsonl(Path(cfg.data_path), tok, cfg.max_seq_len)
        else:
            count = min(cfg.num_examples, limit) if cfg.data_source == "puzzles" else cfg.num_examples
            kwargs = {"families": cfg.puzzle_families, "levels": cfg.puzzle_levels, "count": count}
            examples = build_examples(cfg.data_source, path=cfg.data_path, seed_start=cfg.puzzle_seed_start, **kwargs)
            errors = []
    except (DataError, OSError) as exc:
        return preview([]), [str(exc)], "no usable data"
    if cfg.data_source == "puzzles":
        summary = f"{len(examples)} verified examples previewed; the run generates {cfg.num_examples}"
    else:
        plural = "" if len(examples) == 1 else "s"
        summary = f"{len(examples)} usable example{plural}" + (f", {len(errors)} problem(s)" if errors else "")
    return preview(examples, limit), errors, summary
