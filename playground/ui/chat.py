"""The Chat tab: model picker, sampling and budget controls, a Chatbot with a live collapsible thought.

Widgets and wiring only: turns are produced by `playground.generation.chat_session.stream_turn`, models by the engine.
"""

from __future__ import annotations

import html

import gradio as gr

from playground.generation.chat_session import finalize_pending, message_text, stream_turn, user_message
from playground.generation.engine import GenerationRequest
from playground.generation.thinking import DEFAULT_WRAPUP
from playground.models.loading import QUANTS, ModelLoadError
from playground.models.presets import PRESETS, TINY_EXAMPLES, TINY_THINK_BUDGET, choices, recommended_temperature
from playground.ui.state import AppState, OnShow

THINK_MAX = 8192  # the slider's last stop means "unlimited"
ANSWER_MAX = 4096
MODES = [("Hard cut", "hard"), ("Wrap-up sentence", "wrapup"), ("s1 extend (“Wait”)", "extend")]


def budget_value(value: float, maximum: int) -> int | None:
    """Slider value → budget in tokens (None = unlimited at the slider's maximum)."""
    return None if int(value) >= maximum else int(value)


def model_banner(state: AppState) -> str:
    """Markdown describing the loaded model (and anything the user must know about it)."""
    loaded = state.engine.loaded
    if loaded is None:
        return "**No model loaded.**"
    lines = [
        f"**Model:** `{loaded.name}` — {html.escape(loaded.description)} · {loaded.quant} · {loaded.device} · "
        f"{loaded.params / 1e6:,.1f}M parameters · context {loaded.context_length:,} tokens"
    ]
    lines += [f"> ⚠️ {html.escape(note)}" for note in loaded.notices]
    return "\n\n".join(lines)


def example_prompts(state: AppState) -> list[str]:
    loaded = state.engine.loaded
    if loaded is not None and loaded.name == "tiny":
        from playground.puzzles import generate

        return [generate(family, 1, seed).prompt for family, seed in TINY_EXAMPLES]
    return ["How many positive divisors does 360 have?", "Is 3599 prime? Think it through."]


def build_chat_tab(state: AppState) -> OnShow:
    """Lay out the Chat tab and wire its events (named API endpoints: /chat, /stop, /load_model). Returns what to
    refresh when the tab is shown: the model banner (another tab may have loaded an adapter)."""
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
            gr.Examples(example_prompts(state), inputs=message, label="Examples")
        with gr.Column(scale=2):
            with gr.Accordion("Model", open=True):
                model_name = gr.Dropdown(
                    choices(),
                    value=state.engine.loaded.name if state.engine.loaded else "tiny",
                    allow_custom_value=True,
                    label="Model (preset, hub id or local folder)",
                )
                quant = gr.Radio(list(QUANTS), value=state.quant, label="Quantization (auto: 4-bit on GPU)")
                load = gr.Button("Load", elem_id="load")
            with gr.Accordion("Thinking budget", open=True):
                tiny = state.engine.loaded is not None and state.engine.loaded.name == "tiny"
                think_budget = gr.Slider(
                    0,
                    THINK_MAX,
                    value=TINY_THINK_BUDGET if tiny else 512,
                    step=16,
                    elem_id="think-budget",
                    label=f"Thinking budget (tokens; 0 = no thinking, {THINK_MAX} = unlimited)",
                )
                mode = gr.Radio(MODES, value="hard", label="At the budget")
                wrapup = gr.Textbox(DEFAULT_WRAPUP, label="Wrap-up sentence (wrap-up mode)", lines=2)
                min_think = gr.Slider(
                    0, THINK_MAX, value=0, step=16, label="Minimum thinking (s1 extend: an earlier end becomes “Wait”)"
                )
                answer_budget = gr.Slider(
                    0,
                    ANSWER_MAX,
                    value=1024,
                    step=16,
                    label=f"Answer budget (tokens after </think>; {ANSWER_MAX} = unlimited)",
                )
            with gr.Accordion("Sampling", open=False):
                loaded = state.engine.loaded
                preset = loaded.preset if loaded else None
                system = gr.Textbox(preset.system_prompt if preset else "", label="System prompt", lines=3)
                temperature = gr.Slider(
                    0,
                    2,
                    value=recommended_temperature(preset, loaded.name if loaded else None),
                    step=0.05,
                    label="Temperature (0 = greedy)",
                )
                top_p = gr.Slider(0.05, 1, value=preset.top_p if preset else 0.95, step=0.05, label="Top-p")
                top_k = gr.Slider(0, 200, value=preset.top_k if preset else 20, step=1, label="Top-k (0 = off)")
                seed = gr.Number(-1, precision=0, label="Seed (-1 = random)")

    settings = [system, temperature, top_p, top_k, seed, think_budget, mode, min_think, wrapup, answer_budget]

    def respond(
        text: str,
        history: list,
        system_prompt: str,
        temp: float,
        p: float,
        k: float,
        seed_value: float,
        think: float,
        budget_mode: str,
        min_think_value: float,
        wrapup_text: str,
        answer: float,
        request: gr.Request,
    ):
        history = finalize_pending(history or [])
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
            req = _request(
                system_prompt, temp, p, k, seed_value, think, budget_mode, min_think_value, wrapup_text, answer
            )
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

    def on_load(name: str, quant_choice: str, progress=gr.Progress()):
        progress(0.1, desc=f"Loading {name}…")
        try:
            loaded = state.engine.load(name, quant_choice, state.device, state.offline)
        except (ModelLoadError, ValueError, RuntimeError) as err:
            gr.Warning(str(err))
            if state.engine.loaded is None:  # keep the app usable: fall back to the embedded model
                state.engine.load("tiny", "auto", state.device, True)
            return model_banner(state) + f"\n\n> ❌ {err}", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        progress(1.0)
        p = loaded.preset
        if p is None:
            return model_banner(state), "", gr.skip(), gr.skip(), gr.skip()
        return model_banner(state), p.system_prompt, p.temperature, p.top_p, p.top_k

    outputs = [chatbot, message, stats]
    send.click(respond, [message, chatbot, *settings], outputs, api_name="chat", concurrency_limit=None)
    message.submit(respond, [message, chatbot, *settings], outputs, api_name=False, concurrency_limit=None)
    stop.click(on_stop, [chatbot], [chatbot, stats], api_name="stop", queue=False)
    regenerate.click(on_regenerate, [chatbot], [chatbot, message], api_name=False, queue=False).then(
        respond, [message, chatbot, *settings], outputs, api_name=False, concurrency_limit=None
    )
    clear.click(lambda: ([], "", ""), None, [chatbot, message, stats], api_name=False, queue=False)
    load.click(on_load, [model_name, quant], [banner, system, temperature, top_p, top_k], api_name="load_model")
    return OnShow(lambda: model_banner(state), [banner])


def _request(
    system: str,
    temperature: float,
    top_p: float,
    top_k: float,
    seed: float | None,
    think_budget: float,
    mode: str,
    min_think: float,
    wrapup: str,
    answer_budget: float,
) -> GenerationRequest:
    """Widget values → a GenerationRequest (messages are filled in from the history)."""
    think = budget_value(think_budget, THINK_MAX)
    return GenerationRequest(
        messages=[],
        system_prompt=system or "",
        temperature=float(temperature),
        top_p=float(top_p),
        top_k=int(top_k),
        seed=None if seed is None or int(seed) < 0 else int(seed),
        think_budget=think,
        budget_mode=mode,
        min_think=min(int(min_think), think) if think is not None else int(min_think),
        wrapup_text=wrapup or "",
        answer_budget=budget_value(answer_budget, ANSWER_MAX),
    )


__all__ = ["PRESETS", "build_chat_tab", "budget_value", "model_banner"]
