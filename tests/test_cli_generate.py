"""The one-shot CLI and app.py's options, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, input=stdin, timeout=300
    )


def test_generate_json_has_the_documented_fields(tiny_dir):
    out = run(
        "-m",
        "playground.generation",
        "--prompt",
        "Is 91 prime?",
        "--model",
        str(tiny_dir),
        "--think-budget",
        "24",
        "--budget-mode",
        "wrapup",
        "--wrapup",
        "Stop.",
        "--answer-budget",
        "6",
        "--temperature",
        "0.7",
        "--seed",
        "1",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("thinking", "answer", "thinking_tokens", "answer_tokens", "seconds", "model", "budget_reached"):
        assert key in data
    assert data["thinking_tokens"] == 24 and data["budget_reached"] and data["thinking"].rstrip().endswith("Stop.")
    assert data["answer_tokens"] <= 6


def test_generate_text_mode_and_stdin_prompt(tiny_dir):
    out = run(
        "-m",
        "playground.generate",  # the CLI's earlier name
        "--prompt",
        "-",
        "--model",
        str(tiny_dir),
        "--think-budget",
        "0",
        "--answer-budget",
        "5",
        "--seed",
        "2",
        stdin="hello from stdin",
    )
    assert out.returncode == 0, out.stderr
    assert "--- thought for" in out.stdout and "0 thinking + " in out.stdout


def test_generate_bad_input_exits_2_with_a_message(tiny_dir):
    out = run("-m", "playground.generate", "--prompt", "   ", "--model", str(tiny_dir))
    assert out.returncode == 2 and "empty" in out.stderr and "Traceback" not in out.stderr
    out = run("-m", "playground.generate", "--prompt", "x", "--think-budget", "-3")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    out = run("-m", "playground.generation", "--prompt", "x", "--answer-budget", "lots")
    assert out.returncode == 2 and "--answer-budget: bad budget 'lots'" in out.stderr and "Traceback" not in out.stderr
    for bad, word in (("--temperature=nan", "temperature"), ("--seed=1180591620717411303424", "seed")):
        out = run("-m", "playground.generation", "--prompt", "x", "--model", str(tiny_dir), bad)
        assert out.returncode == 2 and word in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_generate_reads_a_prompt_with_invalid_utf8_from_stdin(tiny_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "playground.generation", "--prompt", "-", "--model", str(tiny_dir), "--json"]
        + ["--think-budget", "2", "--answer-budget", "2"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        input=b"is this \xff\xfe prime?",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert json.loads(proc.stdout)["thinking_tokens"] <= 2


def test_generate_exits_1_when_the_named_model_cannot_load():
    """The CLI runs the model it was asked for or none: no silent fallback to the embedded model."""
    out = run("-m", "playground.generation", "--prompt", "x", "--model", "no-such-org/no-such-model", "--offline")
    assert out.returncode == 1 and "no-such-org/no-such-model" in out.stderr and out.stdout == ""


def test_app_help_lists_every_option():
    out = run("app.py", "--help")
    assert out.returncode == 0
    for option in ("--model", "--quant", "--device", "--host", "--port", "--share", "--offline", "--demo"):
        assert option in out.stdout
