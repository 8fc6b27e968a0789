"""Widgets shared by the tabs: the budget sliders' limits and builders, the budget modes, and how their values read.

A budget slider's last stop means unlimited (`slider_budget`); a seed box's -1 means a fresh random seed. Handlers
receive their inputs as one dict of named values (`inputs_kwargs={name: widget}`, `def handler(**values)`), and
the readers here turn those values into the budgets and seeds a request or a panel takes.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.generation.budgets import slider_budget

THINK_MAX = 8192  # a thinking-budget slider's last stop: unlimited
ANSWER_MAX = 4096  # an answer-budget slider's last stop: unlimited
BUDGET_STEP = 16
SEED_MAX = 2**31 - 1
MODES = [("Hard cut", "hard"), ("Wrap-up sentence", "wrapup"), ("s1 extend (“Wait”)", "extend")]
# Characters that start HTML or Markdown markup, as character references: they render as themselves in a toast
# (HTML) and in a Markdown or HTML component alike.
_MARKUP = {c: f"&#{ord(c)};" for c in "&<>\"'`*_[]()!#|~\\"}


def budget_slider(maximum: int, value: int, label: str, **kwargs: Any) -> gr.Slider:
    """A budget slider from 0 to `maximum` tokens in steps of 16; say in `label` what its last stop means."""
    return gr.Slider(0, maximum, value=value, step=BUDGET_STEP, label=label, **kwargs)


def read_budgets(values: dict[str, Any]) -> dict[str, int | None]:
    """The sliders `think_budget`, `answer_budget` (and `min_think`, if present) → budgets in tokens, None for
    unlimited; the minimum thinking is kept within the thinking budget."""
    think = slider_budget(values["think_budget"], THINK_MAX)
    out = {"think_budget": think, "answer_budget": slider_budget(values["answer_budget"], ANSWER_MAX)}
    if "min_think" in values:
        least = int(values["min_think"] or 0)
        out["min_think"] = least if think is None else min(least, think)
    return out


def min_think_note(values: dict[str, Any]) -> str | None:
    """In s1 extend mode, the note for a minimum thinking above the thinking budget (the thought then ends at the
    budget, as `read_budgets` keeps the minimum within it); None otherwise."""
    think, least = slider_budget(values["think_budget"], THINK_MAX), int(values.get("min_think") or 0)
    if values.get("budget_mode") != "extend" or think is None or least <= think:
        return None
    return (
        f"The minimum thinking ({least:,} tokens) is above the thinking budget ({think:,}): the thought ends at the "
        "budget."
    )


def read_seed(value: float | None, what: str = "seed") -> int | None:
    """A seed box → a seed, or None for a fresh random one (-1 or empty); ValueError for anything else."""
    if value is None or value == -1:
        return None
    if int(value) != value or not 0 <= value <= SEED_MAX:
        raise ValueError(f"The {what} must be a whole number between 0 and {SEED_MAX} (or -1 for random).")
    return int(value)


def escape_markup(text: object) -> str:
    """`text` (a model name, a path, an error message) shown as plain text wherever Gradio renders markup: toasts,
    Markdown and HTML components. Not for code spans (`...`), which show character references literally."""
    return "".join(_MARKUP.get(c, c) for c in str(text))


def code_markup(text: object) -> str:
    """`text` in code type (a model name, a path) wherever Gradio renders markup: an HTML code element, since a
    Markdown code span would show the escaped characters as references."""
    return f"<code>{escape_markup(text)}</code>"


def model_choice_hint(demo: bool, served: bool) -> str:
    """What a model picker takes here: the server's models (a remote backend), the presets (a shared demo), or any
    preset, hub id or local folder."""
    if served:
        return "a model the server serves"
    return "a preset" if demo else "a preset, hub id or local folder"
