"""A training run's progress, the part every method shares: status.json at the start and at most once a second,
one metrics.jsonl row per logged step (the method's figures, then time, ETA and memory), and Stop or the time
limit ending the run after the step in flight. `training.sft` and `training.grpo` give it their own figures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from training.status import write_status

Figures = Callable[[dict, Any, Any, float], dict]  # (logs, trainer state, training args, elapsed s) -> row fields
Report = Callable[[Any, dict], None]  # (the callback, the row written) -> anything else to write or print


def progress_callback(
    run_dir: Path, stop: dict[str, bool], max_minutes: float, logged: str, figures: Figures, report: Report
) -> Any:
    """A TrainerCallback that writes a metrics row for each log holding `logged` (figures from `figures`), then calls
    `report`; it ends the run after the step in flight once `stop["requested"]` is set or `max_minutes` have
    passed (0: no limit). `callback.trainer` may be set to give `report` the trainer."""
    from transformers import TrainerCallback

    def state_name() -> str:
        return "stopping" if stop["requested"] else "running"

    class ProgressCallback(TrainerCallback):
        trainer: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.t0 = self.status_t = time.perf_counter()
            if state.is_world_process_zero:
                write_status(
                    run_dir, state_name(), phase="training", step=state.global_step, total_steps=state.max_steps
                )

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if max_minutes and time.perf_counter() - self.t0 > 60 * max_minutes:
                stop["time_limit"] = True
            if stop["requested"] or stop.get("time_limit"):
                control.should_training_stop = True

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            if not logs or logged not in logs or not state.is_world_process_zero:
                return
            now = time.perf_counter()
            elapsed, step = now - self.t0, state.global_step
            eta = elapsed / max(step, 1) * (state.max_steps - step)
            if max_minutes:
                eta = min(eta, max(60 * max_minutes - elapsed, 0))
            gpu, rss = memory_gb()
            row = {"step": step, "total_steps": state.max_steps, "epoch": round(state.epoch or 0.0, 4)}
            row |= figures(logs, state, args, elapsed)
            row |= {
                "elapsed_s": round(elapsed, 3),
                "eta_s": round(eta, 1),
                "gpu_mem_gb": gpu,
                "rss_gb": round(rss, 3),
                "time": time.time(),
            }
            with open(run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            report(self, row)
            if now - self.status_t >= 1.0:  # status.json is for humans: once a second is plenty
                self.status_t = now
                write_status(run_dir, state_name(), step=step, total_steps=state.max_steps)

    return ProgressCallback()


def memory_gb() -> tuple[float | None, float]:
    """(peak GPU memory allocated, peak RSS of this process) in GB."""
    import torch

    gpu = torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None
    return gpu, peak_rss_gb()


def peak_rss_gb() -> float:
    """This process's own peak resident memory in GB. Linux's VmHWM belongs to the process's current memory map, so
    it starts afresh at exec; getrusage's ru_maxrss carries the launching parent's peak over into a child (used only
    where /proc is missing)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1e6  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux
