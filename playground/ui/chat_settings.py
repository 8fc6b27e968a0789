"""The Chat tab's settings as a request, and how often a streamed reply updates the page. No layout here."""

from __future__ import annotations

from typing import Any

from playground.generation.request import GenerationRequest
from playground.ui.limits import Limits
from playground.ui.widgets import read_budgets, read_seed

STREAM_INTERVAL_S = 0.2  # at most five page updates a second: each one re-renders the whole conversation
STREAM_UPDATES_PER_S = 10  # all visitors' streams together: 8 at once update every 0.8 s each
STREAM_CHARS_PER_S = 40_000  # and fewer as it grows, so a long thought does not keep the browser busy


def stream_interval(history: list, streams: int = 1) -> float:
    """Seconds between two streamed page updates of a conversation this long while `streams` replies stream at once:
    the updates of all of them share STREAM_UPDATES_PER_S, since the server spends as much CPU on one update (Gradio's
    processing of the whole conversation) as the model spends on several tokens."""
    chars = sum(len(str(m.get("content", ""))) for m in history)
    return max(STREAM_INTERVAL_S, streams / STREAM_UPDATES_PER_S, chars / STREAM_CHARS_PER_S)


def chat_request(values: dict[str, Any], limits: Limits) -> GenerationRequest:
    """The settings widgets' values (keyed by GenerationRequest field) → a request; the messages come from the
    history. ValueError for a bad seed or a budget over the limits."""
    budgets = read_budgets(values)
    limits.check_budgets(budgets["think_budget"], budgets["answer_budget"])
    return GenerationRequest(
        messages=[],
        system_prompt=values["system_prompt"] or "",
        temperature=float(values["temperature"]),
        top_p=float(values["top_p"]),
        top_k=int(values["top_k"]),
        seed=read_seed(values["seed"]),
        budget_mode=values["budget_mode"],
        wrapup_text=values["wrapup_text"] or "",
        **budgets,
    )
