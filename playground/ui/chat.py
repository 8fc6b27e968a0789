"""The Chat tab: model picker, sampling and budget controls, a Chatbot with a live collapsible thought.

Layout and wiring only: turns are produced by `playground.generation.chat_session.stream_turn`, models are loaded
by the app's backend. Named API endpoints: /chat, /stop, /load_model.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from playground.generation.backend import ModelInfo
from playground.generation.chat_session import finalize_pending, message_text, stream_turn, user_message
from playground.generation.request import DEFAULT_WRAPUP, GenerationRequest
from playground.models.loading import QUANTS, ModelLoadError
from playground.models.presets import TINY_EXAMPLES, TINY_THINK_BUDGET, choices, recommended_temperature
from playground.ui.state import AppState, OnShow
from playground.ui.widgets import ANSWER_MAX, MODES, THINK_MAX, budget_slider, read_budgets, read_seed


def model_banner(state: AppState) -> str:
    """Markdown describing the loaded model (and anything the user must know about it)."""
    info = state.engine.describe()
    if info is None:
        return "**No model loaded.**"
    lines = [
        f"**Model:** `{info.name}` — {html.escape(info.description)} · {info.quant} · {info.device} · "
        f"{info.params / 1e6:,.1f}M parameters · context {info.context_length:,} tokens"
    ]
    lines += [f"> ⚠️ {html.escape(note)}" for note in info.notices]
    return "\n\n".join(lines)


def example_prompts(info: ModelInfo | None) -> list[str]:
    if info is not None and info.name == "tiny":
        from playground.puzzles import generate

        return [generate(family, 1, seed).prompt for family, seed in TINY_EXAMPLES]
    return ["How many positive divisors does 360 have?", "Is 3599 prime? Think it through."]


def chat_request(values: dict[str, Any]) -> GenerationRequest:
    """The settings widgets' values (keyed by GenerationRequest field) → a request; the messages come from the
    history. ValueError for a bad seed."""
    return GenerationRequest(
        messages=[],
        system_prompt=values["system_prompt"] or "",
        temperature=float(values["temperature"]),
        top_p=float(values["top_p"]),
        top_k=int(values["top_k"]),
        seed=read_seed(values["seed"]),
        budget_mode=values["budget_mode"],
        wrapup_text=values["wrapup_text"] or "",
        **read_budgets(values),
    )


def build_chat_tab(state: AppState) -> OnShow:
    """Lay out the Chat tab and wire its events. Returns what to refresh when the tab is shown: the model banner
    (another tab may have loaded an adapter)."""
    info = state.engine.describe()
    preset = info.preset if info else None
    with gr.Row():
        with gr.Column(scale=3):
            banner = gr.Markdown(model_banner(state), elem_id="model-banner")
            chatbot = gr.Chatbot(
                label="Conversation", height=540, elem_id="chatbot", allow_tags=False, buttons=["copy", "copy_all"]
            )
            stats = gr.Markdown("", elem_id="chat-stats")
            with gr.Row():
                message = gr.Textbox(
                    placeholder="Ask something, or paste a puzzle…",
                    show_label=False,
                    scale=6,
                    lines=2,
                    max_lines=8,
                    elem_id="chat-input",
                )
                send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            with gr.Row():
                stop = gr.Button("Stop", variant="stop", elem_id="stop")
                regenerate = gr.Button("Regenerate", elem_id="regenerate")
                clear = gr.Button("Clear", elem_id="clear")
            gr.Examples(example_prompts(info), inputs=message, label="Examples")
        with gr.Column(scale=2):
            with gr.Accordion("Model", open=True):
                model_name = gr.Dropdown(
                    choices(),
                    value=info.name if info else "tiny",
                    allow_custom_value=True,
                    label="Model (preset, hub id or local folder)",
                )
                quant = gr.Radio(list(QUANTS), value=state.quant, label="Quantization (auto: 4-bit on GPU)")
                load = gr.Button("Load", elem_id="load")
            with gr.Accordion("Thinking budget", open=True):
                think_budget = budget_slider(
                    THINK_MAX,
                    TINY_THINK_BUDGET if info is not None and info.name == "tiny" else 512,
                    f"Thinking budget (tokens; 0 = no thinking, {THINK_MAX} = unlimited)",
                    elem_id="think-budget",
                )
                mode = gr.Radio(MODES, value="hard", label="At the budget")
                wrapup = gr.Textbox(DEFAULT_WRAPUP, label="Wrap-up sentence (wrap-up mode)", lines=2)
                min_think = budget_slider(THINK_MAX, 0, "Minimum thinking (s1 extend: an earlier end becomes “Wait”)")
                answer_budget = budget_slider(
                    ANSWER_MAX, 1024, f"Answer budget (tokens after </think>; {ANSWER_MAX} = unlimited)"
                )
            with gr.Accordion("Sampling", open=False):
                system = gr.Textbox(preset.system_prompt if preset else "", label="System prompt", lines=3)
                temperature = gr.Slider(
                    0,
                    2,
                    value=recommended_temperature(preset, info.name if info else None),
                    step=0.05,
                    label="Temperature (0 = greedy)",
                )
                top_p = gr.Slider(0.05, 1, value=preset.top_p if preset else 0.95, step=0.05, label="Top-p")
                top_k = gr.Slider(0, 200, value=preset.top_k if preset else 20, step=1, label="Top-k (0 = off)")
                seed = gr.Number(-1, precision=0, label="Seed (-1 = random)")

    turn = {
        "message": message,
        "history": chatbot,
        "system_prompt": system,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "seed": seed,
        "think_budget": think_budget,
        "budget_mode": mode,
        "min_think": min_think,
        "wrapup_text": wrapup,
        "answer_budget": answer_budget,
    }

    def respond(request: gr.Request, **values):
        history = finalize_pending(values["history"] or [])
        text = values["message"]
        if not (text or "").strip():
            gr.Warning("The prompt is empty: type a question first.")
            yield history, text, gr.skip()
            return
        session = request.session_hash or "api"
        stop_event = state.begin(session)
        if stop_event is None:
            gr.Warning("A reply is still being generated: press Stop first.")
            yield history, text, gr.skip()
            return
        try:
            req = chat_request(values)
            history = [*history, user_message(text)]
            yield history, "", "Waiting for the model…"
            for update in stream_turn(state.engine, history, req, stop_event):
                for note in update.notices:
                    gr.Info(note)
                yield update.history, "", update.stats
        except (ValueError, RuntimeError) as err:
            gr.Warning(str(err))
            yield finalize_pending(history), gr.skip(), f"⚠️ {err}"
        finally:
            state.end(session)

    def on_stop(history: list, request: gr.Request):
        if not state.stop(request.session_hash or "api"):
            return finalize_pending(history or []), "Nothing is running."
        gr.Info("Stopping…")  # a toast: writing to the figures line could overwrite the final one (a race)
        return gr.skip(), gr.skip()

    def on_regenerate(history: list):
        history = list(history or [])
        while history and history[-1].get("role") == "assistant":
            history.pop()
        if not history:
            gr.Warning("Nothing to regenerate yet.")
            return history, ""
        last = history.pop()
        return history, html.unescape(message_text(last))

    def on_load(progress=gr.Progress(), **values):
        name = values["model"]
        progress(0.1, desc=f"Loading {name}…")
        try:
            loaded = state.engine.load(name, values["quant"], state.device, state.offline)
        except (ModelLoadError, ValueError, RuntimeError) as err:
            gr.Warning(str(err))
            if state.engine.describe() is None:  # keep the app usable: fall back to the embedded model
                state.engine.load("tiny", "auto", state.device, True)
            return model_banner(state) + f"\n\n> ❌ {err}", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        progress(1.0)
        p = loaded.preset
        if p is None:
            return model_banner(state), "", gr.skip(), gr.skip(), gr.skip()
        return model_banner(state), p.system_prompt, p.temperature, p.top_p, p.top_k

    outputs = [chatbot, message, stats]
    send.click(respond, inputs_kwargs=turn, outputs=outputs, api_name="chat", concurrency_limit=None)
    message.submit(respond, inputs_kwargs=turn, outputs=outputs, api_name=False, concurrency_limit=None)
    stop.click(on_stop, [chatbot], [chatbot, stats], api_name="stop", queue=False)
    regenerate.click(on_regenerate, [chatbot], [chatbot, message], api_name=False, queue=False).then(
        respond, inputs_kwargs=turn, outputs=outputs, api_name=False, concurrency_limit=None
    )
    clear.click(lambda: ([], "", ""), None, [chatbot, message, stats], api_name=False, queue=False)
    load.click(
        on_load,
        inputs_kwargs={"model": model_name, "quant": quant},
        outputs=[banner, system, temperature, top_p, top_k],
        api_name="load_model",
    )
    return OnShow(lambda: model_banner(state), [banner])
