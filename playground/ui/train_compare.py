"""The Train tab's before/after section: the base and the base + a run's adapter (or a fully fine-tuned run's
model) on the same held-out puzzles.

Layout and wiring only: `playground.evaluation.compare` runs both evaluations and counts the answers the adapter
changed. The defaults fit the run: the family and level it trained on, and unlimited thinking (a thought cut by the
budget leaves no answer, before or after, so the adapter's effect would not show).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from playground.evaluation.compare import CompareConfig, compare_adapter, default_config
from playground.generation.budgets import slider_budget
from playground.ui.state import AppState
from playground.ui.widgets import THINK_MAX, budget_slider, escape_markup
from training.grpo_compare import compare_model, is_full_model

CHANGE_COLUMNS = ["seed", "sample", "change", "before", "after"]


def build_compare_section(
    state: AppState,
    pick: gr.Dropdown,
    fam_names: list[tuple[str, str]],
    level_choices: list[int],
    model_families: Callable[[], list[str]],
) -> None:
    """The accordion under the runs table; `pick` is the adapter dropdown, `model_families` the loaded model's
    families (the default family on page load, before an adapter is picked)."""
    c0 = CompareConfig()
    with gr.Accordion("Before/after evaluation on held-out puzzles", open=False, elem_id="train-compare-box"):
        gr.Markdown(
            "The base and the base + adapter answer the same puzzles with the same sampling seed; the result counts "
            "the answers the adapter changed, puzzle by puzzle and sample by sample. Puzzle seeds start at 0; "
            "built-in training data uses seeds from 100000, so these puzzles are held out."
        )
        with gr.Row():
            family = gr.Dropdown(
                fam_names,
                value=lambda: (model_families() or [c0.family])[0],
                label="Puzzle family",
                elem_id="train-cmp-family",
            )
            level = gr.Dropdown(level_choices, value=c0.level, label="Level", elem_id="train-cmp-level")
            puzzles = gr.Number(c0.puzzles, precision=0, minimum=1, label="Puzzles", elem_id="train-cmp-puzzles")
            samples = gr.Number(c0.samples, precision=0, minimum=1, label="Samples per puzzle")
        budget = budget_slider(
            THINK_MAX,
            THINK_MAX if c0.think_budget is None else c0.think_budget,
            f"Thinking budget (tokens; {THINK_MAX} = unlimited, so no thought is cut before its answer)",
            elem_id="train-cmp-budget",
        )
        button = gr.Button("Evaluate before/after", elem_id="train-compare")
        msg = gr.Markdown(elem_id="train-compare-msg")
        table = gr.Dataframe(visible=False, interactive=False, elem_id="train-compare-table")
        changes = gr.Dataframe(
            visible=False,
            interactive=False,
            wrap=True,
            max_height=300,
            label="Answers the adapter changed",
            elem_id="train-compare-changes",
        )

    def on_pick(path: str | None):
        if not path:
            return gr.skip(), gr.skip()
        cfg = default_config(path)  # what the run trained on
        return cfg.family, cfg.level

    def on_compare(progress=gr.Progress(), **values: Any):
        path = values["adapter"]
        if not path:
            return "Pick a finished run's adapter first.", gr.skip(), gr.skip()

        def report(done: int, total: int, message: str) -> None:
            progress(done / max(total, 1), desc=message)

        try:
            cfg = default_config(
                path,
                family=values["family"],
                level=int(values["level"]),
                puzzles=int(values["puzzles"]),
                samples=int(values["samples"]),
                think_budget=slider_budget(values["think_budget"], THINK_MAX),
            )
            compare = compare_model if is_full_model(path) else compare_adapter  # GRPO fine-tunes a small model whole
            result = compare(state.engine, path, cfg, state.offline, report)
        except Exception as exc:  # any failure is shown to the user
            return f"**Could not evaluate:** {escape_markup(exc)}", gr.update(visible=False), gr.update(visible=False)
        changed = pd.DataFrame(result.changes(), columns=CHANGE_COLUMNS)
        return (
            result.summary(),
            gr.update(value=result.frame(), visible=True),
            gr.update(value=changed, visible=not changed.empty),
        )

    pick.change(on_pick, pick, [family, level])
    inputs = {
        "adapter": pick,
        "family": family,
        "level": level,
        "puzzles": puzzles,
        "samples": samples,
        "think_budget": budget,
    }
    button.click(on_compare, inputs_kwargs=inputs, outputs=[msg, table, changes])
