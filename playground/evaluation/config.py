"""What one evaluation is and how large it may be: `EvalConfig` (puzzles, samples, budgets, sampling) and the
`EvalLimits` that bound its size (`LIMITS` everywhere, `DEMO_LIMITS` on a shared deployment)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playground.generation.budgets import BUDGET_MODES
from playground.puzzles import PuzzleConfigError, get_family


@dataclass(frozen=True)
class EvalLimits:
    """How large one evaluation may be: the counts that bound its time, memory and disk."""

    levels: int
    puzzles: int  # per level
    samples: int  # per puzzle
    budgets: int  # thinking budgets in the sweep
    generations: int  # budgets × levels × puzzles × samples
    batch_rows: int  # rows per batched generate call (memory)


LIMITS = EvalLimits(levels=10, puzzles=10_000, samples=256, budgets=32, generations=1_000_000, batch_rows=1024)
# a shared deployment (--demo, a Space): every visitor's evaluation stays a few minutes long
DEMO_LIMITS = EvalLimits(levels=3, puzzles=50, samples=16, budgets=8, generations=1_000, batch_rows=64)


def limits_for(demo: bool) -> EvalLimits:
    """The limits an evaluation gets: DEMO_LIMITS on a shared deployment, else LIMITS."""
    return DEMO_LIMITS if demo else LIMITS


@dataclass
class EvalConfig:
    """One evaluation: which puzzles, how many samples, which budgets, and how to sample."""

    family: str
    levels: list[int] = field(default_factory=lambda: [1])
    puzzles: int = 10  # per level; puzzle seeds are first_seed, first_seed + 1, ...
    samples: int = 4  # N independent generations per puzzle (the "runs")
    budgets: list[int | None] = field(default_factory=lambda: [0, 128, 512])
    temperature: float = 0.8  # the paper's setting for Phi models; 0 = greedy (every sample identical)
    top_p: float = 0.95
    top_k: int = 50
    seed: int = 0  # sampling seed: the same config on the same machine gives the same samples
    first_seed: int = 0
    budget_mode: str = "hard"
    answer_budget: int | None = 512
    system_prompt: str | None = None  # None: the model preset's default
    batch_rows: int = 64  # rows (prompts × samples) per batched generate call: bounds memory
    save_thinking: bool = False  # store each thought in results.jsonl (large for long budgets)
    name: str | None = None  # run folder name under runs/; default eval-<family>-<time>

    def validate(self, limits: EvalLimits = LIMITS) -> None:
        """Raise ValueError (PuzzleConfigError is one) with a user-facing message; the size within `limits`."""
        self.check_size(limits)
        fam = get_family(self.family)
        if not self.levels:
            raise PuzzleConfigError("choose at least one level")
        for level in self.levels:
            fam.check_level(level)
        if self.puzzles < 1 or self.samples < 1:
            raise ValueError("puzzles and samples must be ≥ 1")
        if not self.budgets:
            raise ValueError("choose at least one thinking budget")
        if any(b is not None and b < 0 for b in self.budgets):
            raise ValueError("thinking budgets must be ≥ 0 (or unlimited)")
        if len(set(self.budgets)) < len(self.budgets):  # results are grouped by budget: a repeat counts twice
            raise ValueError("each thinking budget once, please")
        if self.answer_budget is not None and self.answer_budget < 0:
            raise ValueError("the answer budget must be ≥ 0 (or unlimited)")
        if self.budget_mode not in BUDGET_MODES:
            raise ValueError(f"unknown budget mode {self.budget_mode!r}; choose one of {', '.join(BUDGET_MODES)}")
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.top_k < 0 or self.batch_rows < 1:
            raise ValueError("temperature ≥ 0, 0 < top-p ≤ 1, top-k ≥ 0 and batch rows ≥ 1, please")
        if self.name is not None and not re.fullmatch(r"\w[\w.-]*", self.name):
            raise ValueError(f"bad run name {self.name!r}: letters, digits, '-', '_' and '.', not starting with '.'")

    def check_size(self, limits: EvalLimits = LIMITS) -> None:
        """Refuse an evaluation larger than `limits`, naming every count that is over."""
        n_levels, n_budgets = len(self.levels), len(self.budgets)
        generations = n_budgets * n_levels * max(self.puzzles, 0) * max(self.samples, 0)
        over = [
            f"{count:,} {what} (at most {limit:,})"
            for count, limit, what in [
                (n_budgets, limits.budgets, "thinking budgets"),
                (n_levels, limits.levels, "levels"),
                (self.puzzles, limits.puzzles, "puzzles per level"),
                (self.samples, limits.samples, "samples per puzzle"),
                (generations, limits.generations, "generations = budgets × levels × puzzles × samples"),
                (self.batch_rows, limits.batch_rows, "rows per batch"),
            ]
            if count > limit
        ]
        if over:
            raise ValueError(f"This evaluation is too large: {'; '.join(over)}. Make it smaller.")

    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.puzzles))
