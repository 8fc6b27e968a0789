"""Thinking and answer budgets as people write them: the one parser and the one label.

A budget is a whole number of tokens (0 = no thinking for a thinking budget) or None, which means unlimited.
People, CLIs and sliders write unlimited as "unlimited" (also accepted: "none", "inf", "∞", an empty string where
a field allows it); everything the playground shows or writes says "unlimited".
"""

from __future__ import annotations

UNLIMITED = "unlimited"
UNLIMITED_WORDS = frozenset({"unlimited", "none", "inf", "infinity", "∞"})
BUDGET_MODES = ("hard", "wrapup", "extend")


class BudgetError(ValueError):
    """A budget that cannot be read; the message says what to write instead."""


def parse_budget(value: str | int | float | None, what: str = "budget") -> int | None:
    """One budget: a whole number of tokens ≥ 0, or None for unlimited ("unlimited", "none", "inf", None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BudgetError(f"bad {what} {value!r}: use a whole number of tokens ≥ 0, or 'unlimited'")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite: no number of tokens
            if value == float("inf"):
                return None
            raise BudgetError(f"bad {what} {value!r}: use a whole number of tokens ≥ 0, or 'unlimited'")
        if value != int(value):
            raise BudgetError(f"bad {what} {value!r}: budgets are whole numbers of tokens")
        number = int(value)
    else:
        text = str(value).strip()
        if text.lower() in UNLIMITED_WORDS:
            return None
        try:
            number = int(text)
        except ValueError:
            raise BudgetError(f"bad {what} {text!r}: use a whole number of tokens ≥ 0, or 'unlimited'") from None
    if number < 0:
        raise BudgetError(f"bad {what} {number}: budgets are ≥ 0 tokens (or 'unlimited')")
    return number


def parse_budgets(text: str, what: str = "budget") -> list[int | None]:
    """A comma-separated sweep, e.g. '0,128,unlimited' → [0, 128, None]; duplicates dropped, order kept."""
    out: list[int | None] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        value = parse_budget(part, what)
        if value not in out:
            out.append(value)
    if not out:
        raise BudgetError("no thinking budgets given: e.g. 0,128,512,unlimited")
    return out


def budget_label(budget: int | None) -> str:
    """How a budget is shown and keyed everywhere: 'unlimited' or the number of tokens."""
    return UNLIMITED if budget is None else str(budget)


def slider_budget(value: float, maximum: int) -> int | None:
    """A budget slider's value: its last stop (`maximum`) means unlimited."""
    return None if int(value) >= maximum else int(value)
