"""One supervised fine-tuning run described by a YAML file:

    python -m training.sft runs/<name>/config.yaml

peft LoRA on a transformers `Trainer` (QLoRA when `load_in_4bit` on CUDA), or with `finetune: full` every weight
of the model; the loss falls on the final assistant turn only. The run talks to the outside world through files
in its folder (the YAML's folder unless `output_dir` is set): `status.json` (queued/running/stopping/finished/failed
+ error, see training/status.py), `metrics.jsonl` (one line per logged step) and `adapter/` (a standard PEFT
adapter, the config and a model card) or, fully fine-tuned, `model/` (a whole model that loads like its base, and
can be the base of a further run). The config schema is training/sft_config.py. SIGTERM stops after the current
step, saves and exits 0. Works under `accelerate launch` (only rank 0 writes files). No Gradio.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any

from training.progress import progress_callback
from training.sft_config import ConfigError, SFTConfig, load_config, save_config
from training.status import write_status

BASE_EXTRAS = ("playground.json", "chat_template.jinja")  # what the app reads about a base model's kind

# All attention + MLP projections of common architectures; anything else gets peft's "all-linear".
LLAMA_LIKE = "llama mistral qwen2 qwen3 qwen2_moe qwen3_moe gemma gemma2 gemma3_text olmo2 granite smollm3"
TARGET_MODULES = {
    **dict.fromkeys(LLAMA_LIKE.split(), ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
}
OOM_ADVICE = (
    "Out of memory. Try a smaller batch size or max sequence length, turn on gradient checkpointing, "
    "or load the base in 4-bit (QLoRA)."
)


def is_oom(exc: BaseException) -> bool:
    """CUDA/CPU out-of-memory, whichever way the backend reports it."""
    import torch

    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in str(exc).lower()


def main(argv: list[str] | None = None) -> int:
    """Run the config given on the command line; exit code 0 when finished or stopped, 1 when failed."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("Fields:\n" + "\n".join(f"  {f.name}: {f.metadata['help']}" for f in fields(SFTConfig)))
        return 0 if argv in (["-h"], ["--help"]) else 2
    config_path = Path(argv[0])
    run_dir = config_path.parent
    if not config_path.is_file():  # no run folder to report into: say so and stop
        print(f"[sft] error: no config file at {config_path}", file=sys.stderr, flush=True)
        return 2
    try:
        cfg = load_config(config_path)
        run_dir = cfg.run_dir
        result = run(cfg)
    except BaseException as exc:  # noqa: BLE001 - every failure must land in status.json
        if isinstance(exc, SystemExit):
            exc = RuntimeError("stopped by a second signal before the adapter was saved")
        if not isinstance(exc, ConfigError):  # a config error is the message itself
            traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ConfigError) and is_oom(exc):
            error = f"{OOM_ADVICE}\n({error})"
        if _is_main_process():
            write_status(run_dir, "failed", error=error, ended=time.time())
        print(f"[sft] failed: {error}", flush=True)
        return 1
    if _is_main_process():
        write_status(run_dir, "finished", phase="done", ended=time.time(), **result)
    print(f"[sft] finished: {json.dumps(result)}", flush=True)
    return 0


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


# ---------------------------------------------------------------- the run (heavy imports inside functions)


def target_modules_for(model: Any, requested: Any = "auto") -> list[str] | str:
    """LoRA targets: the request; for 'auto' this architecture's known projections, else 'all-linear'."""
    if requested not in ("auto", None, "", []):
        return requested
    names = TARGET_MODULES.get(getattr(model.config, "model_type", ""), [])
    present = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    found = [n for n in names if n in present]
    return found or "all-linear"


def torch_dtype(cfg: SFTConfig) -> Any:
    """The run's torch dtype: the config's, or for "auto" bf16 on a GPU that supports it, else fp32."""
    import torch

    if cfg.dtype != "auto":
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[cfg.dtype]
    cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if cuda_bf16 else torch.float32


def load_model(cfg: SFTConfig) -> tuple[Any, Any]:
    """(peft model, tokenizer) freshly loaded (never reuse a model that ran no-grad 4-bit forwards); with
    `finetune: full` the plain model, every weight trainable."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from playground.models.loading import bnb_config

    tok = AutoTokenizer.from_pretrained(cfg.base_model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"  # positions start at 0 for every row (the engine pads left for generation)
    dtype = torch_dtype(cfg)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if cfg.load_in_4bit:
        kwargs["quantization_config"] = bnb_config("4bit", compute_dtype=dtype)
        if torch.cuda.is_available():
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    model = AutoModelForCausalLM.from_pretrained(cfg.base_model, **kwargs)
    model.config.use_cache = False  # the KV cache is useless in training and conflicts with checkpointing
    if cfg.finetune == "full":  # the config refuses a 4-bit base for it
        return model, tok
    if cfg.load_in_4bit:
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=cfg.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        bias="none",
        target_modules=target_modules_for(model, cfg.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora), tok


def build_dataset(cfg: SFTConfig, tok: Any) -> tuple[list[dict[str, list[int]]], int]:
    """(encoded examples with labels masked to the assistant turn, how many were dropped as too long)."""
    from training.data import DataError, build_examples, encode_all

    puzzles = {
        "families": cfg.puzzle_families,
        "levels": cfg.puzzle_levels,
        "seed_start": cfg.puzzle_seed_start,
    }
    kwargs = {
        "count": cfg.num_examples,
        "path": cfg.data_path,
        "tokenizer": tok,
        "max_seq_len": cfg.max_seq_len,
    }
    examples = build_examples(cfg.data_source, **puzzles, **kwargs)
    encoded, dropped = encode_all(tok, examples, cfg.max_seq_len)
    too_long = f"longer than max_seq_len={cfg.max_seq_len}"
    if dropped:
        print(f"[sft] dropped {dropped} of {len(examples)} examples {too_long}")
    if not encoded:
        raise DataError(f"no training examples: {len(examples)} built, all {too_long}")
    return encoded, dropped


def build_trainer(cfg: SFTConfig, callbacks: list[Any] | None = None) -> Any:
    """Model, data and a ready transformers Trainer for `cfg` (the bench calls this in-process too)."""
    import torch
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer, TrainingArguments

    model, tok = load_model(cfg)
    dataset, dropped = build_dataset(cfg, tok)
    dtype = torch_dtype(cfg)
    args = TrainingArguments(
        output_dir=str(cfg.run_dir / "trainer"),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_epochs,
        max_steps=cfg.max_steps,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        save_strategy="no",  # the adapter is saved once, at the end or on stop
        report_to="none",
        disable_tqdm=True,  # the log tail shows our one line per step instead of carriage returns
        seed=cfg.seed,
        bf16=dtype == torch.bfloat16 and torch.cuda.is_available(),
        fp16=dtype == torch.float16 and torch.cuda.is_available(),
        activation_checkpointing=cfg.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    collator = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tok,
        callbacks=callbacks or [],
    )
    trainer.remove_callback(PrinterCallback)  # its raw dicts would duplicate our one line per step in the log
    trainer.data_summary = {"examples": len(dataset), "dropped": dropped}
    return trainer


def make_progress_callback(run_dir: Path, stop: dict[str, bool], max_minutes: float = 0.0) -> Any:
    """The run's progress callback (training.progress) with SFT's figures: loss, learning rate, gradient norm and
    tokens per second since the last row; one line per logged step in the log."""
    last = {"t": 0.0, "tokens": 0}

    def figures(logs: dict, state: Any, args: Any, elapsed: float) -> dict:
        tokens = state.num_input_tokens_seen
        rate = (tokens - last["tokens"]) / max(elapsed - last["t"], 1e-9)
        last.update(t=elapsed, tokens=tokens)
        return {
            "loss": logs["loss"],
            "learning_rate": logs.get("learning_rate"),
            "grad_norm": logs.get("grad_norm"),
            "tokens": tokens,
            "tokens_per_s": rate,
        }

    def report(callback: Any, row: dict) -> None:
        print(
            f"[sft] step {row['step']}/{row['total_steps']} loss {row['loss']:.4f} lr {row['learning_rate']:.2e} "
            f"{row['tokens_per_s']:.0f} tok/s eta {row['eta_s']:.0f}s",
            flush=True,
        )

    return progress_callback(run_dir, stop, max_minutes, "loss", figures, report)


CARD = """---
library_name: peft
base_model: {base}
tags: [lora, sft, reasoning-playground]
---
# {name}

LoRA adapter (r={r}, alpha={alpha}, targets {targets}) for `{base}`, trained by Reasoning Playground
(`python -m training.sft`) on {data} for {step} steps{stopped}; last loss {loss}.
The full recipe is in `training_config.yaml`.

```python
from peft import PeftModel
from transformers import AutoModelForCausalLM
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("{base}"), "<this folder>")
```
"""


FULL_CARD = """---
library_name: transformers
base_model: {base}
tags: [sft, reasoning-playground]
---
# {name}

A full fine-tune of `{base}` trained by Reasoning Playground (`python -m training.sft`) on {data} for {step}
steps{stopped}; last loss {loss}. It loads like its base and can be the base of a further run (e.g. GRPO).
The full recipe is in `training_config.yaml`.
"""


def copy_base_extras(base: str | Path, out: Path) -> None:
    """Copy the files the app reads about a base model's kind (its playground.json, chat template) into a fully
    fine-tuned model's folder, so that it loads as the same kind of model."""
    for extra in BASE_EXTRAS:
        if (Path(base) / extra).is_file() and not (out / extra).exists():
            shutil.copy(Path(base) / extra, out / extra)


def run(cfg: SFTConfig) -> dict[str, Any]:
    """Train, save the adapter or model (also after a stop request) and return a summary for status.json."""
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = {"requested": False}
    main_proc = _is_main_process()

    def on_stop() -> None:
        stop["requested"] = True
        if main_proc:
            write_status(run_dir, "stopping")
        print("[sft] stop requested: finishing the current step, then saving", flush=True)

    install_stop_handler(on_stop)
    if main_proc:
        write_status(run_dir, "running", phase="loading", pid=os.getpid(), started=time.time(), error=None)
    trainer = build_trainer(cfg, [make_progress_callback(run_dir, stop, cfg.max_minutes)])
    if main_proc:
        write_status(run_dir, "stopping" if stop["requested"] else "running", **trainer.data_summary)
    runtime = trainer.train().metrics.get("train_runtime") if not stop["requested"] else 0.0
    if main_proc:
        write_status(run_dir, "stopping" if stop["requested"] else "running", phase="saving")
    full = cfg.finetune == "full"
    adapter_dir = run_dir / ("model" if full else "adapter")
    trainer.save_model(str(adapter_dir))
    state = trainer.state
    losses = [h["loss"] for h in state.log_history if "loss" in h]
    result = {
        "model_dir" if full else "adapter_dir": str(adapter_dir.resolve()),
        "step": state.global_step,
        "total_steps": state.max_steps,
        "stopped": stop["requested"],
        "time_limit": bool(stop.get("time_limit")),
        "final_loss": losses[-1] if losses else None,
        "tokens": state.num_input_tokens_seen,
        "train_runtime_s": runtime,
    }
    if main_proc:
        save_config(cfg, adapter_dir / "training_config.yaml")
        data = {
            "puzzles": "verified puzzle traces",
            "jsonl": f"`{Path(cfg.data_path).name}`",
            "failures": "failed evaluation puzzles",
        }.get(cfg.data_source, cfg.data_source)
        stopped = " (stopped early)" if stop["requested"] or stop.get("time_limit") else ""
        loss = f"{losses[-1]:.4f}" if losses else "n/a"
        if full:
            copy_base_extras(cfg.base_model, adapter_dir)
            card = FULL_CARD.format(
                base=cfg.base_model, name=cfg.name, data=data, step=state.global_step, stopped=stopped, loss=loss
            )
            (adapter_dir / "README.md").write_text(card)
            return result
        targets = trainer.model.peft_config["default"].target_modules
        (adapter_dir / "README.md").write_text(
            CARD.format(
                base=cfg.base_model,
                name=cfg.name,
                r=cfg.lora_r,
                alpha=cfg.lora_alpha,
                data=data,
                step=state.global_step,
                targets=", ".join(sorted(targets)) if isinstance(targets, (set, list)) else targets,
                stopped=stopped,
                loss=loss,
            )
        )
    return result


def install_stop_handler(on_stop: Any) -> None:
    """SIGTERM/SIGINT call `on_stop()` once (the step in flight finishes); a second signal exits at once."""
    fired = []

    def handler(signum: int, frame: Any) -> None:
        if fired:
            raise SystemExit(143)
        fired.append(signum)
        on_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


if __name__ == "__main__":
    sys.exit(main())
