"""Training throughput through the runner (subprocess + metrics/status files) vs the same Trainer in-process.

Both sides build the identical Trainer with `training.sft.build_trainer` on the same data; tokens/s is
measured at step ends after a few warm-up steps (the runner's from its metrics.jsonl), and the ratio
runner / direct should be ≥ 0.9. The subprocess's start-up (imports, model load) shows in the wall times.

    python -m bench.bench_train                      # tiny placeholder model on CPU, puzzle traces
    python -m bench.bench_train --base Qwen/Qwen3-0.6B --4bit --steps 30 --max-seq-len 2048   # on a GPU
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import TrainerCallback  # noqa: E402

from training.runner import TrainRunner  # noqa: E402
from training.sft import build_trainer, make_progress_callback  # noqa: E402
from training.sft_config import SFTConfig  # noqa: E402


class StepTimer(TrainerCallback):
    """(seconds, tokens seen) at every step end: the same points the runner's metrics.jsonl records."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int]] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.points.append((time.perf_counter() - self.t0, state.num_input_tokens_seen))


def steady_tps(points: list[tuple[float, int]], warmup: int) -> float:
    """Tokens/s after the first `warmup` steps (a fresh process pays one-off costs in its first steps)."""
    (t0, n0), (t1, n1) = points[min(warmup, len(points) - 2)], points[-1]
    return (n1 - n0) / (t1 - t0)


def bookkeeping_ms(root: Path, n: int = 200) -> float:
    """Milliseconds per step spent by the runner's callback (metrics line, status, log line); load-proof."""
    import contextlib
    import io
    from types import SimpleNamespace

    cb = make_progress_callback(root, {"requested": False})
    state = SimpleNamespace(num_input_tokens_seen=0, is_world_process_zero=True, global_step=0, max_steps=n, epoch=0)
    cb.on_train_begin(None, state, None)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        for step in range(1, n + 1):
            state.global_step, state.num_input_tokens_seen = step, step * 1000
            cb.on_step_end(None, state, SimpleNamespace(should_training_stop=False))
            cb.on_log(None, state, None, logs={"loss": 1.0, "learning_rate": 1e-4, "grad_norm": 1.0})
    return (time.perf_counter() - t0) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="", help="base model (default: a freshly built tiny placeholder)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-len", type=int, default=1024)
    parser.add_argument("--4bit", dest="four_bit", action="store_true", help="QLoRA (4-bit base)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating direct/runner pairs")
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps left out of the tokens/s")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads on both sides (0: torch default)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-train-"))
    base = args.base
    if not base:
        from playground.models.placeholder import build_placeholder

        base = str(build_placeholder(root / "base"))
    cfg = SFTConfig(
        base_model=base,
        data_source="puzzles",
        puzzle_levels=[1],
        num_examples=args.steps * args.batch_size,
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_seq_len=args.max_seq_len,
        load_in_4bit=args.four_bit,
        lr_scheduler="constant",
        warmup=0,
        logging_steps=1,
    )
    env = {}
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        env["OMP_NUM_THREADS"] = str(args.threads)
    runner = TrainRunner(root / "runs", lock_path=root / "train.lock", env=env)
    direct_tps, runner_tps, direct_wall, runner_wall, gpu = [], [], [], [], []
    for i in range(args.repeats):  # alternate, so that load from other processes hits both sides alike
        t0 = time.perf_counter()
        timer = StepTimer()
        trainer = build_trainer(replace(cfg, output_dir=str(root / f"direct{i}")), [timer])
        trainer.train()
        direct_wall.append(time.perf_counter() - t0)
        direct_tps.append(steady_tps(timer.points, args.warmup_steps))
        del trainer

        t0 = time.perf_counter()
        runner.launch(replace(cfg, name=f"bench{i}"))
        status = runner.wait(f"bench{i}", timeout=3600)
        runner_wall.append(time.perf_counter() - t0)
        if status["state"] != "finished":
            raise SystemExit(f"runner run failed: {status.get('error')}\n{runner.log_tail(f'bench{i}')}")
        rows = runner.metrics(f"bench{i}")
        runner_tps.append(steady_tps([(r["elapsed_s"], r["tokens"]) for r in rows], args.warmup_steps))
        gpu += [r["gpu_mem_gb"] for r in rows if r.get("gpu_mem_gb")]

    d, r = statistics.median(direct_tps), statistics.median(runner_tps)
    print(
        f"base={base} 4bit={args.four_bit} steps={args.steps} batch={args.batch_size} "
        f"max_seq_len={args.max_seq_len} repeats={args.repeats} threads={args.threads or 'default'}"
    )
    print(
        f"direct Trainer (in-process): {d:,.0f} tokens/s   runs {[round(x) for x in direct_tps]}  "
        f"wall {statistics.median(direct_wall):.1f} s"
    )
    print(
        f"runner (subprocess):         {r:,.0f} tokens/s   runs {[round(x) for x in runner_tps]}  "
        f"wall {statistics.median(runner_wall):.1f} s (incl. process start-up)"
    )
    if gpu:
        print(f"peak GPU memory: {max(gpu):.2f} GB")
    step_s = rows[-1]["tokens"] / rows[-1]["step"] / d  # a typical step's duration, in seconds
    ms = bookkeeping_ms(root)
    print(f"runner bookkeeping per step: {ms:.2f} ms ({ms / 1000 / step_s:.2%} of a step here)")
    print(f"ratio runner/direct = {r / d:.3f} (goal ≥ 0.9)")


if __name__ == "__main__":
    main()
