"""Reasoning Playground: watch a reasoning model think, budget its thinking, test it on puzzles, fine-tune it.

python app.py [--model auto|tiny|PRESET|HUB_ID|PATH] [--quant auto|4bit|8bit|none] [--device auto|cuda|cpu]
              [--host 127.0.0.1] [--port 7860] [--share] [--offline] [--demo]
              [--server http://HOST:PORT/v1 [--api-key-env VAR]] [--max-models 2]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from playground.models.presets import DEVICES, QUANTS

if TYPE_CHECKING:  # gradio, transformers and the hub client are imported after --offline is applied
    import gradio as gr

    from playground.ui.state import AppState

CSS = """
#model-banner blockquote { border-left: 4px solid #f59e0b; padding-left: .6em; }
#model-banner details summary { cursor: pointer; color: #6b7280; font-size: .9em; }
#chat-stats { font-size: .9em; color: #6b7280; min-height: 1.5em; }
#eval-status { min-height: 4em; }  /* room for the queue position while a run waits in line */
#chat-hint { font-size: .9em; color: #6b7280; }
#link-note { border-left: 4px solid #3b82f6; padding-left: .6em; }
.link-status { font-size: .85em; color: #6b7280; align-self: center; }
#think-note, #answer-note { font-size: .85em; color: #6b7280; margin-top: -.5em; }
#reply-versions { align-items: center; gap: .3em; }
#chatbot details.raw-answer summary { cursor: pointer; color: #6b7280; font-size: .85em; }
#chatbot .verdict-badge { font-size: .9em; padding: .1em .5em; border-radius: .4em; }
#chatbot .badge-correct { background: #dcfce7; color: #166534; }
#chatbot .badge-wrong { background: #fee2e2; color: #991b1b; }
#chatbot .badge-unparseable { background: #fef3c7; color: #92400e; }
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Reasoning Playground: watch a reasoning model think, with exact thinking budgets.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model",
        default="auto",
        help="preset name (see README), hub id or local folder; 'tiny' is the embedded default; 'auto' picks a 4-bit "
        "Phi-4-class preset on a CUDA machine with the hub, else the embedded default",
    )
    parser.add_argument(
        "--server",
        default=None,
        help="generate on an OpenAI-compatible server (vLLM) at http://HOST:PORT/v1 instead of loading weights here; "
        "--model then names one of the models it serves (default: its first)",
    )
    parser.add_argument("--api-key-env", default=None, help="environment variable holding the server's API key")
    parser.add_argument(
        "--quant",
        choices=QUANTS,
        default="auto",
        help="weights: 4-bit NF4 (bitsandbytes), 8-bit, or none (bf16 on GPU, fp32 on CPU)",
    )
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs")
    # a Space sets GRADIO_SERVER_NAME=0.0.0.0 (and the port): its proxy must reach the server
    host, port = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), int(os.environ.get("GRADIO_SERVER_PORT", 7860))
    parser.add_argument("--host", default=host, help="address to listen on (0.0.0.0 for all interfaces)")
    parser.add_argument("--port", type=int, default=port, help="port to listen on")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    parser.add_argument(
        "--offline", action="store_true", help="never contact the Hugging Face hub (local folders and cache only)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="demo mode for shared machines (on by itself on a Hugging Face Space): preset models only, capped "
        "budgets and evaluations, training disabled",
    )
    parser.add_argument(
        "--max-models",
        type=int,
        default=2,
        help="models kept in memory at once for all visitors (the startup model included)",
    )
    parser.add_argument("--runs-dir", default="runs", help="where training and evaluation runs are written")
    args = parser.parse_args(argv)
    args.demo = args.demo or bool(os.environ.get("SPACE_ID"))  # a Hugging Face Space is always shared
    return args


def build_app(state: AppState) -> gr.Blocks:
    """Assemble the four tabs around one shared AppState and each visitor's own state (`state.visitor`)."""
    import gradio as gr

    from playground.ui.chat import build_chat_tab
    from playground.ui.evaluate import build_evaluate_tab
    from playground.ui.puzzles import build_puzzles_tab
    from playground.ui.share_wiring import link_note, open_links
    from playground.ui.state import OnShow
    from playground.ui.train import build_train_tab

    tabs = [
        ("Chat", build_chat_tab),
        ("Puzzles", build_puzzles_tab),
        ("Evaluate", build_evaluate_tab),
        ("Train", build_train_tab),
    ]
    with gr.Blocks(title="Reasoning Playground") as demo:
        gr.Markdown("# Reasoning Playground\nWatch a reasoning model think — and decide how long it may.")
        if state.limits.demo:
            gr.Markdown(state.limits.summary(), elem_id="demo-limits")
        state.visitor = gr.State(state.first_visitor())  # each session's model choice and its own notices
        last_tab = gr.BrowserState("chat", storage_key="playground-tab")  # the page reopens on the last tab
        note = link_note()  # what a share link left out, and the next step
        shown = []
        with gr.Tabs(elem_id="tabs") as tab_set:
            for title, build in tabs:
                with gr.Tab(title, id=title.lower()) as tab:
                    shown.append((tab, title.lower(), build(state)))
        for tab, tab_id, on_show in shown:  # views of the visitor's model refresh when shown (e.g. "Use this adapter")
            tab.select(lambda t=tab_id: t, None, last_tab, api_name=False, queue=False)
            if isinstance(on_show, OnShow):
                tab.select(on_show.fn, on_show.inputs, on_show.outputs, api_name=False, queue=False)
                demo.load(on_show.fn, on_show.inputs, on_show.outputs, api_name=False, queue=False)
                for event in on_show.on_load:
                    demo.load(**{"api_name": False, "queue": False, **event})
        links = [on_show.link for _, _, on_show in shown if isinstance(on_show, OnShow) and on_show.link]
        open_links(demo, tab_set, last_tab, note, links)  # a share link's tab and settings, else the last tab
    return demo


def skip_absent_matplotlib() -> None:
    """Gradio imports matplotlib around every event it runs; without matplotlib installed, each of those imports
    searches the whole module path again. Recording its absence once makes them fail at once."""
    import importlib.util

    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # `import matplotlib` now raises ImportError without a search


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    skip_absent_matplotlib()
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported: no retries at all
    import gradio as gr

    from playground.generation.engine import Engine
    from playground.models.loading import ModelLoadError
    from playground.ui.chat_keys import CHAT_KEYS_HEAD
    from playground.ui.limits import QUEUE_MAX_SIZE
    from playground.ui.state import AppState
    from training.data import MAX_UPLOAD_BYTES

    if args.server:  # a remote backend: the server generates, the playground keeps its budgets
        from playground.generation.remote import connect

        try:
            engine = connect(args.server, None if args.model == "auto" else args.model, args.api_key_env, args.offline)
        except (ModelLoadError, ValueError) as err:
            sys.exit(f"[app] {err}")
    else:
        from playground.generation.zerogpu import wrap_for_space

        engine = wrap_for_space(Engine())  # on a ZeroGPU Space: GPU work inside @spaces.GPU (before any model loads)
        try:
            engine.load(args.model, args.quant, args.device, args.offline)
        except ModelLoadError as err:
            print(f"[app] {err}\n[app] Falling back to the embedded default model.", file=sys.stderr)
            engine.load("tiny", "auto", args.device, True)
            engine.loaded.notices.insert(0, f"{err} The embedded default model was loaded instead.")
    state = AppState(
        engine=engine,
        demo_mode=args.demo,
        offline=args.offline,
        quant=args.quant,
        device=args.device,
        runs_dir=Path(args.runs_dir),
        max_models=args.max_models,
    )
    demo = build_app(state)
    # generating events set their own limits (limits.py); a crowd past QUEUE_MAX_SIZE is told to come back later
    demo.queue(default_concurrency_limit=4, max_size=QUEUE_MAX_SIZE)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        theme=gr.themes.Soft(),
        css=CSS,
        head=CHAT_KEYS_HEAD,
        footer_links=["api", "gradio"],
        allowed_paths=[str(Path(args.runs_dir).resolve())],  # CSV downloads from a runs folder outside the app's folder
        max_file_size=MAX_UPLOAD_BYTES,  # Gradio refuses a larger upload before it reaches the disk
    )


if __name__ == "__main__":
    main()
