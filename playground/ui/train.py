"""The Train tab: pick a base, a method (SFT or GRPO), data and hyperparameters, launch a run, watch it, use it.

Layout and wiring only: runs are launched, polled, stopped and listed by `training.runner.TrainRunner`, and
the training itself happens in a `python -m training.sft` (or `training.grpo`) subprocess; the GRPO settings and
live views are in `playground.ui.train_grpo`, the progress line and runs table in `playground.ui.train_progress`.
A `gr.Timer` polls the run's files every two seconds, so a reloaded page re-attaches to whatever is training on
this machine; a page with nothing new to show stops polling until its Train tab is selected again or it launches a run.
"""

from __future__ import annotations

import json
import time
from typing import Any

import gradio as gr

from playground.generation.backend import ModelInfo
from playground.models.adapters import adapter_label
from playground.puzzles import families
from playground.ui.charts import loss_figure
from playground.ui.state import AppState, OnShow
from playground.ui.train_compare import build_compare_section
from playground.ui.train_grpo import (
    METHOD_FIELDS,
    METHODS,
    grpo_outputs,
    grpo_widgets,
    reward_figure,
    samples_frame,
    signal_figure,
)
from playground.ui.train_progress import RUN_COLUMNS, progress_html, runs_frame
from playground.ui.widgets import code_markup, escape_markup
from training.data import find_eval_results
from training.grpo_compare import is_full_model
from training.preflight import check_data, estimate_memory
from training.runner import RunnerError, TrainRunner
from training.sft_config import SFTConfig, config_from_dict, model_defaults

POLL_S = 2.0
SOURCES = [
    ("Verified puzzle traces", "puzzles"),
    ("Upload JSONL", "jsonl"),
    ("From evaluation failures", "failures"),
]
DEMO_TEXT = """### Training is disabled in this demo
This shared demo has no GPU of its own to spare. Run the playground on your machine
(`python app.py`) to fine-tune a model with LoRA/QLoRA on verified puzzle traces or your own JSONL:
`python -m training.sft runs/<name>/config.yaml` does the same from a terminal."""
# Keeps the log tail's newest line in view as lines arrive, unless the reader scrolled up to read older ones.
FOLLOW_LOG_JS = """() => {
  const t = document.querySelector('#train-log textarea');
  if (!t) return;
  if (t.dataset.follow === undefined) {
    t.dataset.follow = '1';
    t.addEventListener('scroll', () => {
      t.dataset.follow = t.scrollHeight - t.scrollTop - t.clientHeight < 8 ? '1' : '0';
    });
  }
  if (t.dataset.follow === '1') setTimeout(() => { t.scrollTop = t.scrollHeight; }, 50);
}"""
HINT = (
    "Runs train in a separate process (`python -m training.sft` or `training.grpo`); one at a time per machine. "
    "**Stop** finishes the current step and saves the adapter (or model); **Kill** ends it at once without saving."
)


def _new_name() -> str:
    """A fresh default run name (the form computes one on every page load and after every launch)."""
    return time.strftime("sft-%m%d-%H%M%S")


def defaults_for(state: AppState, method: str = "sft") -> SFTConfig:
    """The form's defaults for the model the app serves now: its own puzzle families, hyperparameters that fit."""
    info = state.engine.describe()
    return model_defaults(info.families if info else None, info.params if info else 0, method)


def _puzzle_choices() -> tuple[list[tuple[str, str]], list[int]]:
    """(title, name) of every puzzle family, and every level any family has."""
    fams = families()
    return [(f.title, n) for n, f in fams.items()], sorted({lv for fam in fams.values() for lv in fam.levels})


def config_from_widgets(values: dict[str, Any]) -> SFTConfig:
    """An SFTConfig from the form's values keyed by config field, plus "upload"/"failures" (the data file of each
    source); `config_from_dict` converts and checks them. An empty run name gets a fresh one."""
    v = dict(values)
    targets = str(v.pop("target_modules") or "auto").strip()
    v["target_modules"] = (
        targets if targets in ("auto", "all-linear") else [t.strip() for t in targets.split(",") if t.strip()]
    )
    upload, failures = v.pop("upload", None), v.pop("failures", None)
    v["data_path"] = {"jsonl": upload or "", "failures": failures or ""}.get(v["data_source"], "")
    v["puzzle_levels"] = v.get("puzzle_levels") or [1]
    v["name"] = (v.get("name") or "").strip() or _new_name()
    v["base_model"] = (v.get("base_model") or "").strip()
    return config_from_dict(v)


def _hyperparameter_widgets(d: SFTConfig, state: AppState) -> dict[str, Any]:
    """Hyperparameter inputs keyed by SFTConfig field, with the field's help as the info line. Their values are
    computed on page load from the loaded model's defaults (`defaults_for`)."""
    help_ = {k: f.metadata["help"] for k, f in SFTConfig.__dataclass_fields__.items()}

    def num(key: str, label: str, **kw: Any) -> gr.Number:
        return gr.Number(
            lambda: getattr(defaults_for(state), key),
            label=label,
            info=help_[key],
            elem_id="train-" + key.replace("_", "-"),
            **kw,
        )

    w: dict[str, Any] = {}
    with gr.Row():
        w["lora_r"] = num("lora_r", "LoRA rank", precision=0, minimum=1)
        w["lora_alpha"] = num("lora_alpha", "LoRA alpha", precision=0, minimum=1)
        w["lora_dropout"] = num("lora_dropout", "LoRA dropout", minimum=0, maximum=0.9)
    with gr.Row():
        w["learning_rate"] = num("learning_rate", "Learning rate")
        w["num_epochs"] = num("num_epochs", "Epochs", minimum=0.01)
        w["max_steps"] = num("max_steps", "Max steps", precision=0)
    with gr.Row():
        w["batch_size"] = num("batch_size", "Batch size", precision=0, minimum=1)
        w["grad_accum"] = num("grad_accum", "Gradient accumulation", precision=0, minimum=1)
        w["max_seq_len"] = num("max_seq_len", "Max sequence length", precision=0, minimum=16)
    with gr.Row():
        w["seed"] = num("seed", "Seed", precision=0)
        w["load_in_4bit"] = gr.Checkbox(d.load_in_4bit, label="4-bit base (QLoRA)", info=help_["load_in_4bit"])
        w["gradient_checkpointing"] = gr.Checkbox(
            d.gradient_checkpointing, label="Gradient checkpointing", info=help_["gradient_checkpointing"]
        )
    w["target_modules"] = gr.Textbox(d.target_modules, label="Target modules", info=help_["target_modules"])
    return w


def adapter_loaded_message(info: ModelInfo) -> str:
    """What "Use this adapter" tells the user once the backend serves `info` (a base with an adapter applied)."""
    return (
        f"Loaded the adapter **{escape_markup(adapter_label(info.adapter))}** on {code_markup(info.base_name)}: the "
        f"Chat and Puzzles tabs now use {code_markup(info.name)}. To compare, race panel A = "
        f"{code_markup(info.base_name)} against panel B = `current` in the Puzzles tab."
    )


def build_train_tab(state: AppState) -> OnShow | None:
    """Lay out the Train tab inside the caller's `gr.Tab` and wire its events to a `TrainRunner`."""
    if state.demo_mode:
        gr.Markdown(DEMO_TEXT, elem_id="train-disabled")
        return
    runner = TrainRunner(state.runs_dir)
    fam_names, level_choices = _puzzle_choices()
    d = SFTConfig()
    # values computed on each page load: a fresh run name, and defaults for the model loaded at that moment
    fresh = {
        "families": lambda: defaults_for(state).puzzle_families or [n for _, n in fam_names],
        "examples": lambda: defaults_for(state).num_examples,
    }
    w: dict[str, Any] = {}  # widget per config field: one place maps the form to SFTConfig

    gr.Markdown(HINT)
    with gr.Row():
        with gr.Column(scale=2):
            w["name"] = gr.Textbox(_new_name, label="Run name", elem_id="train-name")
            w["base_model"] = gr.Textbox(
                lambda: state.default_model,
                label="Base model (folder, hub id or preset)",
                elem_id="train-base",
            )
            w["method"] = gr.Radio(METHODS, value="sft", label="Method", elem_id="train-method")
            w["data_source"] = gr.Radio(SOURCES, value="puzzles", label="Training data", elem_id="train-source")
            with gr.Group(visible=True) as puzzle_box:
                w["puzzle_families"] = gr.CheckboxGroup(
                    fam_names,
                    value=fresh["families"],
                    label="Puzzle families",
                    info="Default: the families the loaded model was trained on (new ones start from scratch)",
                    elem_id="train-families",
                )
                w["puzzle_levels"] = gr.CheckboxGroup(level_choices, value=[1], label="Levels")
                w["num_examples"] = gr.Number(
                    fresh["examples"], precision=0, minimum=1, label="Examples", elem_id="train-num-examples"
                )
            with gr.Group(visible=False) as upload_box:
                w["upload"] = gr.File(
                    label="JSONL: {'messages': [...]} or {'prompt', 'completion'} per line",
                    file_types=[".jsonl"],
                    type="filepath",
                    elem_id="train-upload",
                )
            with gr.Group(visible=False) as failures_box:
                w["failures"] = gr.Dropdown(
                    [], label="Evaluation results (runs/<eval>/results.jsonl)", allow_custom_value=True
                )
            grpo_box, grpo_w = grpo_widgets(lambda: defaults_for(state, "grpo"))
            w.update(grpo_w)
            check_btn = gr.Button("Check data", size="sm")
            data_msg = gr.Markdown(elem_id="train-data-msg")
            data_table = gr.Dataframe(visible=False, interactive=False, wrap=True, max_height=260, elem_id="train-data")
            with gr.Accordion("Hyperparameters", open=False):
                w.update(_hyperparameter_widgets(d, state))
            mem_btn = gr.Button("Estimate memory", size="sm")
            mem_msg = gr.Markdown(elem_id="train-memory")
            with gr.Row():
                launch_btn = gr.Button("Launch", variant="primary", elem_id="train-launch")
                stop_btn = gr.Button("Stop (save)", interactive=False, elem_id="train-stop")
                kill_btn = gr.Button("Kill", variant="stop", interactive=False, elem_id="train-kill")
            msg = gr.Markdown(elem_id="train-msg")
        with gr.Column(scale=3):
            progress = gr.HTML(progress_html(None), elem_id="train-progress")
            plot = gr.Plot(label="Loss", elem_id="train-loss")
            live = grpo_outputs()
            log = gr.Textbox(
                label="Log (tail)",
                lines=12,
                max_lines=12,
                autoscroll=True,
                interactive=False,
                elem_id="train-log",
            )
    gr.Markdown("### Runs")
    runs_table = gr.Dataframe(
        runs_frame(runner).rename(columns=RUN_COLUMNS),
        interactive=False,
        wrap=False,  # one line per run and whole words in the headers; the table scrolls sideways on a phone
        max_chars=60,  # a long path or error is cut in the cell (the adapter picker below has the whole path)
        elem_id="train-runs",
    )
    with gr.Row():
        pick = gr.Dropdown([], label="Adapter", scale=3, allow_custom_value=True, elem_id="train-adapter")
        use_btn = gr.Button("Use this adapter", scale=1, elem_id="train-use")
    use_msg = gr.Markdown(elem_id="train-use-msg")
    build_compare_section(state, pick, fam_names, level_choices, lambda: defaults_for(state).puzzle_families)
    timer = gr.Timer(POLL_S)
    watched = gr.State(None)  # the run this page shows when none is active (e.g. the one it just finished)
    shown_plot, runs_sig = gr.State(""), gr.State("")  # what is on screen, to redraw only on change
    shown_adapters = gr.State(None)  # the adapter list on screen: a new one (a run just finished) gets picked
    shown_view = gr.State("")  # the progress line, log tail and buttons on screen

    def on_source(src: str):
        choices = [str(p) for p in find_eval_results(state.runs_dir)]
        boxes = [gr.update(visible=src == key) for key in ("puzzles", "jsonl", "failures")]
        return *boxes, gr.update(choices=choices, value=choices[0] if choices else None)

    def on_method(method: str):
        d = defaults_for(state, method)
        values = [gr.update(value=getattr(d, key)) for key in METHOD_FIELDS]
        return *values, gr.update(visible=method == "grpo")

    def on_check(**values):
        try:
            cfg = config_from_widgets(values)
        except ValueError as exc:
            return escape_markup(exc), gr.update(visible=False)
        if cfg.data_source == "jsonl" and not cfg.data_path:
            return "Upload a JSONL file first.", gr.update(visible=False)
        if cfg.data_source == "failures" and not cfg.data_path:
            return "No evaluation results yet: run an evaluation (Evaluate tab) first.", gr.update(visible=False)
        frame, errors, summary = check_data(cfg)
        text = f"**{escape_markup(summary)}.**" + "".join(f"\n- {escape_markup(e)}" for e in errors[:20])
        return text, gr.update(value=frame, visible=not frame.empty)

    def on_memory(**values):
        try:
            return estimate_memory(config_from_widgets(values))["text"]
        except Exception as exc:  # any failure is shown to the user, never raised into Gradio
            return f"Cannot estimate memory: {escape_markup(exc)}"

    def on_launch(**values):
        try:
            cfg = config_from_widgets(values)
            asked, cfg.name = cfg.name, runner.free_name(cfg.name)  # a taken name gets a free -2, -3, … suffix
            status = runner.launch(cfg)
        except (RunnerError, ValueError) as exc:
            return f"**Not launched:** {escape_markup(exc)}", gr.skip(), gr.skip(), gr.skip()
        renamed = f" (a run named {escape_markup(asked)} already exists)" if cfg.name != asked else ""
        launched = f"Launched **{escape_markup(status['name'])}**{renamed}."
        return launched, status["name"], _new_name(), gr.Timer(active=True)

    def on_stop():
        active = runner.active()
        return escape_markup(runner.stop(active["name"])) if active else "Nothing is training."

    def on_kill():
        active = runner.active()
        return escape_markup(runner.kill(active["name"])) if active else "Nothing is training."

    def on_tick(**screen):
        active = runner.active()  # whatever trains on this machine, also after a page reload
        runs = runner.list_runs()
        target = active["name"] if active else screen["watched"] or (runs[0]["name"] if runs else None)
        p = runner.progress(target) if target else None
        rows = p["metrics"] if p else []
        busy = active is not None
        frame = runs_frame(runner)
        sig, plot_key = frame.to_json(), f"{target}:{len(rows)}"
        changed = sig != screen["runs_sig"]
        adapters = [a for a in frame["adapter"] if a]
        new_adapter = adapters != screen["adapters"]
        grpo = bool(p and p.get("method") == "grpo")
        redraw = plot_key != screen["plot"]
        html, log_text = progress_html(p), p["log"] if p else ""
        # a tick that changes nothing on screen sends nothing: an idle page stays idle in the browser too
        view = json.dumps([html, log_text, grpo, busy])
        same = view == screen["view"]
        # an idle page stops polling once a tick changes nothing (selecting the tab or Launch starts it again)
        idle = same and not (busy or redraw or changed or new_adapter)
        return (
            gr.Timer(active=False) if idle else gr.skip(),
            gr.skip() if same else html,
            loss_figure(rows) if redraw else gr.skip(),
            gr.skip() if same else gr.update(visible=grpo),
            reward_figure(rows) if grpo and redraw else gr.skip(),
            signal_figure(rows) if grpo and redraw else gr.skip(),
            samples_frame(runner.run_dir(target)) if grpo and redraw else gr.skip(),
            gr.skip() if same else log_text,
            gr.skip() if same else gr.update(interactive=not busy),
            gr.skip() if same else gr.update(interactive=busy),
            gr.skip() if same else gr.update(interactive=busy),
            target if target != screen["watched"] else gr.skip(),
            plot_key if redraw else gr.skip(),
            frame.rename(columns=RUN_COLUMNS) if changed else gr.skip(),
            sig if changed else gr.skip(),
            gr.update(choices=adapters, value=adapters[0] if adapters else None) if new_adapter else gr.skip(),
            adapters if new_adapter else gr.skip(),
            gr.skip() if same else view,
        )

    def on_use(path: str | None, visitor):
        if not path:
            return "Pick a finished run's adapter first.", gr.skip()
        try:  # this visitor's Chat and Puzzles tabs use base + adapter from here on (nobody else's change)
            if is_full_model(path):  # a fully fine-tuned (GRPO) run: a model of its own
                visitor = state.load(visitor, path, "auto")
                done = f"Loaded the trained model {code_markup(path)}: the Chat and Puzzles tabs now use it."
                return done, visitor
            visitor = state.load_adapter(visitor, path)
        except Exception as exc:  # any failure is shown to the user
            return f"Could not load the adapter: {escape_markup(exc)}", gr.skip()
        return adapter_loaded_message(visitor.info), visitor

    w["method"].change(on_method, w["method"], [w[k] for k in METHOD_FIELDS] + [grpo_box])
    w["data_source"].change(on_source, w["data_source"], [puzzle_box, upload_box, failures_box, w["failures"]])
    check_btn.click(on_check, inputs_kwargs=w, outputs=[data_msg, data_table])
    w["upload"].upload(on_check, inputs_kwargs=w, outputs=[data_msg, data_table])
    mem_btn.click(on_memory, inputs_kwargs=w, outputs=mem_msg)
    launch_btn.click(on_launch, inputs_kwargs=w, outputs=[msg, watched, w["name"], timer])
    log.change(None, None, None, js=FOLLOW_LOG_JS, queue=False, show_progress="hidden")
    stop_btn.click(on_stop, None, msg)
    kill_btn.click(on_kill, None, msg)
    outputs = [
        timer,
        progress,
        plot,
        live["box"],
        live["rewards"],
        live["signal"],
        live["samples"],
        log,
        launch_btn,
        stop_btn,
        kill_btn,
        watched,
        shown_plot,
        runs_table,
        runs_sig,
        pick,
        shown_adapters,
        shown_view,
    ]
    screen = {
        "watched": watched,
        "plot": shown_plot,
        "runs_sig": runs_sig,
        "adapters": shown_adapters,
        "view": shown_view,
    }
    timer.tick(on_tick, inputs_kwargs=screen, outputs=outputs, show_progress="hidden")
    use_btn.click(on_use, [pick, state.visitor], [use_msg, state.visitor])
    # the default base follows the model this visitor loads
    state.visitor.change(lambda v: state.visitor_of(v).info.source, state.visitor, w["base_model"], queue=False)
    return OnShow(lambda: gr.Timer(active=True), [timer])  # a shown tab polls the runs again
