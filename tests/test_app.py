"""The app assembles: all four tabs are built around one AppState (a tab that fails to import or build fails here),
and the named API endpoints take their inputs by name."""

from __future__ import annotations

import gradio as gr
import pytest

from app import build_app
from playground.ui.state import AppState

ENDPOINTS = {
    "/chat": ["message", "history", "system_prompt", "temperature", "top_p", "top_k", "seed", "think_budget"],
    "/load_model": ["model", "quant"],
    "/race": ["family", "level", "puzzle_seed", "a_model", "a_adapter", "a_think_budget", "b_model", "b_seed"],
    "/evaluate": ["family", "levels", "puzzles", "samples", "budgets", "temperature", "seed", "budget_mode"],
}


def _tabs(demo: gr.Blocks) -> list[str]:
    return [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]


def test_app_builds_all_four_tabs_with_named_endpoints(engine, tmp_path):
    demo = build_app(AppState(engine=engine, runs_dir=tmp_path))
    assert _tabs(demo) == ["Chat", "Puzzles", "Evaluate", "Train"]
    api = demo.get_api_info()["named_endpoints"]
    assert {"/chat", "/stop", "/load_model", "/race", "/stop_race", "/evaluate", "/stop_evaluate"} <= set(api)
    for endpoint, names in ENDPOINTS.items():
        params = [p["parameter_name"] for p in api[endpoint]["parameters"]]
        assert set(names) <= set(params), (endpoint, params)


def test_demo_mode_keeps_the_train_tab_without_training(engine, tmp_path):
    demo = build_app(AppState(engine=engine, demo_mode=True, runs_dir=tmp_path))
    assert _tabs(demo) == ["Chat", "Puzzles", "Evaluate", "Train"]
    texts = [b.value for b in demo.blocks.values() if isinstance(b, gr.Markdown)]
    assert any("Training is disabled" in (t or "") for t in texts)
    assert not any(isinstance(b, gr.Timer) for b in demo.blocks.values())  # nothing polls for runs


def test_widget_values_read_as_budgets_and_seeds():
    from playground.ui.widgets import ANSWER_MAX, THINK_MAX, read_budgets, read_seed

    assert read_budgets({"think_budget": THINK_MAX, "answer_budget": ANSWER_MAX}) == {
        "think_budget": None,
        "answer_budget": None,
    }
    clamped = read_budgets({"think_budget": 64, "answer_budget": 32, "min_think": 512})
    assert clamped == {"think_budget": 64, "answer_budget": 32, "min_think": 64}
    assert read_budgets({"think_budget": THINK_MAX, "answer_budget": 0, "min_think": 512})["min_think"] == 512
    assert read_seed(-1) is None and read_seed(None) is None and read_seed(7.0) == 7
    for bad in (-5, 2.5, 2**31):
        with pytest.raises(ValueError, match="whole number"):
            read_seed(bad)
