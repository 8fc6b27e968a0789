"""Paper-style evaluation: N samples × M puzzles of a family, swept over thinking budgets.

`run_evaluation(engine, config)` generates each budget's samples in batches (`Backend.generate_batch`, one row per
sample), verifies every answer, appends one JSON line per sample to
`runs/<name>/results.jsonl` as it goes, and writes `summary.json` and `<name>-summary.csv` (the table as people read
it: rates in %, with the model, family and temperature) at the end (also after Stop).
The statistics (pass@1 mean ± std, majority vote, best/worst-of-N, tokens) are `playground.evaluation.stats`.
No Gradio here: the Evaluate tab, the CLI, the before/after comparison and the tiny reasoner's table share it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.evaluation.config import LIMITS, EvalConfig, EvalLimits
from playground.evaluation.stats import TABLE_COLUMNS, json_safe, summarize_sweep, table_rows
from playground.generation.budgets import budget_label
from playground.generation.request import GenerationRequest
from playground.puzzles import get_family

Progress = Callable[[int, int, str], None]  # (done generations, total generations, what is running)


# ---------------------------------------------------------------- running


@dataclass
class EvalResult:
    """What an evaluation produced so far (complete unless `stopped`)."""

    config: EvalConfig
    records: list[dict[str, Any]]
    model: str = ""
    adapter: str | None = None
    out_dir: Path | None = None
    stopped: bool = False
    seconds: float = 0.0
    budget_seconds: dict[str, float] = field(default_factory=dict)
    retries: int = 0  # requests retried after a failure (a remote backend); never scored

    @property
    def sweep(self) -> dict[str, dict[str, Any]]:
        return summarize_sweep(self.records, self.config.budgets)

    def rows(self) -> list[dict[str, Any]]:
        return table_rows(self.sweep)

    def frame(self, compact: bool = False):
        """The summary table for people (see `summary_frame`)."""
        return summary_frame(self.rows(), compact)

    def csv_frame(self):
        """The summary as the CSV holds it: the table's units (rates in %, named so; tokens rounded) after the
        model, family and temperature that produced it."""
        df = self.frame().rename(columns={c: f"{c} %" for c in RATE_COLUMNS})
        for i, (name, value) in enumerate(
            (("model", self.model), ("family", self.config.family), ("temperature", self.config.temperature))
        ):
            df.insert(i, name, value)
        return df

    def to_json(self) -> dict[str, Any]:
        """One JSON object: the run's settings and, per budget label, pass@1 (mean, std), majority, best/worst-of-N,
        tokens and the per-level breakdown."""
        sweep = self.sweep
        for label, entry in sweep.items():
            entry["seconds"] = self.budget_seconds.get(label)
        return json_safe(
            {
                "family": self.config.family,
                "levels": self.config.levels,
                "puzzles": self.config.puzzles,
                "samples": self.config.samples,
                "model": self.model,
                "adapter": self.adapter,
                "stopped": self.stopped,
                "retries": self.retries,
                "seconds": round(self.seconds, 3),
                "out": str(self.out_dir) if self.out_dir else None,
                "config": asdict(self.config),
                "budgets": sweep,
            }
        )


RATE_COLUMNS = ["pass@1", "pass@1 std", "majority", "best-of-N", "worst-of-N", "unparseable"]


def summary_frame(rows: list[dict[str, Any]], compact: bool = False):
    """Table rows (`stats.table_rows`) as a pandas DataFrame for people: rates in %, tokens, both rounded to 0.1.
    `compact` merges each mean and std into one "mean ± std" column (the CLI and the Evaluate tab show that one);
    no rows give the headers alone."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    df[RATE_COLUMNS] = (df[RATE_COLUMNS].astype(float) * 100).round(1)
    tokens = [f"{k} {s}" for k in ("thinking", "answer", "total") for s in ("tokens", "std")]
    df[tokens] = df[tokens].astype(float).round(1)
    if not compact:
        return df
    pm = lambda m, s: [f"{a:.1f} ± {b:.1f}" for a, b in zip(df[m], df[s])]
    out = df[["budget", "level"]].copy()
    out["pass@1"] = pm("pass@1", "pass@1 std")
    for col in ("majority", "best-of-N", "worst-of-N"):
        out[col] = df[col]
    for kind in ("thinking", "answer"):
        out[f"{kind} tokens"] = pm(f"{kind} tokens", f"{kind} std")
    out["unparseable"] = df["unparseable"]
    return out


def check_out_dir(path: str | Path) -> Path:
    """`path` if an evaluation can be written there (a folder, or a folder that can be made in a writable one),
    else ValueError saying why. Nothing is left behind (writing is tried with a temporary folder)."""
    path = Path(path).expanduser()
    probe = path
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"cannot write the evaluation to {path}: {probe} is not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-check-", dir=probe))
    except OSError as err:
        raise ValueError(f"cannot write the evaluation to {path}: {probe} is not writable ({err.strerror})") from err
    return path


def _new_run_dir(runs_dir: Path, name: str) -> Path:
    """A new, empty folder `runs_dir/name` (or `name-2`, `name-3`, …): created exclusively, so two evaluations never
    share one, and never through a link already there (it counts as taken), so the run stays inside `runs_dir`."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    for k in range(1, 10_000):
        path = runs_dir / (name if k == 1 else f"{name}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ValueError(f"too many runs named {name!r} in {runs_dir}")


class Evaluation:
    """A running evaluation: `steps()` generates one batch at a time and yields what it just did, so callers can
    show progress (and partial tables) between batches. `result()` is available at any time."""

    def __init__(
        self,
        engine,
        config: EvalConfig,
        runs_dir: str | Path = "runs",
        out_dir: str | Path | None = None,
        stop: threading.Event | None = None,
        save: bool = True,
        limits: EvalLimits = LIMITS,
    ):
        config.validate(limits)
        self.engine, self.config, self.stop = engine, config, stop or threading.Event()
        fam = get_family(config.family)
        self.family = fam
        self.instances = [fam.generate(seed, level) for level in config.levels for seed in config.seeds()]
        self.total = len(config.budgets) * len(self.instances) * config.samples
        self.done = 0
        self.records: list[dict[str, Any]] = []
        self.budget_seconds: dict[str, float] = {}
        self.seconds = 0.0
        self.stopped = False
        self.retries = 0  # requests the backend tried again after a failure (a server's timeouts, 5xx, drops)
        # the folder is created with the first complete batch: a run stopped before then leaves none behind
        self.save, self.runs_dir, self.out_dir = save, Path(runs_dir), None
        self._out = check_out_dir(out_dir) if out_dir and save else None
        self._name = config.name or time.strftime(f"eval-{config.family}-%Y%m%d-%H%M%S")

    @property
    def greedy(self) -> bool:
        return self.config.temperature == 0

    def _request(self, budget: int | None, call: int) -> GenerationRequest:
        c = self.config
        return GenerationRequest(
            messages=[],
            system_prompt=c.system_prompt,
            temperature=c.temperature,
            top_p=c.top_p,
            top_k=c.top_k,
            seed=(c.seed * 1_000_003 + call) % 2**31,
            think_budget=budget,
            budget_mode=c.budget_mode,
            answer_budget=c.answer_budget,
        )

    def steps(self):
        """Run every budget over every puzzle, batch by batch; yields a progress message after each batch.

        A backend with `concurrent_batches` > 1 (a server) gets that many batches in flight at once, so the server
        batches across puzzles; results are kept in order. A backend's `retries` (requests tried again after a
        failure) are counted, and a batch that fails for good ends the run with its error, keeping what was done.
        """
        c = self.config
        # greedy decoding gives identical samples, so one row per puzzle is generated and counted N times
        n_gen = 1 if self.greedy else c.samples
        per_call = max(1, c.batch_rows // n_gen)
        batches = [(budget, start) for budget in c.budgets for start in range(0, len(self.instances), per_call)]
        window = max(1, int(getattr(self.engine, "concurrent_batches", 1)))
        retries_before = getattr(self.engine, "retries", 0)
        started: dict[str, float] = {}
        t_start = time.perf_counter()

        def generate(call: int):
            budget, start = batches[call]
            started.setdefault(budget_label(budget), time.perf_counter())
            chunk = self.instances[start : start + per_call]
            prompts = [[{"role": "user", "content": inst.prompt}] for inst in chunk]
            return self.engine.generate_batch(prompts, self._request(budget, call), n_gen, self.stop)

        pool = ThreadPoolExecutor(window, thread_name_prefix="eval") if window > 1 else None
        ahead: dict[int, Future] = {}
        try:
            for call, (budget, start) in enumerate(batches):
                if self.stop.is_set():
                    self.stopped = True
                    return
                if pool is None:
                    outputs = generate(call)
                else:
                    for nxt in range(call, min(call + window, len(batches))):
                        if nxt not in ahead:
                            ahead[nxt] = pool.submit(generate, nxt)
                    outputs = ahead.pop(call).result()
                if self.stop.is_set():  # rows cut short by Stop would count as wrong: drop the whole batch
                    self.stopped = True
                    return
                chunk = self.instances[start : start + per_call]
                self._append(
                    [
                        self._record(inst, budget, j, samples[0 if self.greedy else j])
                        for inst, samples in zip(chunk, outputs)
                        for j in range(c.samples)
                    ]
                )
                label = budget_label(budget)
                self.budget_seconds[label] = time.perf_counter() - started[label]
                self.seconds = time.perf_counter() - t_start
                self.retries = getattr(self.engine, "retries", 0) - retries_before
                retried = f" · {self.retries} requests retried" if self.retries else ""
                done = min(start + per_call, len(self.instances))
                yield f"budget {label}: {done}/{len(self.instances)} puzzles{retried}"
        finally:  # also after Stop or an error: what was evaluated is summarised
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            self.seconds = time.perf_counter() - t_start
            self.retries = getattr(self.engine, "retries", 0) - retries_before
            self.save_summary()

    def _record(self, inst, budget: int | None, sample: int, stats) -> dict[str, Any]:
        verdict = self.family.verify(inst, stats.answer)
        rec = {
            "family": inst.family,
            "level": inst.level,
            "seed": inst.seed,
            "budget": budget,
            "sample": sample,
            "correct": bool(verdict.correct),
            "status": verdict.status,
            "score": verdict.score,
            "extracted": verdict.extracted,
            "reason": verdict.reason,
            "thinking_tokens": stats.thinking_tokens,
            "answer_tokens": stats.answer_tokens,
            "budget_reached": stats.budget_reached,
            "thought_closed": stats.thought_closed,
            "answer": stats.answer,
        }
        if self.config.save_thinking:
            rec["thinking"] = stats.thinking
        return rec

    def _append(self, new: list[dict[str, Any]]) -> None:
        self.records += new
        self.done += len(new)
        if self.save and self.out_dir is None:
            self.out_dir = self._create_out_dir()
        if self.out_dir:
            with open(self.out_dir / "results.jsonl", "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in new)

    def _create_out_dir(self) -> Path:
        if self._out is None:
            return _new_run_dir(self.runs_dir, self._name)
        try:
            self._out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"cannot write the evaluation to {self._out}: {err.strerror or err}") from err
        (self._out / "results.jsonl").write_text("")
        return self._out

    def saved_message(self) -> str:
        """Where the run was saved, for people: its folder and files, or that nothing was complete to save."""
        if self.out_dir is None:
            return "Nothing was complete, so nothing was saved."
        return f"Saved to {self.out_dir}/ (results.jsonl, summary.json, {self.csv_path.name})."

    def result(self) -> EvalResult:
        info = self.engine.describe()
        return EvalResult(
            config=self.config,
            records=list(self.records),
            model=info.name if info else "",
            adapter=info.adapter if info else None,
            out_dir=self.out_dir,
            stopped=self.stopped,
            seconds=self.seconds,
            budget_seconds=dict(self.budget_seconds),
            retries=self.retries,
        )

    @property
    def csv_path(self) -> Path | None:
        """The summary CSV, named after the run so that a download says which run it holds."""
        return self.out_dir / f"{self.out_dir.name}-summary.csv" if self.out_dir else None

    def save_summary(self) -> EvalResult:
        """Write summary.json and the summary CSV for what has been evaluated so far."""
        result = self.result()
        if self.out_dir:
            (self.out_dir / "summary.json").write_text(json.dumps(result.to_json(), indent=1, ensure_ascii=False))
            result.csv_frame().to_csv(self.csv_path, index=False, lineterminator="\n")
        return result


def run_evaluation(
    engine,
    config: EvalConfig,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    runs_dir: str | Path = "runs",
    out_dir: str | Path | None = None,
    save: bool = True,
) -> EvalResult:
    """Run a whole evaluation (see `Evaluation`), calling `progress(done, total, message)` after each batch."""
    ev = Evaluation(engine, config, runs_dir, out_dir, stop, save)
    if progress:
        progress(0, ev.total, "starting")
    for message in ev.steps():
        if progress:
            progress(ev.done, ev.total, message)
    return ev.result()
