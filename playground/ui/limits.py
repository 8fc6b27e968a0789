"""What one visitor may ask for: budgets, evaluation sizes and the queue, in one place for the UI.

On the visitor's own machine (`FULL`) the sliders' last stops are the limits and a thinking or answer budget may be
unlimited. A shared demo (`--demo`, or any Hugging Face Space) caps every request so that one visitor cannot keep the
machine busy for long or exhaust its memory: `DEMO` (evaluation sizes: `evaluation.config.DEMO_LIMITS`). The handlers
enforce the caps (`check_budgets`, `check_evaluation`), so an API call cannot go past them; the sliders stop at them
and `summary()` says what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.evaluation.config import DEMO_LIMITS, LIMITS, EvalConfig, EvalLimits
from playground.generation.budgets import budget_label

PUZZLES_SLIDER_MAX = 200  # the Evaluate tab's sliders end here (or at the cap, if lower)
SAMPLES_SLIDER_MAX = 64


@dataclass(frozen=True)
class Limits:
    """Caps per request; None = unlimited allowed."""

    think_budget: int | None = None  # tokens of thought
    answer_budget: int | None = None  # tokens after the thought
    evaluation: EvalLimits = LIMITS  # how large one evaluation may be
    demo: bool = False  # presets only, no training

    @property
    def eval_puzzles(self) -> int:
        """The Evaluate tab's puzzles slider maximum."""
        return min(PUZZLES_SLIDER_MAX, self.evaluation.puzzles)

    @property
    def eval_samples(self) -> int:
        """The Evaluate tab's samples slider maximum."""
        return min(SAMPLES_SLIDER_MAX, self.evaluation.samples)

    def summary(self) -> str:
        """One line for the page: what this shared demo allows."""
        if not self.demo:
            return ""
        ev = self.evaluation
        return (
            f"**Shared demo:** thinking ≤ {self.think_budget:,} tokens, answers ≤ {self.answer_budget:,} tokens; "
            f"an evaluation makes at most {ev.generations:,} answers (budgets × levels × puzzles × samples), with at "
            f"most {ev.budgets} budgets, {ev.levels} levels, {ev.puzzles} puzzles per level and {ev.samples} samples "
            "per puzzle; preset models only; training is off."
        )

    def check_budgets(self, think: int | None, answer: int | None, where: str = "") -> None:
        """ValueError when a thinking or answer budget (None = unlimited) exceeds its cap."""
        for what, value, cap in (("thinking", think, self.think_budget), ("answer", answer, self.answer_budget)):
            if cap is not None and (value is None or value > cap):
                raise ValueError(
                    f"{where}this shared demo allows {what} budgets up to {cap:,} tokens "
                    f"({budget_label(value)} was asked for)."
                )

    def check_evaluation(self, config: EvalConfig) -> None:
        """ValueError when an evaluation is larger than the caps allow (its size, and each budget)."""
        config.check_size(self.evaluation)
        for budget in config.budgets:
            self.check_budgets(budget, config.answer_budget, "Evaluation: ")


FULL = Limits()
DEMO = Limits(think_budget=2048, answer_budget=1024, evaluation=DEMO_LIMITS, demo=True)

# The queue: generations that run at once per kind of event (the rest wait in line, their position shown), and how
# many requests may wait in all before new ones are turned away.
CHAT_CONCURRENCY = 8  # replies (concurrent ones are cheap to batch together)
RACE_CONCURRENCY = 2  # races (two generations each)
EVAL_CONCURRENCY = 1  # evaluations (each already batches many samples)
QUEUE_MAX_SIZE = 64
