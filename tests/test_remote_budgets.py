"""Exact thinking budgets over HTTP, on a real vLLM server serving the tiny reasoner: the continuation loop over
/v1/completions (hard, wrapup, extend, answer budget) and vLLM's own thinking_token_budget over chat; every count
is checked against the server's tokenizer (/tokenize), and greedy replies equal the local engine's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import httpx
import pytest
from vllm_fixture import PLAIN_API_KEY, ROOT, plain_vllm_server, vllm_server, vllm_url  # noqa: F401 - fixtures

from playground.generation.remote import RemoteBackend
from playground.generation.request import (
    AnswerDelta,
    Done,
    GenerationRequest,
    ThinkingDelta,
    ThinkingDone,
)
from playground.models.loading import ModelLoadError
from playground.puzzles import generate

pytestmark = pytest.mark.slow
MAZE = generate("maze", 1, 7).prompt


def request(**kw) -> GenerationRequest:
    settings = dict(temperature=0.0, answer_budget=64, wrapup_text="Time is up.")
    return GenerationRequest(messages=[{"role": "user", "content": MAZE}], **{**settings, **kw})


@pytest.fixture(scope="module")
def backends(vllm_server):  # noqa: F811
    url = vllm_server.ensure()
    out = {}
    for path in ("completions", "native"):
        backend = RemoteBackend(url, path=path)
        backend.load()
        out[path] = backend
    return out


def server_count(backend: RemoteBackend, text: str) -> int:
    """How many tokens the server's own tokenizer makes of `text`."""
    body = {"model": backend.model, "prompt": text, "add_special_tokens": False}
    return httpx.post(backend.client.root + "/tokenize", json=body, timeout=30).json()["count"]


def test_the_server_is_detected_with_what_it_offers(backends, vllm_url):  # noqa: F811
    info = backends["completions"].describe()
    assert vllm_url in info.source and "tiny-reasoner" in info.source, "the banner names the server and the model"
    assert info.families == ["sat", "maze", "tsp", "spatial_map"], "the served folder's card is read"
    assert info.context_length == 4096
    caps = backends["completions"].caps
    assert caps.completions and caps.token_ids and caps.thinking_budget and caps.reasoning_field and caps.opened
    assert caps.budget_offset == 1, "the template writes a newline after <think>, which vLLM counts as thinking"


@pytest.mark.parametrize("path", ["completions", "native"])
@pytest.mark.parametrize("budget", [0, 1, 37])
def test_hard_budgets_are_exact_on_both_paths(backends, path, budget):
    backend = backends[path]
    stats = backend.generate(request(think_budget=budget))
    assert stats.thinking_tokens == budget and stats.budget_reached and stats.thought_closed
    assert server_count(backend, stats.thinking) == budget
    assert "Final Answer" in stats.answer
    assert server_count(backend, stats.answer) == stats.answer_tokens


def test_both_paths_and_the_local_engine_agree_at_temperature_zero(backends):
    from playground.generation.engine import Engine
    from playground.models.loading import load_model

    local = Engine(load_model("tiny", device="cpu", offline=True))
    for budget in (None, 50):
        want = local.generate(request(think_budget=budget))
        for path, backend in backends.items():
            got = backend.generate(request(think_budget=budget))
            assert (got.thinking, got.answer) == (want.thinking, want.answer), (path, budget)
            assert (got.thinking_tokens, got.answer_tokens) == (want.thinking_tokens, want.answer_tokens), path
    unlimited = backends["completions"].generate(request(think_budget=None))
    assert not unlimited.budget_reached and unlimited.thought_closed and unlimited.thinking_tokens > 100


def test_wrapup_ends_the_thought_with_the_sentence_exactly_at_the_budget(backends):
    backend = backends["completions"]
    stats = backend.generate(request(think_budget=60, budget_mode="wrapup"))
    assert stats.thinking_tokens == 60 and stats.budget_reached
    assert stats.thinking.endswith("\nTime is up.\n")
    assert server_count(backend, stats.thinking) == 60


def test_extend_says_wait_until_the_minimum(backends):
    backend = backends["completions"]
    natural = backend.generate(request(think_budget=None)).thinking_tokens
    stats = backend.generate(request(think_budget=natural + 60, budget_mode="extend", min_think=natural + 20))
    assert stats.extensions >= 1 and "\nWait," in stats.thinking
    assert natural + 20 <= stats.thinking_tokens <= natural + 60
    assert server_count(backend, stats.thinking) == stats.thinking_tokens


def test_the_answer_budget_is_exact(backends):
    backend = backends["completions"]
    stats = backend.generate(request(think_budget=20, answer_budget=5))
    assert stats.answer_tokens == 5 and server_count(backend, stats.answer) == 5
    assert backend.generate(request(think_budget=20, answer_budget=0)).answer == ""


def test_modes_the_server_cannot_enforce_are_refused_with_a_reason(backends):
    with pytest.raises(ValueError, match="continuation loop"):
        backends["native"].generate(request(think_budget=40, budget_mode="wrapup"))


def test_the_stream_is_live_and_stop_closes_it(backends):
    backend = backends["completions"]
    events = list(backend.stream(request(think_budget=40)))
    kinds = [type(e) for e in events]
    assert kinds.index(ThinkingDone) > kinds.index(ThinkingDelta) and kinds[-1] is Done
    assert kinds.index(AnswerDelta) > kinds.index(ThinkingDone)
    counts = [e.n_tokens for e in events if isinstance(e, ThinkingDelta)]
    assert counts == sorted(counts) and counts[-1] == 40 and len(counts) > 5, "thinking streams with live counts"

    stop = threading.Event()
    seen = 0
    for event in backend.stream(request(think_budget=None, temperature=0.8, seed=1), stop):
        if isinstance(event, ThinkingDelta):
            seen += 1
            if seen == 5:
                stop.set()
        if isinstance(event, Done):
            stats = event.stats
    assert stats.stopped and stats.thinking_tokens < 40 and not backend.busy


def test_adapters_and_unknown_models_get_clear_messages(backends, tmp_path):
    backend = RemoteBackend(backends["completions"].server)
    with pytest.raises(ModelLoadError, match="does not serve 'no-such-model'"):
        backend.load("no-such-model")
    assert backend.load("tiny").name == backends["completions"].model, "'tiny' names the served embedded model"
    with pytest.raises(ModelLoadError, match="--enable-lora"):
        backend.load_adapter(str(tmp_path / "run" / "adapter"))


def test_a_server_without_a_reasoning_parser(backends, plain_vllm_server):  # noqa: F811
    """The thought comes in the content between <think> tags; the server takes no budget of its own, which is
    refused with the reason on the chat path, while the continuation loop keeps budgets exact on it."""
    url = plain_vllm_server.ensure()
    chat = RemoteBackend(url, api_key=PLAIN_API_KEY, path="native")
    chat.load()
    assert chat.caps.completions and not chat.caps.reasoning_field and not chat.caps.thinking_budget
    events = list(chat.stream(request(think_budget=None)))
    stats = events[-1].stats
    want = backends["native"].generate(request(think_budget=None))
    assert (stats.thinking, stats.answer) == (want.thinking, want.answer), "the tags are split as the parser does"
    assert (stats.thinking_tokens, stats.answer_tokens) == (want.thinking_tokens, want.answer_tokens)
    kinds = [type(e) for e in events]
    assert kinds.count(ThinkingDelta) > 5 and kinds.index(ThinkingDone) < kinds.index(AnswerDelta)
    with pytest.raises(ValueError, match="cannot enforce a thinking budget"):
        chat.generate(request(think_budget=40))
    loop = RemoteBackend(url, api_key=PLAIN_API_KEY)
    loop.load()
    stats = loop.generate(request(think_budget=37))
    assert stats.thinking_tokens == 37 and server_count(loop, stats.thinking) == 37


def test_the_generate_cli_takes_the_api_key_from_the_named_variable(plain_vllm_server):  # noqa: F811
    url = plain_vllm_server.ensure()

    def generate_cli(key: str | None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_TEST_KEY"}
        env.update({"PLAYGROUND_TEST_KEY": key} if key is not None else {})
        cmd = [sys.executable, "-m", "playground.generation", "--server", url, "--api-key-env", "PLAYGROUND_TEST_KEY"]
        cmd += ["--prompt", MAZE, "--think-budget", "30", "--answer-budget", "64", "--temperature", "0", "--json"]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    done = generate_cli(PLAIN_API_KEY)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["thinking_tokens"] == 30 and out["budget_reached"] and url in out["source"]
    refused = generate_cli("a-wrong-key")
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr and "Traceback" not in refused.stderr
    unset = generate_cli(None)
    assert unset.returncode == 2 and "PLAYGROUND_TEST_KEY: that environment variable is not set" in unset.stderr
