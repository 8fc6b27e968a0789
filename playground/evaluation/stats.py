"""The evaluation's statistics, pure functions over per-sample records (no torch, no engine).

A record is one sample's verdict: family, level, seed, budget, sample index, correct, status, extracted answer and
token counts (what `playground.evaluation.run` writes to results.jsonl). Statistics follow the Phi-4-reasoning /
"Inference-Time Scaling" reports:
- average pass@1: run j is "sample j of every puzzle"; its accuracy is the fraction of puzzles it solved; the mean
  and the sample standard deviation (ddof=1, pandas' default; 0 for one run) are taken across the N runs;
- majority vote over the verifier's normalised `extracted` answers (unparseable samples never vote; ties go to the
  answer that appeared first, so the result is deterministic); best-of-N (any sample right, pass@N); worst-of-N
  (every sample right);
- tokens per response (thinking, answer, total): mean and sample standard deviation; breakdown by level.
Results are keyed by `budget_label` ("0", "128", ..., "unlimited").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from playground.generation.budgets import budget_label


def mean_std(values: Sequence[float], ddof: int = 1) -> tuple[float, float]:
    """Mean and standard deviation (sample std by default; 0.0 when there are too few values). Empty → (nan, nan)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n - ddof <= 0:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - ddof))


def pass_at_1(correct: Sequence[Sequence[bool]], ddof: int = 1) -> tuple[float, float, list[float]]:
    """`correct[p][j]`: puzzle p, sample j. Run j's accuracy = mean over puzzles; → (mean, std, per-run accuracies)."""
    if not correct:
        return math.nan, math.nan, []
    n = len(correct[0])
    runs = [sum(bool(row[j]) for row in correct) / len(correct) for j in range(n)]
    mean, std = mean_std(runs, ddof)
    return mean, std, runs


def majority_vote(samples: Sequence[tuple[str | None, bool]]) -> tuple[str | None, bool]:
    """(extracted answer, correct) per sample → (winning answer, whether it is right).

    Unparseable samples (None) never vote; among equally frequent answers the one seen first wins. The winner's
    correctness is that of its first sample (equal normalised answers get equal verdicts). No vote → (None, False).
    """
    votes = Counter(ans for ans, _ in samples if ans is not None)
    if not votes:
        return None, False
    top = max(votes.values())
    winner = next(ans for ans, _ in samples if ans is not None and votes[ans] == top)
    return winner, next(ok for ans, ok in samples if ans == winner)


def best_of_n(correct: Sequence[Sequence[bool]]) -> float:
    """Fraction of puzzles with at least one right sample (pass@N)."""
    return sum(any(row) for row in correct) / len(correct) if correct else math.nan


def worst_of_n(correct: Sequence[Sequence[bool]]) -> float:
    """Fraction of puzzles with every sample right."""
    return sum(all(row) for row in correct) / len(correct) if correct else math.nan


def _by_puzzle(records: Iterable[dict]) -> list[list[dict]]:
    """Group records per puzzle (family, level, seed), each sorted by sample index; all must have N samples."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["family"], r["level"], r["seed"]), []).append(r)
    rows = [sorted(g, key=lambda r: r["sample"]) for g in groups.values()]
    if len({len(r) for r in rows}) > 1:
        raise ValueError("every puzzle needs the same number of samples to compute pass@1 across runs")
    return rows


def accuracy_by_n(records: Iterable[dict]) -> dict[str, list[float]]:
    """Majority / best-of-n / worst-of-n using the first n samples of each puzzle, for n = 1..N."""
    rows = _by_puzzle(records)
    out: dict[str, list[float]] = {"n": [], "majority": [], "best_of_n": [], "worst_of_n": []}
    for n in range(1, (len(rows[0]) if rows else 0) + 1):
        head = [row[:n] for row in rows]
        correct = [[r["correct"] for r in row] for row in head]
        out["n"].append(n)
        out["majority"].append(sum(majority_vote([(r["extracted"], r["correct"]) for r in row])[1] for row in head))
        out["majority"][-1] /= len(rows)
        out["best_of_n"].append(best_of_n(correct))
        out["worst_of_n"].append(worst_of_n(correct))
    return out


def summarize(records: Sequence[dict], ddof: int = 1) -> dict[str, Any]:
    """The paper's statistics over one group of records (e.g. one budget, or one budget and level)."""
    rows = _by_puzzle(records)
    correct = [[r["correct"] for r in row] for row in rows]
    p_mean, p_std, runs = pass_at_1(correct, ddof)
    majority = [majority_vote([(r["extracted"], r["correct"]) for r in row])[1] for row in rows]
    tokens = {}
    for key in ("thinking", "answer", "total"):
        values = [r["thinking_tokens"] + r["answer_tokens"] if key == "total" else r[f"{key}_tokens"] for r in records]
        m, s = mean_std(values, ddof)
        tokens[key] = {"mean": m, "std": s}
    n = len(records)
    return {
        "puzzles": len(rows),
        "samples": len(rows[0]) if rows else 0,
        "pass1": {"mean": p_mean, "std": p_std, "runs": runs},
        "majority": sum(majority) / len(rows) if rows else math.nan,
        "best_of_n": best_of_n(correct),
        "worst_of_n": worst_of_n(correct),
        "tokens": tokens,
        "mean_tokens": tokens["total"]["mean"],
        "unparseable": sum(r["status"] == "unparseable" for r in records) / n if n else math.nan,
        "budget_reached": sum(bool(r.get("budget_reached")) for r in records) / n if n else math.nan,
    }


def summarize_sweep(records: Sequence[dict], budgets: Sequence[int | None]) -> dict[str, dict[str, Any]]:
    """Per budget label: summarize() of its records, a per-level breakdown ("levels") and accuracy by n ("vs_n")."""
    out: dict[str, dict[str, Any]] = {}
    for budget in budgets:
        group = [r for r in records if r["budget"] == budget]
        if not group:
            continue
        entry = {"budget": budget, **summarize(group)}
        entry["levels"] = {
            str(lv): summarize([r for r in group if r["level"] == lv]) for lv in sorted({r["level"] for r in group})
        }
        entry["vs_n"] = accuracy_by_n(group)
        out[budget_label(budget)] = entry
    return out


TABLE_COLUMNS = [
    "budget", "level", "puzzles", "samples", "pass@1", "pass@1 std", "majority", "best-of-N", "worst-of-N",
    "thinking tokens", "thinking std", "answer tokens", "answer std", "total tokens", "total std", "unparseable",
]  # fmt: skip


def table_rows(sweep: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows (one per budget, then one per budget × level when several levels) for CSV and tables."""

    def row(label: str, level: str, s: dict[str, Any]) -> dict[str, Any]:
        t = s["tokens"]
        values = [s["puzzles"], s["samples"], s["pass1"]["mean"], s["pass1"]["std"], s["majority"], s["best_of_n"]]
        values += [s["worst_of_n"], t["thinking"]["mean"], t["thinking"]["std"], t["answer"]["mean"]]
        values += [t["answer"]["std"], t["total"]["mean"], t["total"]["std"], s["unparseable"]]
        return dict(zip(TABLE_COLUMNS, [label, level, *values]))

    rows = []
    for label, entry in sweep.items():
        rows.append(row(label, "all", entry))
        if len(entry["levels"]) > 1:
            rows += [row(label, lv, s) for lv, s in entry["levels"].items()]
    return rows


def json_safe(value: Any) -> Any:
    """NaN → None, recursively, so the JSON is strict."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
