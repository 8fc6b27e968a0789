"""What a backend is asked and what it answers: the request, the streamed events and the finished generation's stats.

Plain dataclasses with no torch import, so a backend that generates elsewhere (a remote server) speaks the same
types as the local engine, and the UI, the CLIs and the evaluation consume either one unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from playground.generation.budgets import BUDGET_MODES

DEFAULT_WRAPUP = "Considering the limited time, I have to give the solution based on the thinking directly now."

MAX_TEMPERATURE = 100.0  # far beyond any useful value; bounds what a request may ask for


@dataclass
class GenerationRequest:
    """One generation: the chat so far (ending with the user's turn) and how to sample and budget it."""

    messages: list[dict[str, str]]
    system_prompt: str | None = None  # None: the preset's default; "" for none
    temperature: float = 0.6  # 0 = greedy
    top_p: float = 0.95
    top_k: int = 20
    seed: int | None = None
    think_budget: int | None = 512  # None = unlimited; 0 = skip thinking
    budget_mode: str = "hard"  # hard | wrapup | extend
    min_think: int = 0  # extend mode: replace an early end of thinking by "Wait" until this many tokens
    wrapup_text: str = DEFAULT_WRAPUP
    answer_budget: int | None = 1024  # tokens after </think>; None = unlimited

    def validate(self) -> None:
        """Raise ValueError with a user-facing message for settings that make no sense."""
        if not self.messages or not any(m.get("content", "").strip() for m in self.messages if m["role"] == "user"):
            raise ValueError("The prompt is empty: type a question first.")
        if self.budget_mode not in BUDGET_MODES:
            raise ValueError(f"Unknown budget mode {self.budget_mode!r}; choose one of {', '.join(BUDGET_MODES)}.")
        for label, value in (("thinking budget", self.think_budget), ("answer budget", self.answer_budget)):
            if value is not None and value < 0:
                raise ValueError(f"The {label} must be ≥ 0 (or unlimited).")
        if self.min_think < 0 or (self.think_budget is not None and self.min_think > self.think_budget):
            raise ValueError("The minimum thinking length must be between 0 and the thinking budget.")
        if not (0 <= self.temperature <= MAX_TEMPERATURE) or not 0 < self.top_p <= 1 or self.top_k < 0:
            # written as "not in range" so that NaN (never in any range) is refused, not read as greedy
            raise ValueError(
                f"Sampling settings out of range: 0 ≤ temperature ≤ {MAX_TEMPERATURE:g}, 0 < top-p ≤ 1, top-k ≥ 0."
            )
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise ValueError("The seed must be a whole number from 0 to 2**63 - 1 (or empty for a random seed).")


@dataclass
class Notice:
    """Something the user must know about this generation (e.g. the prompt was cut to fit the context)."""

    text: str


@dataclass
class ThinkingDelta:
    text: str
    n_tokens: int  # thinking tokens so far


@dataclass
class ThinkingDone:
    seconds: float
    n_tokens: int
    budget_reached: bool
    finished: bool = True  # False when the model never closed its thought


@dataclass
class AnswerDelta:
    text: str
    n_tokens: int  # answer tokens so far


@dataclass
class GenerationStats:
    """What one finished generation produced and cost."""

    thinking: str = ""
    answer: str = ""
    thinking_tokens: int = 0
    answer_tokens: int = 0
    seconds: float = 0.0
    think_seconds: float = 0.0
    tokens_per_s: float = 0.0
    budget_reached: bool = False
    thought_closed: bool = False
    extensions: int = 0  # "Wait" insertions in extend mode
    stopped: bool = False
    model: str = ""
    notices: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Done:
    """The last event of a stream: the finished generation's stats."""

    stats: GenerationStats


Event = Notice | ThinkingDelta | ThinkingDone | AnswerDelta | Done


def final_stats(events: Iterable[Event]) -> GenerationStats:
    """Run a stream to its end: the stats of its `Done` (empty stats when it ends without one)."""
    stats = GenerationStats()
    for event in events:
        if isinstance(event, Done):
            stats = event.stats
    return stats
