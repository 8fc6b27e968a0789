"""Before/after evaluation of a trained adapter: the base and the base + adapter on the same held-out puzzles.

Built-in training data is drawn from puzzle seeds 100000 up (`SFTConfig.puzzle_seed_start`); this evaluation uses
seeds from 0, so both models are judged on puzzles the adapter never saw, with the same `playground.evaluation.run`
config and sampling seed. The base is the app's loaded model when that is exactly the base (no extra memory);
otherwise a copy is loaded beside it, and the adapter is then applied to a copy — never to the app's model, so the
Chat tab is not disturbed. At most one extra model is in memory at a time. No Gradio here.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from playground.evaluation.run import EvalConfig, EvalResult, run_evaluation
from playground.evaluation.stats import json_safe
from playground.generation.engine import Engine
from playground.models.adapters import adapter_label, apply_adapter
from playground.models.loading import load_model, unload
from playground.puzzles import families, get_family

Progress = Callable[[int, int, str], None]  # (done generations, total generations, what is running)
COLUMNS = ["model", "pass@1 %", "pass@1 std", "majority %", "best-of-N %", "thinking tokens", "answer tokens"]
COLUMNS.append("unparseable %")


@dataclass
class CompareConfig:
    """A small, quick before/after evaluation (seconds on CPU for the tiny model)."""

    family: str = "maze"
    level: int = 1
    puzzles: int = 8
    samples: int = 2
    think_budget: int | None = None  # unlimited: a cut thought leaves no answer to compare, before or after
    answer_budget: int | None = 256
    temperature: float = 0.8
    seed: int = 0  # sampling seed, shared by both models
    first_seed: int = 0  # puzzle seeds first_seed .. first_seed + puzzles - 1
    train_seed_start: int = 100_000  # the run's first training seed: evaluation seeds must stay below it

    def validate(self) -> None:
        """ValueError with a user-facing message (including seeds that overlap the training seeds)."""
        self.eval_config("check").validate()
        if self.first_seed < 0 or self.first_seed + self.puzzles > self.train_seed_start:
            raise ValueError(
                f"puzzle seeds {self.first_seed}..{self.first_seed + self.puzzles - 1} are not held out: the run "
                f"trained on seeds from {self.train_seed_start}; use seeds below that"
            )

    def eval_config(self, name: str) -> EvalConfig:
        return EvalConfig(
            family=self.family,
            levels=[self.level],
            puzzles=self.puzzles,
            samples=self.samples,
            budgets=[self.think_budget],
            temperature=self.temperature,
            seed=self.seed,
            first_seed=self.first_seed,
            answer_budget=self.answer_budget,
            name=name,
        )


def run_config(adapter_dir: str | Path) -> dict[str, Any]:
    """The training run's settings saved with the adapter (training_config.yaml, else the run's config.yaml)."""
    import yaml

    path = Path(adapter_dir)
    for candidate in (path / "training_config.yaml", path.parent / "config.yaml"):
        try:
            data = yaml.safe_load(candidate.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            return data
    return {}


def default_config(adapter_dir: str | Path, **overrides: Any) -> CompareConfig:
    """A CompareConfig on what the run trained on: its first puzzle family and level, below its training seeds."""
    run = run_config(adapter_dir)
    fams = [f for f in run.get("puzzle_families") or [] if f in families()]
    levels = run.get("puzzle_levels") or [1]
    family = fams[0] if fams else ("maze" if "maze" in families() else next(iter(families())))
    level = int(levels[0]) if int(levels[0]) in get_family(family).levels else get_family(family).default_level
    values = {"family": family, "level": level, "train_seed_start": int(run.get("puzzle_seed_start") or 100_000)}
    return CompareConfig(**{**values, **overrides})


def default_out_dir(adapter_dir: str | Path) -> Path | None:
    """runs/<run>/before-after for a run's adapter folder (runs/<run>/adapter); None for other folders."""
    path = Path(adapter_dir)
    return path.parent / "before-after" if path.name == "adapter" else None


def _pct(x: float | None) -> float:
    return round(100 * x, 1) if x is not None and not math.isnan(x) else math.nan


def _row(model: str, result: EvalResult) -> dict[str, Any]:
    s = next(iter(result.sweep.values()), None)
    if s is None:
        return {"model": model} | dict.fromkeys(COLUMNS[1:], math.nan)
    t = s["tokens"]
    values = [_pct(s["pass1"]["mean"]), _pct(s["pass1"]["std"]), _pct(s["majority"]), _pct(s["best_of_n"])]
    values += [round(t["thinking"]["mean"], 1), round(t["answer"]["mean"], 1), _pct(s["unparseable"])]
    return dict(zip(COLUMNS, [model, *values]))


def answer_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers the adapter changed: records matched by puzzle (family, level, seed), budget and sample whose
    answer text differs, each with its verdict before and after ("right → wrong", "wrong → right", "wrong → wrong",
    "right → right")."""

    def key(r: dict[str, Any]) -> tuple:
        return r["family"], r["level"], r["seed"], r["budget"], r["sample"]

    def word(r: dict[str, Any]) -> str:
        return "right" if r["correct"] else "wrong"

    done = {key(r): r for r in after}
    out = []
    for b in before:
        a = done.get(key(b))
        if a is None or (a["answer"] or "").strip() == (b["answer"] or "").strip():
            continue
        out.append(
            {
                "seed": b["seed"],
                "sample": b["sample"],
                "change": f"{word(b)} → {word(a)}",
                "before": b.get("extracted") or (b["answer"] or "").strip()[:80],
                "after": a.get("extracted") or (a["answer"] or "").strip()[:80],
            }
        )
    return out


@dataclass
class Comparison:
    """The two evaluations and their side-by-side table."""

    adapter: str
    base: str
    config: CompareConfig
    before: EvalResult
    after: EvalResult

    def rows(self) -> list[dict[str, Any]]:
        """One row per model and a last row with the change (after − before)."""
        before, after = _row(f"{self.base} (before)", self.before), _row(self.after.model + " (after)", self.after)
        change = {"model": "change"} | {k: round(after[k] - before[k], 1) for k in COLUMNS[1:] if k != "pass@1 std"}
        return [before, after, change | {"pass@1 std": math.nan}]

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=COLUMNS)

    @property
    def stopped(self) -> bool:
        return self.before.stopped or self.after.stopped

    def changes(self) -> list[dict[str, Any]]:
        """The answers the adapter changed, puzzle by puzzle and sample by sample (see `answer_changes`)."""
        return answer_changes(self.before.records, self.after.records)

    def change_counts(self) -> dict[str, int]:
        """How many answers were compared, changed, and went right → wrong or wrong → right."""
        changes = [c["change"] for c in self.changes()]
        compared = len({(r["seed"], r["sample"]) for r in self.after.records})
        return {
            "compared": compared,
            "changed": len(changes),
            "wrong_to_right": changes.count("wrong → right"),
            "right_to_wrong": changes.count("right → wrong"),
        }

    def changes_text(self) -> str:
        """One sentence: how many answers the adapter changed and which way."""
        n = self.change_counts()
        if not n["changed"]:
            return f"The adapter changed none of the {n['compared']} answers."
        other = n["changed"] - n["wrong_to_right"] - n["right_to_wrong"]
        return (
            f"The adapter changed **{n['changed']} of {n['compared']}** answers: **{n['wrong_to_right']} wrong → "
            f"right**, **{n['right_to_wrong']} right → wrong**"
            + (f", {other} to another answer with the same verdict." if other else ".")
        )

    def summary(self) -> str:
        """What was compared on what (one Markdown line), then how many answers the adapter changed."""
        c = self.config
        seeds = f"seeds {c.first_seed}–{c.first_seed + c.puzzles - 1}"
        budget = "unlimited" if c.think_budget is None else f"{c.think_budget} tokens"
        return (
            f"**{get_family(c.family).title}** level {c.level}, {c.puzzles} held-out puzzles ({seeds}) × {c.samples} "
            f"samples, thinking budget {budget}: `{self.base}` before vs after **{adapter_label(self.adapter)}**"
            + (" — stopped early, partial results." if self.stopped else ".")
            + "\n\n"
            + self.changes_text()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "adapter": self.adapter,
            "base": self.base,
            "config": asdict(self.config),
            "rows": json_safe(self.rows()),
            "changes": json_safe(self.changes()),
            "change_counts": self.change_counts(),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }


def compare_adapter(
    engine: Engine,
    adapter_dir: str | Path,
    config: CompareConfig | None = None,
    offline: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    out_dir: str | Path | None = None,
) -> Comparison:
    """Evaluate the adapter's base, then base + adapter, on the same held-out puzzles (see the module docstring).

    `out_dir` (default: `default_out_dir(adapter_dir)`) receives base/ and adapter/ evaluation folders and
    comparison.json. Raises ValueError for bad settings and ModelLoadError for a base or adapter that cannot load.
    """
    adapter = str(Path(adapter_dir).expanduser())
    config = config or default_config(adapter)
    config.validate()
    stop = stop or threading.Event()
    base = engine.adapter_base_for(adapter)
    current = engine.loaded
    quant, device = (current.quant, current.device) if current else ("auto", "auto")
    out = Path(out_dir) if out_dir else default_out_dir(adapter)
    per_model = config.puzzles * config.samples

    def phase(offset: int) -> Progress | None:
        if progress is None:
            return None
        return lambda done, _total, message: progress(offset + done, 2 * per_model, message)

    def evaluate(eng: Engine, label: str, offset: int) -> EvalResult:
        cfg = config.eval_config(label)
        where = {"out_dir": out / label} if out else {"save": False}
        return run_evaluation(eng, cfg, phase(offset), stop, **where)

    reuse = current is not None and not current.adapter and current.name == base
    loaded = None if reuse else load_model(base, quant, device, offline, fallback=False)
    try:
        before = evaluate(engine if reuse else Engine(loaded), "base", 0)
        if loaded is None:  # the app's own model served as the base: the adapter goes on a copy
            loaded = load_model(base, quant, device, offline, fallback=False)
        apply_adapter(loaded, adapter)
        after = evaluate(Engine(loaded), "adapter", per_model)
    finally:
        unload(loaded)
    result = Comparison(adapter, base, config, before, after)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "comparison.json").write_text(json.dumps(result.to_json(), indent=1, ensure_ascii=False))
    return result


__all__ = [
    "CompareConfig",
    "Comparison",
    "answer_changes",
    "compare_adapter",
    "default_config",
    "default_out_dir",
    "run_config",
]
