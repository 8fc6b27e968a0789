"""Share links: what a visitor sees on a tab, written as a URL query, and read back when a link is opened.

A link names a tab and that tab's settings, e.g. `?tab=puzzles&family=maze&level=2&seed=7&a_budget=0&b_budget=unlimited`
opens the Puzzles tab on maze level 2, puzzle seed 7, panel A without thinking and panel B unlimited, so a teacher
sends one link and the class sees the same race. `link_query` writes a tab's query from its widget values (the
handler's named values); `read_link` turns a query into widget values and names what it had to leave out, so a
mistyped link still opens with everything else in place. Budgets are written as tokens or "unlimited", never as
slider positions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from playground.generation.budgets import (
    BUDGET_MODES,
    BudgetError,
    budget_label,
    parse_budget,
    parse_budgets,
    slider_budget,
)
from playground.puzzles import families
from playground.ui.widgets import ANSWER_MAX, SEED_MAX, THINK_MAX

TABS = ("chat", "puzzles", "evaluate", "train")
SHOWN = 40  # characters of a left-out value repeated in the note


def _budget_reader(maximum: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        budget = parse_budget(text)
        if budget is not None and budget >= maximum:
            raise ValueError(f"at most {maximum - 1} tokens, or unlimited")
        return maximum if budget is None else budget

    return read


def _budget_writer(maximum: int) -> Callable[[Any], str]:
    return lambda value: budget_label(slider_budget(value, maximum))


def _number(low: float, high: float, whole: bool = True) -> Callable[[str], float | int]:
    def read(text: str) -> float | int:
        value = float(text)
        if not low <= value <= high or (whole and value != int(value)):
            kind = "a whole number" if whole else "a number"
            raise ValueError(f"{kind} from {low:g} to {high:g}")
        return int(value) if whole else value

    return read


def _mode(text: str) -> str:
    if text not in BUDGET_MODES:
        raise ValueError(f"one of {', '.join(BUDGET_MODES)}")
    return text


def _family(text: str) -> str:
    if text not in families():
        raise ValueError(f"one of {', '.join(families())}")
    return text


def _levels(text: str) -> list[int]:
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels:
        raise ValueError("levels such as 1,2")
    return levels


def _seed(text: str) -> int:
    return _number(-1, SEED_MAX)(text)


def _number_text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number == int(number) else f"{number:g}"


def _budgets_text(labels: list[str]) -> str:
    return ",".join(budget_label(b) for b in parse_budgets(",".join(labels)))


def split_budgets(labels: list[str], offered: list[str]) -> tuple[list[str], str]:
    """A link's evaluation budgets → the ticked choices among `offered` and the rest as typed text."""
    return [b for b in labels if b in offered], ",".join(b for b in labels if b not in offered)


@dataclass(frozen=True)
class Param:
    """One setting in a link: its key in the URL, the tab's widget it sets, and how its value reads and writes."""

    key: str
    widget: str
    read: Callable[[str], Any]
    write: Callable[[Any], str] = _number_text


_THINK = dict(read=_budget_reader(THINK_MAX), write=_budget_writer(THINK_MAX))
_ANSWER = dict(read=_budget_reader(ANSWER_MAX), write=_budget_writer(ANSWER_MAX))
_TEMPERATURE = dict(read=_number(0, 2, whole=False))


def _panel(side: str) -> list[Param]:
    return [
        Param(f"{side}_budget", f"{side}_think_budget", **_THINK),
        Param(f"{side}_mode", f"{side}_budget_mode", _mode, str),
        Param(f"{side}_answer", f"{side}_answer_budget", **_ANSWER),
        Param(f"{side}_min_think", f"{side}_min_think", **_THINK),
        Param(f"{side}_temperature", f"{side}_temperature", **_TEMPERATURE),
        Param(f"{side}_seed", f"{side}_seed", _seed),
    ]


PARAMS: dict[str, list[Param]] = {
    "chat": [
        Param("budget", "think_budget", **_THINK),
        Param("mode", "budget_mode", _mode, str),
        Param("min_think", "min_think", **_THINK),
        Param("answer", "answer_budget", **_ANSWER),
        Param("temperature", "temperature", **_TEMPERATURE),
        Param("seed", "seed", _seed),
    ],
    "puzzles": [
        Param("family", "family", _family, str),
        Param("level", "level", _number(1, 99)),
        Param("seed", "seed", _seed),
        *_panel("a"),
        *_panel("b"),
    ],
    "evaluate": [
        Param("family", "family", _family, str),
        Param("levels", "levels", _levels, lambda levels: ",".join(str(int(v)) for v in levels)),
        Param("puzzles", "puzzles", _number(1, 10_000)),
        Param("samples", "samples", _number(1, 1_000)),
        Param("budgets", "budgets", lambda text: [budget_label(b) for b in parse_budgets(text)], _budgets_text),
        Param("temperature", "temperature", **_TEMPERATURE),
        Param("seed", "seed", _number(0, SEED_MAX)),
        Param("mode", "budget_mode", _mode, str),
        Param("answer", "answer_budget", **_ANSWER),
        Param("first_seed", "first_seed", _number(0, SEED_MAX)),
    ],
    "train": [],
}


@dataclass
class SharedView:
    """What a link asks for: the tab to open, widget values per tab, and the settings left out (with why)."""

    tab: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        """One line for the visitor, or "" when the whole link was used."""
        return "Left out of this link: " + "; ".join(self.ignored) + "." if self.ignored else ""


def read_link(params: Mapping[str, str], defaults: Mapping[str, Mapping[str, Any]] | None = None) -> SharedView:
    """Read a link's query (e.g. Gradio's `request.query_params`): the settings of the tab it names, as widget
    values. Unknown keys and unreadable values are left out and named; a level must exist in the link's family, or
    in the tab's own family (`defaults[tab]["family"]`) when the link names none."""
    view = SharedView()
    tab = str(params.get("tab", "")).strip().lower()
    if not tab:
        return view
    if tab not in TABS:
        view.ignored.append(f"tab={_shown(tab)} (one of {', '.join(TABS)})")
        return view
    view.tab = tab
    known = {p.key: p for p in PARAMS[tab]}
    values: dict[str, Any] = {}
    for key, raw in params.items():
        if key == "tab" or key.startswith("__"):  # Gradio's own, e.g. __theme=dark
            continue
        param = known.get(key)
        if param is None:
            view.ignored.append(f"{_shown(key)} (not a setting of the {tab.title()} tab)")
            continue
        try:
            values[param.widget] = param.read(str(raw).strip())
        except (ValueError, BudgetError, OverflowError) as err:
            view.ignored.append(f"{key}={_shown(raw)} ({_reason(err, str(raw).strip())})")
    _check_levels(values, view.ignored, params, (defaults or {}).get(tab, {}).get("family"))
    view.values[tab] = values
    return view


def _reason(err: Exception, raw: str) -> str:
    text = str(err).replace(raw, _shown(raw)) if raw else str(err)  # a message may repeat the value
    return text if text and not text.startswith(("could not convert", "invalid literal")) else "not a number"


def _shown(text: object) -> str:
    """A value from the link as the note repeats it: at most SHOWN characters."""
    text = str(text)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _check_levels(values: dict[str, Any], ignored: list[str], params: Mapping[str, str], default: str | None) -> None:
    family = families().get(values.get("family", default or ""))
    if family is None:
        return
    if "level" in values and values["level"] not in family.levels:
        del values["level"]
        ignored.append(f"level={_shown(params['level'])} ({family.short_title} has levels {_span(family.levels)})")
    if "levels" in values:
        wrong = [v for v in values["levels"] if v not in family.levels]
        values["levels"] = [v for v in values["levels"] if v in family.levels]
        if wrong:
            listed = _shown(",".join(map(str, wrong)))
            ignored.append(f"levels {listed} ({family.short_title} has levels {_span(family.levels)})")
        if not values["levels"]:
            del values["levels"]


def _span(levels: Mapping[int, str]) -> str:
    return f"{min(levels)}–{max(levels)}"


def link_query(tab: str, values: Mapping[str, Any]) -> str:
    """The query string ("?tab=…&…") that reopens `tab` with these widget values; values it cannot write are left
    out (e.g. an empty seed box)."""
    pairs = [("tab", tab)]
    if values.get("extra_budgets"):  # the Evaluate tab's budgets typed by hand join the ticked ones
        values = {**values, "budgets": [*(values.get("budgets") or []), values["extra_budgets"]]}
    for param in PARAMS[tab]:
        if param.widget not in values or values[param.widget] in (None, ""):
            continue
        try:
            pairs.append((param.key, param.write(values[param.widget])))
        except (TypeError, ValueError):
            continue
    return "?" + urlencode(pairs, safe=",")
