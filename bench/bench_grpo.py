"""GRPO throughput (completions/s): through the runner (subprocess + status/metrics files) vs the same GRPOTrainer
in-process, and the playground's batched rollout (one shared prefill per group) vs TRL's default generation.

All sides build the trainer with `training.grpo.build_trainer` from one config (the embedded tiny reasoner,
3SAT level 1, the same seed); completions/s is completions over the training time (the runner's from its
`train_runtime_s`, the in-process one from `trainer.train()`), so model loading is left out of both. Completion
lengths differ between sides when the sampler differs, so the rollout comparison also prints tokens/s.

    python -m bench.bench_grpo [--steps 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from playground.models.loading import resolve_source  # noqa: E402
from training.grpo import build_trainer  # noqa: E402
from training.runner import TrainRunner  # noqa: E402
from training.sft_config import config_from_dict  # noqa: E402


def in_process(cfg) -> dict[str, float]:
    """Completions/s and completion tokens/s of the trainer run in this process."""
    trainer = build_trainer(cfg)
    runtime = trainer.train().metrics["train_runtime"]
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    completions = cfg.batch_size * cfg.grad_accum * trainer.state.global_step
    return {
        "completions_per_s": completions / runtime,
        "tokens_per_s": completions * sum(lengths) / len(lengths) / runtime,
    }


def through_runner(cfg, root: Path, threads: int) -> float:
    """Completions/s of the same config trained by the runner's subprocess."""
    runner = TrainRunner(root / "runs", lock_path=root / "lock", env={"OMP_NUM_THREADS": str(threads)})
    runner.launch(cfg)
    status = runner.wait(cfg.name, timeout=3600)
    if status.get("state") != "finished":
        raise SystemExit(f"runner failed: {status.get('error')}")
    return cfg.batch_size * cfg.grad_accum * status["step"] / status["train_runtime_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-completion-length", type=int, default=256)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="bench-grpo-"))
    base = {
        "method": "grpo",
        "base_model": resolve_source("tiny"),
        "puzzle_families": ["sat"],
        "num_examples": 64,
        "max_steps": args.steps,
        "batch_size": 8,
        "num_generations": 4,
        "max_completion_length": args.max_completion_length,
        "learning_rate": 5e-5,
        "finetune": "full",
    }
    cfg = config_from_dict({**base, "name": "runner", "output_dir": str(root / "runs" / "runner")})
    t0 = time.perf_counter()
    runner_cps = through_runner(cfg, root, args.threads)
    print(f"runner:      {runner_cps:.3f} completions/s ({time.perf_counter() - t0:.0f} s wall, start-up included)")
    direct = in_process(replace(cfg, name="direct", output_dir=str(root / "direct")))
    print(f"in-process:  {direct['completions_per_s']:.3f} completions/s")
    print(f"ratio runner / in-process: {runner_cps / direct['completions_per_s']:.2f}")
    batched = in_process(replace(cfg, name="batched", output_dir=str(root / "batched"), rollout="batched"))
    print(
        f"rollout batched: {batched['completions_per_s']:.3f} completions/s, {batched['tokens_per_s']:.0f} tokens/s;"
        f" TRL generate: {direct['completions_per_s']:.3f} completions/s, {direct['tokens_per_s']:.0f} tokens/s"
    )
    print(
        f"ratio batched / TRL: {batched['completions_per_s'] / direct['completions_per_s']:.2f} (completions/s), "
        f"{batched['tokens_per_s'] / direct['tokens_per_s']:.2f} (tokens/s)"
    )


if __name__ == "__main__":
    main()
