"""What the Train tab shows of the runs on this machine: one run's progress line and the runs table.

Pure rendering from `TrainRunner.progress` and `TrainRunner.list_runs`; the tab's timer (playground/ui/train.py)
decides when to redraw.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from playground.ui.widgets import code_markup, escape_markup
from training.runner import TrainRunner


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m {seconds % 60:02d}s"
    )


def progress_html(p: dict[str, Any] | None) -> str:
    """A progress bar with step/total, ETA, tokens/s and memory for one run's `TrainRunner.progress`."""
    if not p:
        return "<p>No run yet. Launch one on the left; its progress appears here.</p>"
    step, total = p.get("step") or 0, p.get("total_steps") or 0
    mem = (
        f"GPU {p['gpu_mem_gb']:.1f} GB"
        if p.get("gpu_mem_gb")
        else (f"RAM {p['rss_gb']:.2f} GB" if p.get("rss_gb") else "–")
    )
    state = p.get("state") or "?"
    if state in ("running", "queued", "stopping") and p.get("phase") and not step:
        state += f" ({p['phase']})"
    if p.get("stopped"):
        state += " (stopped early)"
    parts = [
        f"<b>{escape_markup(p['name'])}</b> · {state}",
        f"step {step}/{total or '?'}",
        f"ETA {_duration(p.get('eta_s'))}" if p.get("state") in ("running", "stopping") else "",
        f"reward {p['reward']:.3f}" if p.get("reward") is not None else "",
        f"loss {p['loss']:.4f}" if p.get("loss") is not None and p.get("reward") is None else "",
        f"{p['tokens_per_s']:,.0f} tokens/s" if p.get("tokens_per_s") else "",
        mem,
    ]
    out = f"<progress value='{step}' max='{max(total, 1)}' style='width:100%'></progress>"
    out += "<p>" + " · ".join(x for x in parts if x) + "</p>"
    if p.get("examples"):
        dropped = f" ({p['dropped']} more dropped: longer than max sequence length)" if p.get("dropped") else ""
        out += f"<p>{p['examples']} training examples{dropped}</p>"
    if p.get("error"):
        out += f"<p style='color:#c00'><b>Error:</b> {escape_markup(p['error'])}</p>"
    if p.get("adapter_dir"):
        out += f"<p>Adapter: {code_markup(p['adapter_dir'])}</p>"
    return out


RUN_COLUMNS = {  # runner field: the runs table's header
    "name": "run",
    "state": "state",
    "base": "base model",
    "steps": "steps",
    "final_loss": "final loss",
    "tokens_per_s": "tokens/s",
    "minutes": "minutes",
    "adapter": "adapter or model",
    "error": "error",
}


def runs_frame(runner: TrainRunner) -> pd.DataFrame:
    """The runs on this machine, newest first, keyed by runner field (`RUN_COLUMNS` names them on screen)."""
    return pd.DataFrame(runner.list_runs(), columns=list(RUN_COLUMNS))
