"""What the Puzzles and Evaluate tabs show of a puzzle, apart from their layout: the family picker's entries (marking
families the loaded model was not trained on), the puzzle the family, level and seed widgets name, its prompt block,
drawing and reference text, and a panel's settings read into a PanelConfig."""

from __future__ import annotations

import html
import random
import textwrap
from typing import Any

from playground.evaluation.race import PanelConfig
from playground.generation.backend import ModelInfo
from playground.puzzles import Instance, PuzzleConfigError, families, generate
from playground.ui.drawings import draw
from playground.ui.widgets import read_budgets, read_seed

RANDOM_SEEDS = 100_000  # "Random seed" and a race on seed -1 draw a puzzle seed below this
PLOT_LAYOUT = dict(height=380, margin=dict(l=10, r=10, b=10), title_font_size=13)
TITLE_WIDTH = 46  # characters per title line: a title fits a panel on a 420 px phone screen


def family_choices(info: ModelInfo | None) -> list[tuple[str, str]]:
    """(label, family) for a family picker; a family the loaded model was not trained on says so."""
    return [
        (fam.title if info is None or info.knows(name) else f"{fam.title} — not trained on by {info.name}", name)
        for name, fam in families().items()
    ]


def known_family(info: ModelInfo | None, preferred: str) -> str:
    """`preferred` if the loaded model knows it, else the first family it knows (else `preferred`)."""
    known = [name for name in families() if info is None or info.knows(name)]
    return preferred if preferred in known or not known else known[0]


def level_choices(family: str) -> list[tuple[str, int]]:
    return [(f"{lv} · {text}", lv) for lv, text in families()[family].levels.items()]


def make_instance(values: dict[str, Any]) -> Instance:
    """The puzzle the `family`, `level` and `puzzle_seed` values name (seed -1: a random one)."""
    seed = read_seed(values["puzzle_seed"], "puzzle seed")
    if values["family"] not in families():
        raise PuzzleConfigError(f"Unknown puzzle family {values['family']!r}.")
    seed = random.randrange(RANDOM_SEEDS) if seed is None else seed
    return generate(values["family"], int(values["level"] or 1), seed)


def figure(instance: Instance, answer: str | None = None, solution: bool = False):
    """The drawing sized for the tab: the puzzle alone, or with its solution, or with a panel's answer."""
    fig = draw(instance, answer, solution)
    head, *rest = (fig.layout.title.text or "").split("<br>", 1)  # plotly never wraps a title: wrap it here
    lines = textwrap.wrap(head, TITLE_WIDTH) + rest
    title = "<br>".join(lines)
    fig.update_layout(**PLOT_LAYOUT, title_text=title, margin_t=24 + 18 * (title.count("<br>") + 1))
    return fig


def prompt_html(instance: Instance) -> str:
    """The puzzle's heading and prompt text."""
    return (
        f"<div style='font-weight:600;margin-bottom:6px'>{html.escape(families()[instance.family].title)} · level "
        f"{instance.level} · seed {instance.seed}</div><pre style='white-space:pre-wrap;margin:0;padding:10px 12px;"
        f"border-radius:8px;background:#f6f7f9;font-size:13px;line-height:1.35;color:#111827'>"
        f"{html.escape(instance.prompt)}</pre>"
    )


def reference_markdown(instance: Instance) -> str:
    """The reference answer and the solver's trace."""
    trace = families()[instance.family].trace(instance)
    return f"**Reference answer**\n\n```text\n{instance.reference}\n```\n\n**Solver trace**\n\n```text\n{trace}\n```"


def panel_config(name: str, values: dict[str, Any]) -> PanelConfig:
    """One panel's widget values (keyed by PanelConfig field) → PanelConfig; ValueError naming the panel."""
    config = PanelConfig(
        model=(values["model"] or "").strip(),
        adapter=(values["adapter"] or "").strip() or None,
        budget_mode=values["budget_mode"],
        temperature=float(values["temperature"]),
        seed=read_seed(values["seed"], f"sampling seed of panel {name}"),
        **read_budgets(values),
    )
    config.validate(name)
    return config
