"""One GRPO run described by a YAML file (`method: grpo`), the puzzle verifiers as rewards:

    python -m training.grpo runs/<name>/config.yaml

TRL's `GRPOTrainer` samples a group of completions per puzzle prompt, scores each with the reward terms of
training/rewards.py (the family's verifier, and optional format, length and repetition terms) and pushes the
policy towards the completions that beat their group's mean. Prompts come from the puzzle generators (seeds from
`puzzle_seed_start` up; a training prompt equal to a held-out evaluation prompt is skipped) or from the puzzles
an evaluation failed. A small model is fully fine-tuned (its saved `model/` folder loads like the base); a larger
one gets LoRA (QLoRA with `load_in_4bit`) and saves `adapter/`.

The run speaks through the same files as an SFT run (training/sft.py): `status.json`, `metrics.jsonl` (one line
per step with the reward mean/std, each term, the zero-variance fraction, completion lengths, clipped ratio,
entropy) and `samples.jsonl` (a few completions of each step with their rewards). SIGTERM (or `max_minutes`)
stops after the current step and saves. No Gradio.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any

from training.progress import progress_callback
from training.sft import (
    OOM_ADVICE,
    copy_base_extras,
    install_stop_handler,
    is_oom,
    target_modules_for,
    torch_dtype,
)
from training.sft_config import SMALL_MODEL_PARAMS, ConfigError, SFTConfig, load_config, save_config
from training.status import write_status

HELD_OUT_SEEDS = 2000  # evaluation seeds 0..1999: a training prompt equal to one of their prompts is skipped
SAMPLES_PER_STEP = 4  # completions written to samples.jsonl per logged step
METRICS = {  # metrics.jsonl name: TRL's logged name
    "reward": "reward",
    "reward_std": "reward_std",
    "frac_reward_zero_std": "frac_reward_zero_std",
    "completion_length": "completions/mean_length",
    "clipped_ratio": "completions/clipped_ratio",
    "entropy": "entropy",
    "kl": "kl",
    "loss": "loss",
    "grad_norm": "grad_norm",
    "learning_rate": "learning_rate",
}


def main(argv: list[str] | None = None) -> int:
    """Run the config given on the command line; exit code 0 when finished or stopped, 1 when failed."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("Fields:\n" + "\n".join(f"  {f.name}: {f.metadata['help']}" for f in fields(SFTConfig)))
        return 0 if argv in (["-h"], ["--help"]) else 2
    run_dir = Path(argv[0]).parent
    try:
        cfg = load_config(argv[0])
        cfg.method = "grpo"
        run_dir = cfg.run_dir
        result = run(cfg)
    except BaseException as exc:  # noqa: BLE001 - every failure must land in status.json
        if isinstance(exc, SystemExit):
            exc = RuntimeError("stopped by a second signal before the model was saved")
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ConfigError) and is_oom(exc):
            error = f"{OOM_ADVICE}\n({error})"
        write_status(run_dir, "failed", error=error, ended=time.time())
        print(f"[grpo] failed: {error}", flush=True)
        return 1
    write_status(run_dir, "finished", phase="done", ended=time.time(), **result)
    print(f"[grpo] finished: {json.dumps(result)}", flush=True)
    return 0


# ---------------------------------------------------------------- prompts


def held_out_prompts(family: str, level: int, count: int = HELD_OUT_SEEDS) -> set[str]:
    """The prompts of the evaluation seeds 0..count-1 (small puzzles repeat: a training seed can draw one)."""
    from playground.puzzles import generate

    return {generate(family, level, seed).prompt for seed in range(count)}


def puzzle_prompts(cfg: SFTConfig) -> list[dict[str, Any]]:
    """`num_examples` puzzle prompts, round-robin over the config's (family, level) pairs, from training seeds."""
    from playground.puzzles import families, generate

    known = families()
    names = cfg.puzzle_families or list(known)
    pairs = [(n, lv) for n in names for lv in cfg.puzzle_levels if lv in known[n].levels]
    if not pairs:
        raise ConfigError(f"none of the levels {cfg.puzzle_levels} exist for {', '.join(names)}")
    held = {pair: held_out_prompts(*pair) for pair in pairs}
    rows: list[dict[str, Any]] = []
    seed = cfg.puzzle_seed_start
    while len(rows) < cfg.num_examples:
        if seed - cfg.puzzle_seed_start > 20 * cfg.num_examples + 1000:
            raise ConfigError(f"only {len(rows)} training prompts differ from the held-out evaluation prompts")
        for fam, level in pairs:
            inst = generate(fam, level, seed)
            if inst.prompt not in held[(fam, level)] and len(rows) < cfg.num_examples:
                rows.append(_row(inst.prompt, fam, level, seed))
        seed += 1
    return rows


def failure_prompts(cfg: SFTConfig) -> list[dict[str, Any]]:
    """The puzzles an evaluation (its results.jsonl) failed, each once, up to `num_examples`."""
    from playground.puzzles import generate
    from training.data import DataError

    path = Path(cfg.data_path)
    failed: dict[tuple[str, int, int], None] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"cannot read evaluation results {path}: {exc}") from exc
    for line in lines:
        try:
            row = json.loads(line)
            if not row.get("correct"):
                failed[(str(row["family"]), int(row["level"]), int(row["seed"]))] = None
        except (ValueError, KeyError, TypeError):
            continue
    if not failed:
        raise DataError(f"{path} holds no failed puzzles to train on")
    return [_row(generate(f, lv, s).prompt, f, lv, s) for f, lv, s in list(failed)[: cfg.num_examples]]


def _row(prompt: str, family: str, level: int, seed: int) -> dict[str, Any]:
    return {"prompt": [{"role": "user", "content": prompt}], "family": family, "level": level, "seed": seed}


def build_prompts(cfg: SFTConfig) -> list[dict[str, Any]]:
    """The run's dataset rows: a chat prompt and the family, level and seed its reward needs."""
    return failure_prompts(cfg) if cfg.data_source == "failures" else puzzle_prompts(cfg)


# ---------------------------------------------------------------- model and trainer


def use_full_finetuning(cfg: SFTConfig, params: int) -> bool:
    """Full fine-tuning for `finetune: full`, or `auto` on a small model; LoRA otherwise."""
    return cfg.finetune == "full" or (cfg.finetune == "auto" and params < SMALL_MODEL_PARAMS)


def opens_thought(tok: Any) -> bool:
    """Whether the chat template's generation prompt already opens the thought (it ends with `<think>`)."""
    try:
        text = tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    except Exception:  # noqa: BLE001 - no chat template: the model writes its own tags
        return False
    return text.rstrip().endswith("<think>")


def build_trainer(cfg: SFTConfig, callbacks: list[Any] | None = None) -> Any:
    """Model, prompts, reward terms and a ready `GRPOTrainer` for `cfg` (the bench calls this in-process too)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from playground.models.loading import bnb_config
    from training.rewards import make_reward_funcs

    tok = AutoTokenizer.from_pretrained(cfg.base_model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    dtype = torch_dtype(cfg)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if cfg.load_in_4bit:
        kwargs["quantization_config"] = bnb_config("4bit", compute_dtype=dtype)
    model = AutoModelForCausalLM.from_pretrained(cfg.base_model, **kwargs)
    full = use_full_finetuning(cfg, sum(p.numel() for p in model.parameters()))
    peft_config = None
    if not full:
        from peft import LoraConfig

        targets = target_modules_for(model, cfg.target_modules)
        peft_config = LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=targets
        )
    rollout = None
    if cfg.rollout == "batched":
        from training.rollout import make_rollout

        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is marked experimental
        rollout = make_rollout(tok, cfg.num_generations, cfg.max_completion_length, cfg.temperature)
    cuda = torch.cuda.is_available()
    args = GRPOConfig(
        output_dir=str(cfg.run_dir / "trainer"),
        learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        reward_weights=[cfg.reward_correct, cfg.reward_format, cfg.reward_length, cfg.reward_repetition],
        num_train_epochs=cfg.num_epochs,
        max_steps=cfg.max_steps,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        seed=cfg.seed,
        bf16=dtype == torch.bfloat16 and cuda,  # TRL's default bf16=True fails on a CPU-only machine
        fp16=dtype == torch.float16 and cuda,
        gradient_checkpointing=cfg.gradient_checkpointing,
        save_strategy="no",  # the model is saved once, at the end or on stop
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=cuda,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=make_reward_funcs(opens_thought(tok), cfg.max_completion_length),
        args=args,
        train_dataset=Dataset.from_list(build_prompts(cfg)),
        processing_class=tok,
        peft_config=peft_config,
        callbacks=callbacks or [],
        rollout_func=rollout,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.full_finetuning = full
    trainer.data_summary = {"examples": len(trainer.train_dataset), "dropped": 0}
    return trainer


# ---------------------------------------------------------------- progress files


def samples_of(trainer: Any, step: int, n: int = SAMPLES_PER_STEP) -> list[dict[str, Any]]:
    """The last `n` completions the trainer scored, with each reward term and the advantage."""
    from training.rewards import completion_text

    logs = getattr(trainer, "_logs", None) or {}
    completions = list(logs.get("completion", []))[-n:]
    rewards = {name: list(v)[-n:] for name, v in logs.get("rewards", {}).items()}
    advantages = list(logs.get("advantages", []))[-n:]
    prompts = list(logs.get("prompt", []))[-n:]
    extra = {name: list(v)[-n:] for name, v in logs.get("extra", {}).items()}
    weights = dict(zip(rewards, trainer.args.reward_weights or [1.0] * len(rewards)))
    out = []
    for i, comp in enumerate(completions):
        terms = {name: round(float(v[i]), 4) for name, v in rewards.items() if i < len(v)}
        out.append(
            {
                "step": step,
                "prompt": completion_text(prompts[i]) if i < len(prompts) else "",
                **{name: v[i] for name, v in extra.items() if i < len(v)},
                "completion": completion_text(comp),
                "reward": round(sum(weights[k] * v for k, v in terms.items()), 4),
                "terms": terms,
                "advantage": round(float(advantages[i]), 4) if i < len(advantages) else None,
            }
        )
    return out


def make_progress_callback(run_dir: Path, stop: dict[str, bool], max_minutes: float = 0.0) -> Any:
    """The run's progress callback (training.progress) with GRPO's figures: reward mean and std, each reward term,
    the other METRICS, completions per second; the newest completions go to samples.jsonl (once the callback's
    `trainer` is set) and one line per logged step to the log."""

    def figures(logs: dict, state: Any, args: Any, elapsed: float) -> dict:
        row = {k: logs.get(v) for k, v in METRICS.items()}
        row |= {k.split("/")[1]: v for k, v in logs.items() if k.startswith("rewards/") and k.endswith("/mean")}
        completions = args.per_device_train_batch_size * args.gradient_accumulation_steps * state.global_step
        return row | {"completions": completions, "completions_per_s": round(completions / max(elapsed, 1e-9), 3)}

    def report(callback: Any, row: dict) -> None:
        if callback.trainer is not None:
            with open(run_dir / "samples.jsonl", "a") as f:
                for sample in samples_of(callback.trainer, row["step"]):
                    f.write(json.dumps(sample, ensure_ascii=False) + "\n")
        terms = " ".join(f"{k} {row[k]:.2f}" for k in ("correct", "format", "length", "repetition") if k in row)
        print(
            f"[grpo] step {row['step']}/{row['total_steps']} reward {row['reward']:.3f}±{row['reward_std'] or 0:.3f} "
            f"({terms}) zero-std {row['frac_reward_zero_std'] or 0:.2f} len {row['completion_length'] or 0:.0f} "
            f"eta {row['eta_s']:.0f}s",
            flush=True,
        )

    return progress_callback(run_dir, stop, max_minutes, "reward", figures, report)


CARD = """---
library_name: {library}
base_model: {base}
tags: [grpo, reasoning-playground]
---
# {name}

{what} of `{base}` trained by Reasoning Playground (`python -m training.grpo`) with TRL's GRPO on {data}:
{step} steps{stopped}, {generations} samples per prompt, rewards {rewards}; last mean reward {reward}.
The full recipe is in `training_config.yaml`; the curves are in the run's `metrics.jsonl`.
"""


def save_result(trainer: Any, cfg: SFTConfig, stopped: bool) -> Path:
    """Save the trained model (full) or adapter (LoRA) with the run's config and a card; returns its folder."""
    out = cfg.run_dir / ("model" if trainer.full_finetuning else "adapter")
    trainer.save_model(str(out))
    if trainer.full_finetuning:
        copy_base_extras(cfg.base_model, out)
    save_config(cfg, out / "training_config.yaml")
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    weights = {"correct": cfg.reward_correct, "format": cfg.reward_format, "length": cfg.reward_length}
    weights["repetition"] = cfg.reward_repetition
    (out / "README.md").write_text(
        CARD.format(
            library="transformers" if trainer.full_finetuning else "peft",
            base=cfg.base_model,
            name=cfg.name,
            what="A full fine-tune" if trainer.full_finetuning else "A LoRA adapter",
            data="failed evaluation puzzles" if cfg.data_source == "failures" else "puzzle prompts",
            step=trainer.state.global_step,
            stopped=" (stopped early)" if stopped else "",
            generations=cfg.num_generations,
            rewards=", ".join(f"{k}×{w:g}" for k, w in weights.items() if w),
            reward=f"{rewards[-1]:.3f}" if rewards else "n/a",
        )
    )
    return out


def run(cfg: SFTConfig) -> dict[str, Any]:
    """Train, save the model or adapter (also after a stop request) and return a summary for status.json."""
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = {"requested": False}

    def on_stop() -> None:
        stop["requested"] = True
        write_status(run_dir, "stopping")
        print("[grpo] stop requested: finishing the current step, then saving", flush=True)

    install_stop_handler(on_stop)
    write_status(run_dir, "running", phase="loading", method="grpo", pid=os.getpid(), started=time.time(), error=None)
    callback = make_progress_callback(run_dir, stop, cfg.max_minutes)
    trainer = build_trainer(cfg, [callback])
    callback.trainer = trainer
    write_status(run_dir, "stopping" if stop["requested"] else "running", **trainer.data_summary)
    runtime = trainer.train().metrics.get("train_runtime") if not stop["requested"] else 0.0
    write_status(run_dir, "stopping" if stop["requested"] else "running", phase="saving")
    out = save_result(trainer, cfg, stop["requested"] or bool(stop.get("time_limit")))
    state = trainer.state
    rewards = [h["reward"] for h in state.log_history if "reward" in h]
    key = "model_dir" if trainer.full_finetuning else "adapter_dir"
    return {
        key: str(out.resolve()),
        "step": state.global_step,
        "total_steps": state.max_steps,
        "stopped": stop["requested"],
        "time_limit": bool(stop.get("time_limit")),
        "final_reward": rewards[-1] if rewards else None,
        "train_runtime_s": runtime,
    }


if __name__ == "__main__":
    sys.exit(main())
