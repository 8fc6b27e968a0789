"""Eight visitors at once on a launched app serving the embedded model, each its own `gradio_client` session streaming
its own puzzle through /chat (greedy): each gets exactly the reply its prompt gets alone; a Stop in one stops only
that one; a Load or "Use this adapter" in one changes only that one. Latencies and queue positions are printed, not
asserted."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client

from playground.generation.chat_session import message_text
from playground.puzzles import generate
from tests.ui_helpers import CHAT_SETTINGS, race_model

PUZZLES = [
    ("maze", 0),
    ("maze", 3),
    ("tsp", 0),
    ("tsp", 2),
    ("sat", 1),
    ("sat", 4),
    ("spatial_map", 1),
    ("spatial_map", 5),
]
BUDGETS = dict(think_budget=64, answer_budget=24)
ENDLESS = dict(budget_mode="extend", min_think=4000, think_budget=8192, answer_budget=4096)  # runs until stopped

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crowd_url(launch_app):
    """The app on the embedded model, with room for three models: the startup one, a visitor's Load and a visitor's
    adapter, all generating at once."""
    with launch_app("tiny", "--max-models", "3") as url:
        yield url


@pytest.fixture(scope="module")
def prompts():
    return [generate(family, 1, seed).prompt for family, seed in PUZZLES]


class Watched:
    """One /chat job and when things happened to it: submitted, first update, first streamed token, done; the
    highest queue position it was shown."""

    def __init__(self, client: Client, prompt: str, **settings):
        self.client, self.start = client, time.monotonic()
        self.job = client.submit(message=prompt, **{**CHAT_SETTINGS, **BUDGETS, **settings}, api_name="/chat")
        self.first = self.token = self.end = None
        self.rank = 0

    def poll(self) -> bool:
        """Record what changed since the last look; True once the job is done."""
        now = time.monotonic()
        status = self.job.status()
        self.rank = max(self.rank, (status.rank or 0) + 1 if status.rank is not None else 0)
        outputs = self.job.outputs()
        if outputs and self.first is None:
            self.first = now
        if self.token is None and any(len(o[0]) > 1 for o in outputs if isinstance(o[0], list)):
            self.token = now
        if self.job.done() and self.end is None:
            self.end = now
        return self.end is not None

    def result(self):
        history, _, stats = self.job.result(timeout=300)
        return reply(history), stats


def reply(history: list) -> list[str]:
    """Everything the model wrote in the last turn (thought and answer), as shown."""
    return [message_text(m) for m in history if m["role"] == "assistant"]


def run_all(watched: list[Watched], on_poll=lambda: None) -> None:
    while not all([w.poll() for w in watched]):
        on_poll()
        time.sleep(0.02)


def figures(name: str, watched: list[Watched]) -> None:
    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    for what, values in (
        ("reply", [w.end - w.start for w in watched]),
        ("first update (queue wait)", [w.first - w.start for w in watched if w.first]),
        ("first token", [w.token - w.start for w in watched if w.token]),
    ):
        print(f"{name:>10} {what:>26}: p50 {pct(values, 0.5):6.2f} s  p95 {pct(values, 0.95):6.2f} s  n={len(values)}")
    print(f"{name:>10} {'highest queue position':>26}: {max(w.rank for w in watched)}")


def test_eight_visitors_each_get_their_own_reply_stop_and_model(crowd_url, prompts, tiny_dir_plain, visitor_adapter):
    # each prompt answered alone, one after another: the reference replies
    alone_client = Client(crowd_url, verbose=False)
    alone = []
    for prompt in prompts:
        w = Watched(alone_client, prompt)
        run_all([w])
        alone.append(w)
    expected = [w.result()[0] for w in alone]
    assert len({str(r) for r in expected}) == len(prompts), "each puzzle gets its own reply"
    figures("alone", alone)

    # eight sessions at once; the first one thinks until it is stopped
    clients = [Client(crowd_url, verbose=False) for _ in prompts]
    crowd = [Watched(c, p, **(ENDLESS if i == 0 else {})) for i, (c, p) in enumerate(zip(clients, prompts))]
    stopped_while = []

    def stop_the_first():
        if not stopped_while and len(crowd[0].job.outputs()) >= 3:
            stopped_while.append(sum(not w.job.done() for w in crowd[1:]))
            clients[0].predict([], api_name="/stop")

    t0 = time.monotonic()
    run_all(crowd, stop_the_first)
    together_s = time.monotonic() - t0
    figures("together", crowd[1:])
    print(f"Stop pressed in session 0 while {stopped_while[0]} of the other 7 replies were still running")
    print(f"8 at once: {together_s:.1f} s; the same 8 one after another: {sum(w.end - w.start for w in alone):.1f} s")
    results = [w.result() for w in crowd]
    assert "stopped" in results[0][1]
    for i, (got, stats) in enumerate(results[1:], start=1):
        assert "stopped" not in stats, (i, stats)
        assert got == expected[i], f"session {i} got another reply than its prompt gets alone"

    # one session loads another model, another applies an adapter: only they change
    assert "Load failed" not in clients[1].predict(model=str(tiny_dir_plain), quant="auto", api_name="/load_model")[0]
    assert "visitor-run" in clients[2].predict(str(visitor_adapter), api_name="/on_use")
    crowd = [Watched(c, p) for c, p in zip(clients, prompts)]
    run_all(crowd)
    figures("3 models", crowd)
    results = [w.result() for w in crowd]
    for i, (got, _) in enumerate(results):
        if i in (1, 2):
            assert got != expected[i], f"session {i}'s own model answers"
        else:
            assert got == expected[i], f"session {i} is changed by another session's model"
    assert race_model(clients[1]) == str(tiny_dir_plain)
    assert race_model(clients[2]).endswith(" + visitor-run")
    assert race_model(clients[3]) == "tiny"
    # and their replies in the crowd are what their own models answer alone
    for i in (1, 2):
        w = Watched(clients[i], prompts[i])
        run_all([w])
        assert w.result()[0] == results[i][0]


def test_a_visitor_who_goes_away_mid_reply_frees_their_place(crowd_url, prompts):
    """A cancelled /chat (a closed tab, a dropped connection) ends its reply: the same session may ask again, and is
    answered the reply its prompt gets, instead of 'a reply is still being generated' forever."""
    client = Client(crowd_url, verbose=False)
    endless = Watched(client, prompts[0], **ENDLESS)
    while len(endless.job.outputs()) < 3:
        time.sleep(0.05)
    endless.job.cancel()
    deadline = time.monotonic() + 60
    while True:  # the cancel reaches the server a moment later; until then a new message is refused as busy
        again = Watched(client, prompts[1])
        run_all([again])
        history, _, stats = again.job.result(timeout=120)
        if isinstance(history, list) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert isinstance(history, list) and "thinking tokens" in stats, "the session stays busy after its visitor left"
