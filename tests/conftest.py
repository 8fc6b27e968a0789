"""Shared fixtures: offline hub, tiny local models built on the fly (random weights are fine for mechanics)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a failed hub lookup would otherwise retry for ~46 s
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A random-weight tiny Llama whose chat template opens <think> in the prompt (R1 style)."""
    from training.placeholder import build_placeholder

    return build_placeholder(tmp_path_factory.mktemp("tiny-open"), seed=0, open_think=True)


@pytest.fixture(scope="session")
def tiny_dir_plain(tmp_path_factory) -> Path:
    """The same kind of model with a template that does not open <think> (the model must emit it)."""
    from training.placeholder import build_placeholder

    return build_placeholder(tmp_path_factory.mktemp("tiny-plain"), seed=1, open_think=False)


@pytest.fixture(scope="session")
def engine(tiny_dir):
    from playground.engine import Engine
    from playground.loading import load_model

    return Engine(load_model(str(tiny_dir), device="cpu"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
