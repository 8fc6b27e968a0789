"""What one visitor may ask for: budgets, evaluation sizes and the models they may load, in one place.

On the visitor's own machine (`FULL`) the sliders' last stops are the limits and a thinking or answer budget may be
unlimited. A shared demo (`--demo`, or any Hugging Face Space) caps every request so that one visitor cannot keep the
machine busy for long or exhaust its memory: `DEMO`. The handlers enforce the caps (`check_budgets`,
`check_evaluation`), so an API call cannot go past them; the sliders stop at them and `summary()` says what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.generation.budgets import budget_label


@dataclass(frozen=True)
class Limits:
    """Caps per request; None = unlimited allowed."""

    think_budget: int | None = None  # tokens of thought
    answer_budget: int | None = None  # tokens after the thought
    eval_puzzles: int = 200  # per level
    eval_samples: int = 64  # per puzzle
    eval_budgets: int | None = None  # thinking budgets in one sweep
    eval_levels: int | None = None
    demo: bool = False  # presets only, no training

    def summary(self) -> str:
        """One line for the page: what this shared demo allows."""
        if not self.demo:
            return ""
        return (
            f"**Shared demo:** thinking ≤ {self.think_budget:,} tokens, answers ≤ {self.answer_budget:,} tokens; "
            f"evaluations ≤ {self.eval_puzzles} puzzles × {self.eval_samples} samples × {self.eval_budgets} budgets "
            f"× {self.eval_levels} levels; preset models only; training is off."
        )

    def check_budgets(self, think: int | None, answer: int | None, where: str = "") -> None:
        """ValueError when a thinking or answer budget (None = unlimited) exceeds its cap."""
        for what, value, cap in (("thinking", think, self.think_budget), ("answer", answer, self.answer_budget)):
            if cap is not None and (value is None or value > cap):
                raise ValueError(
                    f"{where}this shared demo allows {what} budgets up to {cap:,} tokens "
                    f"({budget_label(value)} was asked for)."
                )

    def check_evaluation(
        self, puzzles: int, samples: int, budgets: list[int | None], levels: list[int], answer: int | None
    ) -> None:
        """ValueError when an evaluation is larger than the caps allow."""
        if puzzles > self.eval_puzzles:
            raise ValueError(f"At most {self.eval_puzzles} puzzles per level here ({puzzles} were asked for).")
        if samples > self.eval_samples:
            raise ValueError(f"At most {self.eval_samples} samples per puzzle here ({samples} were asked for).")
        if self.eval_budgets is not None and len(budgets) > self.eval_budgets:
            raise ValueError(
                f"At most {self.eval_budgets} thinking budgets per run here ({len(budgets)} were asked for)."
            )
        if self.eval_levels is not None and len(levels) > self.eval_levels:
            raise ValueError(f"At most {self.eval_levels} levels per run here ({len(levels)} were asked for).")
        for budget in budgets:
            self.check_budgets(budget, answer, "Evaluation: ")


FULL = Limits()
DEMO = Limits(
    think_budget=2048,
    answer_budget=1024,
    eval_puzzles=20,
    eval_samples=8,
    eval_budgets=4,
    eval_levels=2,
    demo=True,
)

# The queue: generations that run at once per kind of event (the rest wait in line, their position shown), and how
# many requests may wait in all before new ones are turned away.
CHAT_CONCURRENCY = 8  # replies (concurrent ones are cheap to batch together)
RACE_CONCURRENCY = 2  # races (two generations each)
EVAL_CONCURRENCY = 1  # evaluations (each already batches many samples)
QUEUE_MAX_SIZE = 64
