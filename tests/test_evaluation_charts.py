"""The Evaluate tab's figures (playground.ui.charts) built from plain records and sweeps, without a model."""

from __future__ import annotations

from playground.evaluation.stats import summarize_sweep
from playground.ui import charts


def _records(budget: int | None, thinking: list[int]) -> list[dict]:
    return [
        {"family": "maze", "level": 1, "seed": i, "budget": budget, "sample": 0, "correct": i % 2 == 0,
         "status": "correct" if i % 2 == 0 else "wrong", "extracted": str(i % 2), "thinking_tokens": t,
         "answer_tokens": 5}
        for i, t in enumerate(thinking)
    ]  # fmt: skip


def test_budget_curve_draws_the_token_axis_only_when_something_was_thought() -> None:
    no_thinking = charts.budget_curve(summarize_sweep(_records(0, [0, 0, 0]), [0]))
    assert "yaxis2" not in no_thinking.layout.to_plotly_json()  # no empty right axis
    assert all(t.type != "bar" for t in no_thinking.data)
    records = _records(0, [0, 0]) + _records(64, [40, 64])
    fig = charts.budget_curve(summarize_sweep(records, [0, 64]))
    assert fig.layout.yaxis2.title.text == "thinking tokens (grey bars)"
    assert [t.y for t in fig.data if t.type == "bar"] == [(0.0, 52.0)]


def test_token_histogram_of_equal_counts_is_one_visible_bar() -> None:
    fig = charts.token_histogram(_records(0, [0, 0, 0, 0]))
    lo, hi = fig.layout.xaxis.range
    assert lo < 0 < hi and hi - lo <= 12  # the bar sits in the middle of a narrow axis, not at its edge
    (trace,) = fig.data
    assert trace.xbins.start < 0 < trace.xbins.start + trace.xbins.size  # one bin around 0 holds every response
    assert "all 4: 0 tokens" in fig.layout.title.text


def test_token_histogram_bins_span_the_values() -> None:
    fig = charts.token_histogram(_records(256, [100, 160, 220]) + _records(None, [400, 700]))
    assert [t.name for t in fig.data] == ["budget 256", "budget unlimited"]
    bins = fig.data[0].xbins
    assert bins.start == 99.5 and bins.size == 21 and bins.end >= 700  # about 30 whole-token bins from 100 to 700
    assert fig.layout.xaxis.range is None  # autoranged over the values
