"""Plotly figures: accuracy vs thinking budget, accuracy vs number of samples, token histograms, training loss.

Inputs are the plain dicts of `playground.evaluation` (a sweep from `summarize_sweep`, records from results.jsonl),
so the figures can be rebuilt from a saved run's summary.json without a model. Rates are drawn in percent. The
loss curve takes a training run's metrics rows (`TrainRunner.progress`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.generation.budgets import budget_label

COLORS = {"pass1": "#2563eb", "majority": "#16a34a", "best": "#9333ea", "worst": "#dc2626", "tokens": "#9ca3af"}
LAYOUT = {
    "height": 380,
    "margin": {"l": 50, "r": 50, "t": 50, "b": 40},
    "legend": {"orientation": "h", "y": -0.22, "yanchor": "top"},
}


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def empty_figure(message: str) -> go.Figure:
    """A blank figure carrying a short message (before the first run)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14})
    fig.update_layout(height=LAYOUT["height"], xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def budget_curve(sweep: dict[str, dict[str, Any]], title: str = "Accuracy vs thinking budget") -> go.Figure:
    """Average pass@1 with a ± std band, majority vote, best-of-N and worst-of-N per budget; mean thinking tokens as
    grey bars on a right axis (how much of each budget was used), drawn only when some response thought at all."""
    if not sweep:
        return empty_figure("No results yet")
    x = list(sweep)  # budget labels: "0", "128", ..., "unlimited"
    entries = list(sweep.values())
    mean = [_pct(e["pass1"]["mean"]) for e in entries]
    std = [_pct(e["pass1"]["std"]) or 0.0 for e in entries]
    thinking = [e["tokens"]["thinking"]["mean"] for e in entries]
    tokens_axis = any(t and t > 0 for t in thinking)
    fig = make_subplots(specs=[[{"secondary_y": tokens_axis}]])
    if tokens_axis:
        fig.add_bar(
            x=x,
            y=thinking,
            name="thinking tokens (mean, right axis)",
            marker_color=COLORS["tokens"],
            opacity=0.35,
            secondary_y=True,
        )
    upper = [min(100.0, m + s) if m is not None else None for m, s in zip(mean, std)]
    lower = [max(0.0, m - s) if m is not None else None for m, s in zip(mean, std)]
    fig.add_scatter(x=x, y=upper, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
    fig.add_scatter(
        x=x,
        y=lower,
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(37,99,235,0.18)",
        name="pass@1 ± std",
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=x,
        y=mean,
        mode="lines+markers",
        name="average pass@1",
        line={"color": COLORS["pass1"], "width": 3},
        error_y={"type": "data", "array": std, "visible": False},
        hovertemplate="pass@1 %{y:.1f}% ± %{error_y.array:.1f}<extra></extra>",
    )
    for key, name, color, dash in (
        ("majority", "majority vote", COLORS["majority"], "dash"),
        ("best_of_n", "best-of-N", COLORS["best"], "dot"),
        ("worst_of_n", "worst-of-N", COLORS["worst"], "dot"),
    ):
        fig.add_scatter(
            x=x,
            y=[_pct(e[key]) for e in entries],
            mode="lines+markers",
            name=name,
            line={"color": color, "dash": dash},
            hovertemplate=f"{name} %{{y:.1f}}%<extra></extra>",
        )
    fig.update_layout(title=title, **LAYOUT)
    fig.update_xaxes(title_text="thinking budget (tokens)", type="category")
    fig.update_yaxes(title_text="accuracy (%)", range=[-2, 102], secondary_y=False)
    if tokens_axis:
        fig.update_yaxes(title_text="thinking tokens (grey bars)", secondary_y=True, showgrid=False, rangemode="tozero")
    return fig


def samples_curve(
    vs_n: dict[str, Sequence[float]], pass1: float | None = None, title: str = "Accuracy vs number of samples N"
) -> go.Figure:
    """Majority vote, best-of-n and worst-of-n over the first n samples, with average pass@1 as a reference line."""
    if not vs_n or not vs_n.get("n"):
        return empty_figure("No results yet")
    fig = go.Figure()
    for key, name, color, dash in (
        ("majority", "majority vote", COLORS["majority"], "dash"),
        ("best_of_n", "best-of-n", COLORS["best"], "solid"),
        ("worst_of_n", "worst-of-n", COLORS["worst"], "solid"),
    ):
        fig.add_scatter(
            x=list(vs_n["n"]),
            y=[_pct(v) for v in vs_n[key]],
            mode="lines+markers",
            name=name,
            line={"color": color, "dash": dash},
        )
    if pass1 is not None:
        fig.add_hline(
            y=100 * pass1,
            line={"color": COLORS["pass1"], "dash": "dot"},
            annotation_text="average pass@1",
            annotation_position="top left",  # at the right end it is cut by the plot edge
        )
    fig.update_layout(title=title, **LAYOUT)
    fig.update_xaxes(title_text="samples per puzzle (n)", dtick=1)
    fig.update_yaxes(title_text="accuracy (%)", range=[-2, 102])
    return fig


def token_histogram(records: Sequence[dict[str, Any]], kind: str = "thinking", title: str | None = None) -> go.Figure:
    """Histogram of tokens per response (`kind`: thinking, answer or total), one overlaid colour per budget. Bins are
    whole tokens wide or more, about 30 across the values' range; when every response has the same count, that is
    one bar in the middle of a narrow axis, and the title says so."""
    if not records:
        return empty_figure("No results yet")
    fig = go.Figure()
    label = lambda r: budget_label(r["budget"])
    count = lambda r: r["thinking_tokens"] + r["answer_tokens"] if kind == "total" else r[f"{kind}_tokens"]
    low, top = min(count(r) for r in records), max(count(r) for r in records)
    size = max(1, math.ceil((top - low + 1) / 30))
    bins = {"start": low - 0.5, "end": top + size, "size": size}
    for name in dict.fromkeys(label(r) for r in records):
        values = [count(r) for r in records if label(r) == name]
        fig.add_histogram(x=values, name=f"budget {name}", opacity=0.6, xbins=bins)
    title = title or f"{kind.capitalize()} tokens per response"
    if low == top:
        title += f" (all {len(records)}: {low:,} tokens)"
        fig.update_xaxes(range=[low - 5.5, low + 5.5], dtick=1)
    fig.update_layout(title=title, barmode="overlay", **LAYOUT)
    fig.update_xaxes(title_text=f"{kind} tokens")
    fig.update_yaxes(title_text="responses")
    return fig


def loss_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Training loss per step (thin line) with a moving average (thick)."""
    steps = [r["step"] for r in rows]
    loss = pd.Series([r["loss"] for r in rows], dtype=float)
    fig = go.Figure()
    fig.add_scatter(x=steps, y=loss, mode="lines", name="loss", line={"width": 1}, opacity=0.5)
    fig.add_scatter(
        x=steps, y=loss.rolling(10, min_periods=1).mean(), mode="lines", name="mean of 10", line={"width": 3}
    )
    fig.update_layout(
        height=300,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        xaxis_title="step",
        yaxis_title="loss",
        title="Training loss",
        legend={"orientation": "h", "y": 1.1},
    )
    return fig
