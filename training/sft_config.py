"""A training run's configuration: the `SFTConfig` schema, its YAML file, and the checks that name the bad field.

A run is described by one YAML file (runs/<name>/config.yaml); every field has a default and a help string that
doubles as the YAML documentation and the Train tab's tooltips. `method` picks the trainer: `sft` (LoRA/QLoRA
supervised fine-tuning, training/sft.py) or `grpo` (reinforcement learning on the puzzle verifiers' verdicts,
training/grpo.py); the GRPO fields are ignored by SFT. No torch here: the UI and the runner read configs without
loading the trainer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

DTYPES = ("auto", "bf16", "fp16", "fp32")
METHODS = ("sft", "grpo")
FINETUNE = ("auto", "full", "lora")
LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo")
ROLLOUTS = ("trl", "batched")


class ConfigError(ValueError):
    """The YAML config is invalid; the message names the field."""


def _f(default: Any, help: str) -> Any:  # noqa: A002 - "help" is the dataclass-config convention
    """A dataclass field with a help string (lists get a default factory)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class SFTConfig:
    """Everything a run needs. Field help strings double as the YAML documentation and UI tooltips."""

    method: str = _f("sft", "sft (supervised, on verified traces) | grpo (RL, the verifier's verdict as reward)")
    base_model: str = _f("", "Base model: a local folder or a hub id.")
    name: str = _f("", "Run name (default: the config's folder name).")
    output_dir: str = _f("", "Run folder (default: the folder holding the YAML).")
    data_source: str = _f("puzzles", "puzzles | jsonl | failures")
    puzzle_families: list[str] = _f([], "Families for puzzle traces; empty: all.")
    puzzle_levels: list[int] = _f([1], "Puzzle levels to draw from.")
    num_examples: int = _f(256, "Puzzle examples to generate (cap for failures).")
    puzzle_seed_start: int = _f(100_000, "First puzzle seed; low seeds stay held out for evaluation.")
    data_path: str = _f("", "JSONL file (jsonl) or eval results.jsonl (failures).")
    lora_r: int = _f(16, "LoRA rank.")
    lora_alpha: int = _f(32, "LoRA alpha (scale = alpha / r).")
    lora_dropout: float = _f(0.05, "Dropout on the LoRA path.")
    target_modules: Any = _f("auto", "'auto' (per architecture), 'all-linear' or a list of module names.")
    learning_rate: float = _f(2e-4, "Peak learning rate.")
    num_epochs: float = _f(1.0, "Epochs over the data (ignored when max_steps > 0).")
    max_steps: int = _f(-1, "Optimizer steps; -1 = use num_epochs.")
    batch_size: int = _f(4, "Examples per device per micro-batch.")
    grad_accum: int = _f(1, "Micro-batches per optimizer step.")
    max_seq_len: int = _f(2048, "Longer examples are dropped (and counted).")
    warmup: float = _f(0.03, "Warmup: a ratio in [0, 1) or a number of steps.")
    lr_scheduler: str = _f("cosine", "transformers scheduler name.")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    seed: int = _f(0, "Seed for LoRA init and data order.")
    load_in_4bit: bool = _f(False, "QLoRA: load the base in 4-bit NF4 (CUDA).")
    gradient_checkpointing: bool = _f(False, "Trade compute for activation memory.")
    dtype: str = _f("auto", "auto (bf16 on capable GPUs, else fp32) | bf16 | fp16 | fp32")
    logging_steps: int = _f(1, "Write a metrics line every N steps.")
    max_minutes: float = _f(0.0, "Stop and save after this many minutes of training; 0 = no time limit.")
    finetune: str = _f("auto", "full | lora | auto (SFT: LoRA; GRPO: full for a small model, LoRA otherwise).")
    # GRPO only
    num_generations: int = _f(4, "GRPO: samples per prompt (the group whose rewards are compared).")
    max_completion_length: int = _f(512, "GRPO: longest completion (thought + answer) in tokens.")
    temperature: float = _f(1.0, "GRPO: sampling temperature of the rollouts.")
    beta: float = _f(0.0, "GRPO: KL β towards the base model (0 = no reference model).")
    loss_type: str = _f("dapo", "GRPO: dapo | grpo | dr_grpo | bnpo (how token losses are averaged).")
    reward_correct: float = _f(1.0, "GRPO: weight of the verifier's verdict (1 correct, 0 not).")
    reward_format: float = _f(0.0, "GRPO: weight of the format term (closed thought, readable answer).")
    reward_length: float = _f(0.0, "GRPO: weight of the length term (shorter correct preferred).")
    reward_repetition: float = _f(0.0, "GRPO: weight of the repetition penalty (repeated 8-grams).")
    rollout: str = _f("trl", "GRPO: trl (TRL's own generate) | batched (the playground's shared-prefill sampler).")

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir)


SMALL_MODEL_PARAMS = 50_000_000  # below this, a model is a small from-scratch demo (the embedded tiny reasoner)
SMALL_MODEL_DEFAULTS = {
    "num_examples": 128,  # 32 steps at batch 4: a minute or two on a laptop CPU
    "learning_rate": 5e-3,  # LoRA on a few-million-parameter model needs a larger step to change its answers
    "max_seq_len": 1024,  # its level-1 traces are shorter
}
# GRPO on a small model: full fine-tuning (LoRA layers slow a tiny model's generation), prompts at the edge of
# its ability, a run that fits a CPU session.
SMALL_MODEL_GRPO = {
    "finetune": "full",
    "learning_rate": 1e-4,  # moves a few-million-parameter policy within one run; much higher rates destabilize it
    "num_examples": 2048,
    "max_steps": 400,
    "max_minutes": 40.0,
    "batch_size": 16,
    "num_generations": 8,
    "max_completion_length": 768,  # room for the longest level-1 3SAT traces (4 variables: ~530 tokens)
}
GRPO_DEFAULTS = {  # a hub model on a GPU: LoRA at a typical RL learning rate
    "learning_rate": 1e-5,
    "num_examples": 512,
    "max_steps": 200,
    "batch_size": 8,
    "num_generations": 8,
    "max_completion_length": 1024,
}
EDGE_FAMILIES = ("sat", "spatial_map")  # level-1 families a small model solves only part of the time


def model_defaults(families: list[str] | None, params: int = 0, method: str = "sft") -> SFTConfig:
    """The defaults that fit the model to train: its own puzzle families (`families`, as `ModelInfo.families`; None
    for a general model: all families — training a model on families it never saw first makes it worse), and for a
    small model (`params` below SMALL_MODEL_PARAMS) a short run with a learning rate that changes its answers.
    For GRPO, a small model trains on the first of its families it solves only part of the time (all-correct or
    all-wrong groups teach nothing)."""
    from playground.puzzles import families as known

    cfg = SFTConfig(method=method, puzzle_families=[f for f in families or [] if f in known()])
    small = 0 < params < SMALL_MODEL_PARAMS
    if method == "grpo":
        for key, value in (SMALL_MODEL_GRPO if small else GRPO_DEFAULTS).items():
            setattr(cfg, key, value)
        edge = [f for f in EDGE_FAMILIES if f in cfg.puzzle_families]
        if small and edge:
            cfg.puzzle_families = edge[:1]
    elif small:
        for key, value in SMALL_MODEL_DEFAULTS.items():
            setattr(cfg, key, value)
    return cfg


def load_config(path: str | Path) -> SFTConfig:
    """Read and check a YAML config; unknown keys and wrong types raise ConfigError naming the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping of field: value")
    return config_from_dict(raw, default_dir=path.parent)


def _coerce(default: Any, value: Any) -> Any:
    """`value` converted to the type of the field's default (YAML 1.1 reads "2e-4" as a string)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if isinstance(default, int):
        if float(value) != int(float(value)):
            raise ValueError("expected a whole number")
        return int(float(value))
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list):
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
        return [type(default[0])(x) for x in items] if default else [str(x) for x in items]
    if isinstance(default, str) and isinstance(value, (str, int, float)):
        return str(value)
    return value  # target_modules: a string or a list


def config_from_dict(raw: dict[str, Any], default_dir: Path | None = None) -> SFTConfig:
    """Build an SFTConfig from plain values, coercing YAML's strings ("2e-4") to the field types."""
    known = {f.name: f for f in fields(SFTConfig)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown}; known: {', '.join(known)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            values[key] = _coerce(getattr(SFTConfig(), key), value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config field {key!r}: bad value {value!r} ({exc})") from exc
    cfg = SFTConfig(**values)
    if not cfg.output_dir and default_dir is not None:
        cfg.output_dir = str(default_dir)
    cfg.name = cfg.name or Path(cfg.output_dir or ".").resolve().name
    for key in ("lora_r", "batch_size", "grad_accum", "max_seq_len", "logging_steps"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"config field {key!r} must be ≥ 1")
    if not cfg.base_model:
        raise ConfigError("config field 'base_model' is required")
    if cfg.dtype not in DTYPES:
        raise ConfigError(f"config field 'dtype' must be auto, bf16, fp16 or fp32, not {cfg.dtype!r}")
    if cfg.method not in METHODS:
        raise ConfigError(f"config field 'method' must be sft or grpo, not {cfg.method!r}")
    if cfg.finetune not in FINETUNE:
        raise ConfigError(f"config field 'finetune' must be auto, full or lora, not {cfg.finetune!r}")
    if cfg.finetune == "full" and cfg.load_in_4bit:
        raise ConfigError("finetune: full trains every weight and cannot load the base in 4-bit (use LoRA for QLoRA)")
    if cfg.method == "grpo":
        check_grpo(cfg)
    return cfg


def check_grpo(cfg: SFTConfig) -> None:
    """ConfigError naming the field when a GRPO run cannot learn or cannot start as configured."""
    from playground.puzzles import families as known

    if cfg.num_generations < 2:
        raise ConfigError(
            "config field 'num_generations' (group size) must be ≥ 2: GRPO compares each sample's reward with the "
            "others drawn for the same prompt, and a group of one has nothing to compare with"
        )
    per_step = cfg.batch_size * cfg.grad_accum
    if per_step % cfg.num_generations:
        raise ConfigError(
            f"completions per step (batch_size {cfg.batch_size} × grad_accum {cfg.grad_accum} = {per_step}) must be "
            f"a multiple of the group size num_generations={cfg.num_generations}: each prompt gets one whole group"
        )
    if cfg.data_source not in ("puzzles", "failures"):
        raise ConfigError("GRPO needs puzzle prompts that a verifier can judge: data_source puzzles or failures")
    unknown = [f for f in cfg.puzzle_families if f not in known()]
    if unknown:
        raise ConfigError(f"unknown puzzle families {unknown}; choose from {', '.join(known())}")
    if cfg.loss_type not in LOSS_TYPES:
        raise ConfigError(f"config field 'loss_type' must be one of {', '.join(LOSS_TYPES)}, not {cfg.loss_type!r}")
    if cfg.rollout not in ROLLOUTS:
        raise ConfigError(f"config field 'rollout' must be batched or trl, not {cfg.rollout!r}")
    if cfg.max_completion_length < 8:
        raise ConfigError("config field 'max_completion_length' must be ≥ 8 tokens")
    if cfg.temperature <= 0:
        raise ConfigError("config field 'temperature' must be > 0: GRPO needs different samples in a group")
    weights = [cfg.reward_correct, cfg.reward_format, cfg.reward_length, cfg.reward_repetition]
    if not any(weights):
        raise ConfigError("all reward weights are 0: give the verifier's verdict (reward_correct) a weight")


def save_config(cfg: SFTConfig, path: str | Path) -> Path:
    """Write the config as YAML (field order kept) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(asdict(cfg), sort_keys=False))
    return path
