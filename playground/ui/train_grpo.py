"""The Train tab's GRPO parts: the settings group shown for `method: grpo`, its live curves and sample completions.

Layout only: the run is `python -m training.grpo` (training/grpo.py) launched by the same `TrainRunner`; these
widgets are keyed by `SFTConfig` field, so the tab's one form-to-config mapping covers them. The curves are drawn
from the run's metrics.jsonl rows and the samples read from its samples.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from training.sft_config import FINETUNE, LOSS_TYPES, ROLLOUTS, SFTConfig

METHODS = [("SFT: supervised, on verified traces", "sft"), ("GRPO: RL on the verifier's verdict", "grpo")]
TERMS = ("correct", "format", "length", "repetition")
# the fields whose default depends on the method (the GRPO group's own fields are filled by `grpo_widgets`)
METHOD_FIELDS = (
    "puzzle_families",
    "num_examples",
    "learning_rate",
    "max_steps",
    "batch_size",
    "num_generations",
    "max_completion_length",
    "finetune",
    "max_minutes",
)
SAMPLE_COLUMNS = ["step", "puzzle", "reward", "correct", "format", "length", "repetition", "completion"]
# "Train on these failures" (Evaluate tab): opens the Train tab with GRPO on evaluation failures; the failures
# dropdown then lists evaluation results newest first, so the evaluation just run is picked.
TRAIN_ON_FAILURES_JS = """() => {
  const tab = [...document.querySelectorAll('button[role=tab]')].find(b => b.textContent.trim() === 'Train');
  if (!tab) return;
  tab.click();
  const pick = (id, text) => {
    const label = [...document.querySelectorAll('#' + id + ' label')].find(l => l.textContent.includes(text));
    if (label) (label.querySelector('input') || label).click();
  };
  setTimeout(() => { pick('train-method', 'GRPO'); pick('train-source', 'evaluation failures'); }, 400);
}"""
GRPO_HINT = (
    "GRPO samples a **group** of completions per puzzle, scores each with the puzzle's verifier (and the terms "
    "you weigh below), and pushes the model towards the completions that beat their group's mean. A group whose "
    "samples all score the same teaches nothing (the *zero-variance* curve): pick puzzles the model solves only "
    "sometimes. The tiny model is fully fine-tuned; hub models get LoRA (QLoRA with 4-bit)."
)


def grpo_widgets(defaults: Any) -> tuple[gr.Group, dict[str, Any]]:
    """The GRPO settings group (hidden until GRPO is picked) and its inputs keyed by config field, followed by the
    fine-tuning mode and time limit that both methods use. `defaults()` returns the GRPO defaults for the loaded
    model (evaluated on page load)."""
    help_ = {k: f.metadata["help"].removeprefix("GRPO: ") for k, f in SFTConfig.__dataclass_fields__.items()}

    def num(key: str, label: str, **kw: Any) -> gr.Number:
        return gr.Number(
            lambda: getattr(defaults(), key),
            label=label,
            info=help_[key],
            elem_id="train-" + key.replace("_", "-"),
            **kw,
        )

    w: dict[str, Any] = {}
    with gr.Group(visible=False, elem_id="train-grpo") as box:
        gr.Markdown(GRPO_HINT)
        with gr.Row():
            w["num_generations"] = num("num_generations", "Samples per prompt (group size)", precision=0, minimum=1)
            w["max_completion_length"] = num("max_completion_length", "Max completion tokens", precision=0)
            w["temperature"] = num("temperature", "Temperature", minimum=0)
        with gr.Row():
            w["beta"] = num("beta", "KL β", minimum=0)
            w["loss_type"] = gr.Dropdown(list(LOSS_TYPES), value="dapo", label="Loss type", info=help_["loss_type"])
            w["rollout"] = gr.Dropdown(list(ROLLOUTS), value="trl", label="Rollouts", info=help_["rollout"])
        gr.Markdown("**Reward terms** (weight 0 = off; every term is logged either way)")
        with gr.Row():
            w["reward_correct"] = num("reward_correct", "Verifier: correct")
            w["reward_format"] = num("reward_format", "Format")
            w["reward_length"] = num("reward_length", "Length-aware")
            w["reward_repetition"] = num("reward_repetition", "Repetition")
    with gr.Row():  # both methods: an SFT run fully fine-tunes a small model with `full`, e.g. before GRPO
        w["finetune"] = gr.Dropdown(
            list(FINETUNE), value="auto", label="Fine-tuning", info=help_["finetune"], elem_id="train-finetune"
        )
        w["max_minutes"] = num("max_minutes", "Time limit (minutes)", minimum=0)
    return box, w


def grpo_outputs() -> dict[str, Any]:
    """The live GRPO views under the loss curve (hidden for SFT runs)."""
    with gr.Group(visible=False, elem_id="train-grpo-live") as box:
        rewards = gr.Plot(label="Reward", elem_id="train-reward")
        signal = gr.Plot(label="Learning signal", elem_id="train-signal")
        samples = gr.Dataframe(
            headers=SAMPLE_COLUMNS,
            interactive=False,
            wrap=True,
            max_height=320,
            label="Sample completions",
            elem_id="train-samples",
        )
    return {"box": box, "rewards": rewards, "signal": signal, "samples": samples}


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(
        height=300,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        xaxis_title="step",
        title=title,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def reward_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Mean reward per step with a ± std band, and each reward term's mean."""
    steps = [r["step"] for r in rows]
    mean = pd.Series([r.get("reward") for r in rows], dtype=float)
    std = pd.Series([r.get("reward_std") for r in rows], dtype=float).fillna(0.0)
    fig = go.Figure()
    fig.add_scatter(
        x=steps + steps[::-1],
        y=list(mean + std) + list(mean - std)[::-1],
        fill="toself",
        line={"width": 0},
        opacity=0.15,
        name="± std",
        hoverinfo="skip",
    )
    fig.add_scatter(x=steps, y=mean, mode="lines", name="reward (mean)", line={"width": 1}, opacity=0.6)
    fig.add_scatter(
        x=steps, y=mean.rolling(10, min_periods=1).mean(), mode="lines", name="reward, mean of 10", line={"width": 3}
    )
    for term in TERMS:
        values = [r.get(term) for r in rows]
        if any(v is not None for v in values):
            fig.add_scatter(x=steps, y=values, mode="lines", name=term, line={"width": 1, "dash": "dot"})
    return _layout(fig, "Reward")


def signal_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Zero-variance group fraction, clipped ratio and entropy (left), mean completion length (right)."""
    steps = [r["step"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    names = {
        "frac_reward_zero_std": "groups with zero variance",
        "clipped_ratio": "clipped (hit max length)",
        "entropy": "entropy",
    }
    for key, name in names.items():
        fig.add_scatter(x=steps, y=[r.get(key) for r in rows], mode="lines", name=name)
    fig.add_scatter(
        x=steps,
        y=[r.get("completion_length") for r in rows],
        mode="lines",
        name="completion length",
        line={"dash": "dot"},
        secondary_y=True,
    )
    fig.update_yaxes(title_text="tokens", secondary_y=True)
    return _layout(fig, "Learning signal")


def samples_frame(run_dir: Path, n: int = 8) -> pd.DataFrame:
    """The newest `n` sample completions of a run with their reward and terms."""
    try:
        lines = (run_dir / "samples.jsonl").read_text().splitlines()[-n:]
    except OSError:
        lines = []
    rows = []
    for line in reversed(lines):
        try:
            s = json.loads(line)
        except ValueError:
            continue
        rows.append(
            {
                "step": s.get("step"),
                "puzzle": s.get("puzzle"),
                "reward": s.get("reward"),
                **s.get("terms", {}),
                "completion": s.get("completion"),
            }
        )
    return pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
