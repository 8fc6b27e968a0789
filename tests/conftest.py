"""Shared fixtures: offline hub, tiny local models built on the fly (random weights are fine for mechanics)."""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a failed hub lookup would otherwise retry for ~46 s
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# Tiny models run far faster on one thread, and the app/training subprocesses inherit this: on a 2-core machine,
# several processes each spinning 2 OpenMP threads slow each other down by an order of magnitude.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A random-weight tiny Llama whose chat template opens <think> in the prompt (R1 style)."""
    from playground.models.placeholder import build_placeholder

    return build_placeholder(tmp_path_factory.mktemp("tiny-open"), seed=0, open_think=True)


@pytest.fixture(scope="session")
def tiny_dir_plain(tmp_path_factory) -> Path:
    """The same kind of model with a template that does not open <think> (the model must emit it)."""
    from playground.models.placeholder import build_placeholder

    return build_placeholder(tmp_path_factory.mktemp("tiny-plain"), seed=1, open_think=False)


@pytest.fixture(scope="session")
def visitor_adapter(tiny_dir, tmp_path_factory) -> Path:
    """A real PEFT LoRA adapter for the random-weight tiny model, saved like a training run's
    (runs/visitor-run/adapter): what a visitor's "Use this adapter" applies."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_dir))
    cfg = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    out = tmp_path_factory.mktemp("runs") / "visitor-run" / "adapter"
    get_peft_model(model, cfg).save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def engine(tiny_dir):
    from playground.generation.engine import Engine
    from playground.models.loading import load_model

    return Engine(load_model(str(tiny_dir), device="cpu"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched_app(tmp_path_factory, model: str, *options: str):
    """`python app.py --offline --model <model> [options]` on a free loopback port; yields its URL, then stops it and
    checks that its log holds no traceback."""
    import subprocess
    import sys

    from ui_helpers import wait_until_serving

    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    runs = tmp_path_factory.mktemp("runs")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    # its own training lock: a run launched from the test app never collides with another run on this machine
    env["PLAYGROUND_TRAIN_LOCK"] = str(tmp_path_factory.mktemp("lock") / "train.lock")
    root = Path(__file__).resolve().parent.parent
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--offline", "--model", model, "--port", str(port), "--runs-dir", str(runs)]
            + list(options),
            cwd=root,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(proc, url, log)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="session")
def launch_app(tmp_path_factory):
    """`launch_app(model, *options)`: a context manager running the real app on `model` (see `launched_app`)."""
    return lambda model, *options: launched_app(tmp_path_factory, model, *options)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, tiny_dir):
    """A real app on the random-weight tiny model, shared by the session's tests. The tests check mechanics, so they
    use the placeholder rather than whatever model is shipped as the embedded default (a trained model would, e.g.,
    end its thoughts early and make runs too short to Stop)."""
    with launched_app(tmp_path_factory, str(tiny_dir)) as url:
        yield url


@pytest.fixture(scope="session")
def tiny_app_url(launch_app):
    """The real app as `python app.py` starts on a machine without a GPU: the shipped tiny reasoner."""
    with launch_app("tiny") as url:
        yield url


@pytest.fixture(autouse=True)
def _close_the_tests_pages(request):
    """Close the browser pages a test opened and left open: an open Gradio page keeps its renderer busy and would
    slow every later test. Pages of module-scoped fixtures (opened before the test) stay."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    before = set(browser.contexts)
    yield
    for context in browser.contexts:
        if context not in before:
            context.close()


@pytest.fixture(scope="session")
def browser():
    """Debian Chromium driven by Playwright (its own browser download does not work here)."""
    import shutil

    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian chromium is not installed (apt-get install -y chromium)")
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=args)
        yield b
        b.close()
