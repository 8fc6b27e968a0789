"""Evaluation on a real vLLM server: the CLI with --server, seeded samples that repeat, batches in flight at once,
Stop aborting the requests in flight on the server, and a server killed mid-run (a clear error, retries counted,
the partial results kept). The kill test comes last: the next test that needs the server starts it again."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import httpx
import pytest
from vllm_fixture import ROOT, vllm_server, vllm_url  # noqa: F401 - fixtures

from playground.evaluation.run import EvalConfig, Evaluation, run_evaluation
from playground.generation.remote import RemoteBackend
from playground.generation.request import GenerationRequest

pytestmark = pytest.mark.slow


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "playground.evaluation", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_the_evaluate_cli_runs_on_the_server(vllm_url, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    done = cli(
        "--server",
        vllm_url,
        "--family",
        "maze",
        "--puzzles",
        "6",
        "--samples",
        "2",
        "--budgets",
        "0,unlimited",
        "--temperature",
        "0",
        "--out",
        str(out),
        "--json",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert "tiny-reasoner" in summary["model"] and summary["retries"] == 0 and not summary["stopped"]
    assert summary["budgets"]["unlimited"]["pass1"]["mean"] >= 0.8, "the tiny reasoner solves level-1 mazes"
    assert summary["budgets"]["0"]["tokens"]["thinking"]["mean"] == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 2 * 6 * 2


def test_seeded_samples_repeat_with_batches_in_flight(vllm_url):  # noqa: F811
    backend = RemoteBackend(vllm_url)
    backend.load()
    assert backend.concurrent_batches > 1
    config = dict(family="spatial_map", puzzles=8, samples=3, budgets=[64], temperature=0.8, seed=5, batch_rows=6)
    first = run_evaluation(backend, EvalConfig(**config), save=False)
    again = run_evaluation(backend, EvalConfig(**config), save=False)
    key = lambda r: (r["seed"], r["sample"])
    assert [key(r) for r in first.records] == sorted(map(key, first.records)), "records keep the puzzle order"
    assert [(r["answer"], r["thinking_tokens"]) for r in first.records] == [
        (r["answer"], r["thinking_tokens"]) for r in again.records
    ]
    assert len({r["answer"] for r in first.records}) > 1, "sampled answers differ between samples"
    assert all(r["thinking_tokens"] == 64 or not r["budget_reached"] for r in first.records)


def metrics(url: str) -> dict[str, float]:
    """The server's requests running now and finished so far (stopped or at their length; an aborted request is
    not counted as finished), from one read of its Prometheus /metrics."""
    text = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=30).text

    def total(name: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))

    return {"running": total("vllm:num_requests_running"), "finished": total("vllm:request_success_total")}


def test_stop_aborts_the_requests_in_flight_and_keeps_whole_batches(vllm_url):  # noqa: F811
    backend = RemoteBackend(vllm_url)
    backend.load()
    config = EvalConfig(family="maze", puzzles=32, samples=4, budgets=[None], temperature=0.8, seed=2, batch_rows=8)
    stop, first_batch, ended = threading.Event(), threading.Event(), threading.Event()
    seen: list[dict[str, float]] = []

    def watch() -> None:  # Stop while a batch's worth of requests runs on the server, once a batch is in
        while not (stop.is_set() or ended.is_set()):
            seen.append(metrics(vllm_url))
            if first_batch.is_set() and seen[-1]["running"] >= 8:
                stop.set()
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ev = Evaluation(backend, config, stop=stop, save=False)
    progress = []
    for line in ev.steps():
        progress.append(line)
        first_batch.set()
    ended.set()
    watcher.join(timeout=60)
    assert progress[0] == "budget unlimited: 2/32 puzzles", "progress after each batch"
    peak = max(m["running"] for m in seen)
    assert 8 < peak <= backend.max_in_flight, "the requests of several batches run on the server at once"
    assert ev.stopped and not backend.busy
    assert 8 <= len(ev.records) < 128 and len(ev.records) % 8 == 0, "whole batches only"
    for _ in range(120):  # the closed streams reach the server's engine as aborts
        after = metrics(vllm_url)
        if after["running"] == 0:
            break
        time.sleep(0.5)
    at_stop = seen[-1]
    assert after["running"] == 0
    assert after["finished"] - at_stop["finished"] < at_stop["running"], "the requests in flight were aborted"


def test_a_server_killed_mid_evaluation_gives_a_clear_error_and_keeps_what_was_done(vllm_server, tmp_path):  # noqa: F811
    if vllm_server.external:
        pytest.skip("PLAYGROUND_TEST_VLLM_URL names a server this test must not kill")
    url = vllm_server.ensure()
    backend = RemoteBackend(url, retries=2, timeout=30)
    backend.load()
    config = EvalConfig(family="maze", puzzles=40, samples=2, budgets=[None], temperature=0.8, batch_rows=4)
    ev = Evaluation(backend, config, out_dir=tmp_path / "run", stop=threading.Event())
    steps = ev.steps()
    next(steps)  # one batch is in
    vllm_server.kill()
    with pytest.raises(RuntimeError, match=f"The server at {url.removesuffix('/v1')}") as caught:
        for _ in steps:
            pass
    assert "after 3 tries" in str(caught.value) or "dropped the connection" in str(caught.value)
    kept = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert 4 <= len(kept) < 80 and len(kept) % 4 == 0, "whole batches only: nothing half-done is scored"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["retries"] == ev.retries > 0, "replies cut off by the kill were sent again, and counted"
    before = backend.retries
    with pytest.raises(RuntimeError, match="did not answer .* after 3 tries"):
        backend.generate(GenerationRequest(messages=[{"role": "user", "content": "hi"}]))
    assert backend.retries == before + 2

    done = cli("--server", url, "--family", "maze", "--puzzles", "2", "--no-progress", timeout=120)
    assert done.returncode == 1 and "The server at" in done.stderr and "Traceback" not in done.stderr
