"""Shared types of the puzzle families: instances, verdicts, the family interface and answer extraction helpers.

Every family module (one per family) builds on these so that the UI, the CLI, evaluation and training can treat
all families alike. Nothing here imports Gradio or torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


class PuzzleConfigError(ValueError):
    """A puzzle configuration (level, sizes, seed) is invalid; the message says what to change."""


@dataclass
class Instance:
    """One generated puzzle: everything a verifier needs lives in `data` (JSON-serialisable)."""

    family: str
    level: int
    seed: int
    prompt: str
    reference: str  # the reference final answer, written exactly as the prompt asks for it
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "level": self.level,
            "seed": self.seed,
            "prompt": self.prompt,
            "reference": self.reference,
            "data": self.data,
        }


@dataclass
class Verdict:
    """The verifier's judgement of one model output.

    `reason` is one short human sentence; `details` lists per-check results (e.g. each clause, each constraint)
    as dicts with at least "check" and "ok". `extracted` is the normalised answer used for majority voting
    (None when unparseable).
    """

    correct: bool
    score: float
    reason: str
    status: str = "wrong"  # "correct" | "wrong" | "unparseable"
    extracted: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "correct": self.correct,
            "status": self.status,
            "score": self.score,
            "reason": self.reason,
            "extracted": self.extracted,
            "details": self.details,
        }


def unparseable(reason: str) -> Verdict:
    """A verdict for an answer that could not be read at all."""
    return Verdict(correct=False, score=0.0, reason=reason, status="unparseable")


def strip_thinking(text: str) -> str:
    """Drop every <think>…</think> block; with an unclosed <think>, keep only what follows the last </think>."""
    text = THINK_BLOCK.sub("", text)
    if "</think>" in text:  # the prompt opened <think>, so only the closing tag appears in the output
        text = text.rsplit("</think>", 1)[1]
    if "<think>" in text:  # thinking never closed: there is no answer
        text = text.split("<think>", 1)[0]
    return text


@dataclass(frozen=True)
class Family:
    """A puzzle family as the registry sees it.

    generate(seed, level) -> Instance           deterministic: only random.Random(seed)
    verify(instance, text) -> Verdict           pure; never raises on any text
    trace(instance) -> str                      the solver's step-by-step reasoning (thinking-trace style)
    draw(instance, answer=None) -> plotly Figure
    levels: {level: one-line description}; level 1 is teachable-small, the highest the paper's size.
    """

    name: str
    title: str
    description: str
    levels: dict[int, str]
    generate: Callable[[int, int], Instance]
    verify: Callable[[Instance, str], Verdict]
    trace: Callable[[Instance], str]
    draw: Callable[..., Any]
    default_level: int = 1

    @property
    def short_title(self) -> str:
        """The title without its parenthetical source ("Spatial map (SpatialEval)" -> "Spatial map")."""
        return self.title.split(" (")[0]

    def check_level(self, level: int) -> None:
        if level not in self.levels:
            raise PuzzleConfigError(f"{self.name} has no level {level}; choose one of {sorted(self.levels)}")
