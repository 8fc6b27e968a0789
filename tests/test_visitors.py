"""Many visitors at once: each has their own model, notices and Stop; loaded models are shared through a bounded cache;
a shared demo loads only its allow-list and caps what one request may ask for.

The cache and the session bookkeeping are checked on real tiny models; the rest on a launched app through two
`gradio_client` sessions and two browser contexts (each its own visitor)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time

import pytest
from gradio_client import Client

from playground.generation.engine import Engine
from playground.generation.pool import AllowList, ModelCache, VisitorPool, model_key
from playground.generation.request import GenerationRequest, ThinkingDelta
from playground.models.loading import ModelLoadError, load_model
from playground.ui.chat_settings import STREAM_INTERVAL_S, STREAM_UPDATES_PER_S, stream_interval
from playground.ui.limits import DEMO
from playground.ui.state import AppState
from tests.ui_helpers import CHAT_SETTINGS, open_tab, race_model

PROMPT = [{"role": "user", "content": "Is 91 prime?"}]


@pytest.fixture(scope="module")
def bad_model(tmp_path_factory):
    """A folder that looks like a model but whose config.json is `[]`: it fails deep inside transformers."""
    folder = tmp_path_factory.mktemp("bad-model")
    (folder / "config.json").write_text("[]")
    return folder


def _cache(tiny_dir, capacity=2, allow=None) -> ModelCache:
    return ModelCache(Engine(load_model(str(tiny_dir), device="cpu")), capacity, offline=True, allow=allow)


# ---------------------------------------------------------------- the shared cache


def test_visitors_on_the_same_model_share_it_and_the_cache_stays_bounded(tiny_dir, tiny_dir_plain, bad_model):
    cache = _cache(tiny_dir)
    pinned = cache.peek(cache.pinned)
    assert cache.pinned == model_key(str(tiny_dir), "auto", "cpu")  # "auto" resolves: the same key, shared
    plain = model_key(str(tiny_dir_plain), "none", "cpu")
    first, second = cache.acquire(plain), cache.acquire(plain)
    assert first is second and first is not pinned  # two visitors on one model: one copy of its weights
    assert cache.keys() == [cache.pinned, plain]

    # a third model while the second is in use: nothing may be freed, so it is refused and nothing changes
    third = model_key("tiny", "none", "cpu")
    with pytest.raises(ModelLoadError, match="at most 2 model"):
        cache.acquire(third)
    assert cache.keys() == [cache.pinned, plain] and first.loaded.model is not None

    # a model that fails to load (config.json is `[]`) changes nothing for anyone
    cache.release(first)
    cache.release(second)
    with pytest.raises(ModelLoadError, match="Could not load"):
        cache.acquire(model_key(str(bad_model), "none", "cpu"))
    assert cache.peek(cache.pinned) is pinned and pinned.loaded.model is not None

    # idle now: the least recently used model that is not pinned makes room; the startup model stays
    with cache.using(third) as tiny:
        assert tiny.describe().name == "tiny" and cache.keys() == [cache.pinned, third]
    assert pinned.loaded.model is not None and cache.peek(cache.pinned) is pinned


def test_a_generating_model_is_never_freed(tiny_dir, tiny_dir_plain):
    cache = _cache(tiny_dir_plain)
    other = model_key(str(tiny_dir), "none", "cpu")
    engine = cache.acquire(other)
    cache.release(engine)  # nobody holds it, but a generation runs on it (e.g. a race panel's thread)
    stop = threading.Event()
    request = GenerationRequest(PROMPT, think_budget=4000, budget_mode="extend", min_think=4000, answer_budget=8)
    stream = engine.stream(request, stop)
    assert isinstance(next(e for e in stream if isinstance(e, ThinkingDelta)), ThinkingDelta)
    with pytest.raises(ModelLoadError, match="in use"):
        cache.acquire(model_key("tiny", "none", "cpu"))
    stop.set()
    for _ in stream:
        pass
    assert engine.loaded.model is not None


def test_a_race_pool_names_models_relative_to_its_visitor(tiny_dir, tiny_dir_plain, visitor_adapter):
    from playground.evaluation.race import PanelConfig

    cache = _cache(tiny_dir, capacity=3)
    pool = VisitorPool(cache, cache.pinned, quant="auto")
    assert pool.uses_primary(PanelConfig(model="current")) and pool.uses_primary(PanelConfig(model=str(tiny_dir)))
    with_adapter = pool.key(PanelConfig(model="current", adapter=str(visitor_adapter)))
    assert with_adapter.model == cache.pinned.model and with_adapter.adapter == str(visitor_adapter.resolve())
    engine = pool.engine_for(PanelConfig(model="current", adapter=str(visitor_adapter)))
    assert engine.describe().name.endswith(" + visitor-run") and pool.needs_load(PanelConfig(model=str(tiny_dir_plain)))
    pool.done_with(engine)


def test_demo_refuses_anything_off_its_list_with_one_message(tiny_dir, tmp_path):
    allow = AllowList(frozenset({"tiny", "qwen3-0.6b"}), tmp_path)
    cache = _cache(tiny_dir, allow=allow)
    messages = set()
    for name in ("/etc", "/no/such/folder", "../../etc", str(tiny_dir_plain_like(tmp_path)), "someone/some-model"):
        with pytest.raises(ModelLoadError) as err:
            cache.acquire(model_key(name, "none", "cpu"))
        messages.add(str(err.value))
    assert messages == {allow.message}, messages  # nothing says whether a path exists
    assert "tiny" in allow.message and "/etc" not in allow.message
    with pytest.raises(ModelLoadError, match="adapters trained here"):
        cache.acquire(model_key("tiny", "none", "cpu", adapter="/etc"))
    assert cache.acquire(cache.pinned) is cache.peek(cache.pinned)  # the startup model is always allowed


def tiny_dir_plain_like(tmp_path):
    """An existing folder holding a model config: still off the list."""
    folder = tmp_path / "some-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return folder


# ---------------------------------------------------------------- one visitor's state and Stop


def test_a_visitors_load_and_adapter_change_only_that_visitor(engine, tiny_dir, bad_model, visitor_adapter, tmp_path):
    state = AppState(engine=engine, device="cpu", offline=True, runs_dir=tmp_path)
    a, b = state.first_visitor(), state.first_visitor()
    notices = list(engine.describe().notices)
    with pytest.raises(ModelLoadError) as err:
        state.load(a, str(bad_model), "auto")
    failed = state.failed(a, err.value)
    assert failed.key == a.key and failed.notices and not b.notices
    assert engine.describe().notices == notices  # the shared model carries no visitor's error
    adapted = state.load_adapter(a, str(visitor_adapter))
    assert adapted.name.endswith(" + visitor-run") and b.name == engine.describe().name
    with state.backend(b) as served:
        assert served is engine  # the other visitor still generates on the startup model
    with state.backend(adapted) as served:
        assert served is not engine and served.describe().adapter == str(visitor_adapter.resolve())


def test_a_stop_while_waiting_in_line_stops_the_request_when_it_starts(engine):
    state = AppState(engine=engine)
    queued_at = time.monotonic()  # the request joins the queue, then Stop comes before its handler starts
    assert state.stop("s") is False
    event = state.begin("s", queued_at)
    assert event is not None and event.is_set()
    state.end("s")
    later = state.begin("s", time.monotonic())  # a Stop from before a request was made does not touch it
    assert later is not None and not later.is_set()
    # a request made while the session generated (it waited in line behind it) is refused when its turn comes
    made_while_busy = time.monotonic()
    state.end("s")
    assert state.begin("s", made_while_busy) is None
    assert state.begin("other", made_while_busy) is not None  # other sessions are not affected


def test_replies_streaming_at_once_share_the_page_updates(engine):
    state = AppState(engine=engine)
    history = [{"role": "user", "content": "Which is larger, 9.11 or 9.9?"}]
    alone = stream_interval(history, state.generating())
    sessions = [f"visitor-{i}" for i in range(8)]
    for session in sessions:
        assert state.begin(session) is not None
    assert state.generating() == 8
    crowded = stream_interval(history, state.generating())
    assert alone == STREAM_INTERVAL_S and crowded > alone
    assert 8 / crowded <= STREAM_UPDATES_PER_S  # the server's update rate stays bounded whatever the crowd
    for session in sessions:
        state.end(session)
    assert state.generating() == 0 and stream_interval(history, state.generating()) == alone


def test_demo_limits_cap_budgets_and_evaluations():
    from playground.ui.evaluate import eval_config

    with pytest.raises(ValueError, match="up to 2,048"):
        DEMO.check_budgets(None, 64)  # unlimited thinking
    with pytest.raises(ValueError, match="up to 1,024"):
        DEMO.check_budgets(64, 4096)
    DEMO.check_budgets(2048, 1024)
    form = dict(
        family="maze",
        levels=[1],
        puzzles=10,
        samples=4,
        budgets=["0", "128"],
        extra_budgets="",
        temperature=0.8,
        seed=0,
        first_seed=0,
        budget_mode="hard",
        answer_budget=512,
    )
    eval_config(form, DEMO)
    for bad in (dict(puzzles=500), dict(samples=64), dict(budgets=["unlimited"]), dict(answer_budget=4096)):
        with pytest.raises(ValueError):
            eval_config({**form, **bad}, DEMO)
    assert "2,048" in DEMO.summary() and "training is off" in DEMO.summary()


# ---------------------------------------------------------------- two real sessions on a launched app


@contextlib.contextmanager
def _space(launch_app, model):
    """The app as a Hugging Face Space runs it (SPACE_ID set: demo mode without the flag)."""
    os.environ["SPACE_ID"] = "someone/playground"
    try:
        with launch_app(model) as url:
            yield url
    finally:
        del os.environ["SPACE_ID"]


def test_two_sessions_keep_their_own_model_and_notices(app_url, tiny_dir, visitor_adapter):
    a, b = Client(app_url, verbose=False), Client(app_url, verbose=False)
    banner = a.predict(model="/no/such/model-folder", quant="auto", api_name="/load_model")[0]
    assert "Could not load" in banner
    clean = b.predict(model=str(tiny_dir), quant="auto", api_name="/load_model")[0]
    assert "Could not load" not in clean and "Load failed" not in clean
    # "Use this adapter" in A: A's races run on base + adapter, B's still on the plain model
    assert "visitor-run" in a.predict(str(visitor_adapter), api_name="/on_use")
    assert race_model(a).endswith(" + visitor-run")
    assert race_model(b) == str(tiny_dir)


def test_another_visitors_load_never_interrupts_a_reply(app_url, tiny_dir_plain):
    a, b = Client(app_url, verbose=False), Client(app_url, verbose=False)
    assert "<code>tiny</code>" in a.predict(model="tiny", quant="auto", api_name="/load_model")[0]
    long = dict(CHAT_SETTINGS, temperature=0.8, budget_mode="extend", min_think=4000)
    job = a.submit(message="think long", **long, think_budget=8192, answer_budget=4096, api_name="/chat")
    while len(job.outputs()) < 3:
        time.sleep(0.05)
    # the app keeps two models (its startup one and A's, generating): B's third one is refused, A's reply goes on
    banner = b.predict(model=str(tiny_dir_plain), quant="auto", api_name="/load_model")[0]
    assert "at most 2 model" in banner
    seen = len(job.outputs())
    time.sleep(1.0)
    assert not job.done() and len(job.outputs()) > seen
    a.predict([], api_name="/stop")
    _, _, stats = job.result(timeout=120)
    assert "stopped" in stats
    # A's reply has ended: now B's model can take the place of A's (idle) one
    assert "Load failed" not in b.predict(model=str(tiny_dir_plain), quant="auto", api_name="/load_model")[0]


def test_a_stop_while_an_evaluation_waits_in_line_means_it_never_runs(app_url):
    a, b = Client(app_url, verbose=False), Client(app_url, verbose=False)
    form = dict(
        family="maze",
        levels=[1],
        puzzles=20,
        samples=8,
        budgets=["unlimited"],
        temperature=0.8,
        seed=0,
        extra_budgets="",
        budget_mode="extend",
        answer_budget=4096,
        first_seed=0,
    )
    running = a.submit(**form, api_name="/evaluate")
    while not running.outputs():
        time.sleep(0.05)
    waiting = b.submit(**{**form, "puzzles": 1, "samples": 1}, api_name="/evaluate")  # one evaluation at a time
    time.sleep(1.0)
    assert not waiting.outputs()
    b.predict(api_name="/stop_evaluate")  # B's run has not started: nothing runs in B's session yet
    a.predict(api_name="/stop_evaluate")
    assert waiting.result(timeout=120)[0] == "Stopped before the run started."
    assert "Stopped" in running.result(timeout=120)[0]


def test_demo_refuses_folders_and_hub_ids_alike_and_caps_requests(launch_app, tiny_dir):
    with _space(launch_app, str(tiny_dir)) as url:
        client = Client(url, verbose=False)
        errors = set()
        for name in ("/etc", "/no/such/folder", "../../etc", str(tiny_dir.parent), "someone/some-model"):
            banner = client.predict(model=name, quant="auto", api_name="/load_model")[0]
            errors.add(next(line for line in banner.splitlines() if line.startswith("> ⚠️ **Load failed:**")))
        assert len(errors) == 1 and "loads only these models" in errors.pop()
        ok = client.predict(model="tiny", quant="auto", api_name="/load_model")[0]
        assert "Load failed" not in ok and "<code>tiny</code>" in ok
        # (a slider value over the cap, e.g. thinking 8192 = unlimited, is refused by Gradio's own check of the
        # slider's maximum, which logs a traceback; the handlers' own check is tested above)
        _, _, stats = client.predict(message="hi", **CHAT_SETTINGS, think_budget=16, answer_budget=8, api_name="/chat")
        assert "thinking tokens" in stats  # within the caps: answered
        form = dict(
            family="maze",
            levels=[1, 2],
            puzzles=50,
            samples=16,
            budgets=["0"],
            temperature=0.8,
            seed=0,
            extra_budgets="",
            budget_mode="hard",
            answer_budget=512,
            first_seed=0,
        )
        status = client.predict(**form, api_name="/evaluate")[0]  # each count within its slider, too many in all
        assert "too large" in status and "1,600" in status
        status = client.predict(**{**form, "levels": [1], "puzzles": 1, "extra_budgets": "5000"}, api_name="/evaluate")
        assert "up to 2,048 tokens" in status[0]  # a budget typed by hand


# ---------------------------------------------------------------- two browsers


def test_two_browsers_see_only_their_own_load_errors(browser, app_url, artifacts):
    from playwright.sync_api import expect

    one, two = browser.new_context(viewport={"width": 1280, "height": 900}), browser.new_context()
    try:
        a, b = one.new_page(), two.new_page()
        for page in (a, b):
            page.goto(app_url)
            page.locator("#model-banner").wait_for(timeout=60_000)
        picker = a.locator("#model-picker input")
        picker.fill("/no/such/model-folder")
        picker.press("Enter")
        a.click("#load")
        expect(a.locator("#model-banner")).to_contain_text("Could not load", timeout=60_000)
        b.reload()  # a fresh page of the other visitor, and the tab shown again: still clean
        b.locator("#model-banner").wait_for(timeout=60_000)
        open_tab(b, "Puzzles", "#run-both")
        open_tab(b, "Chat", "#model-banner")
        assert "Could not load" not in b.locator("#model-banner").inner_text()
        a.screenshot(path=str(artifacts / "visitors_failed_load_desktop.png"), full_page=True)
        b.set_viewport_size({"width": 390, "height": 844})
        b.screenshot(path=str(artifacts / "visitors_other_visitor_phone.png"), full_page=True)
    finally:
        one.close()
        two.close()


def test_demo_page_shows_its_caps(browser, launch_app, tiny_dir, artifacts):
    with _space(launch_app, str(tiny_dir)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url)
            caps = page.locator("#demo-limits")
            caps.wait_for(timeout=60_000)
            assert "2,048" in caps.inner_text() and "training is off" in caps.inner_text()
            assert "at most 2,048" in page.locator("#think-budget").inner_text()
            page.screenshot(path=str(artifacts / "visitors_demo_desktop.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(artifacts / "visitors_demo_phone.png"), full_page=True)
        finally:
            page.close()


def test_a_second_evaluation_shows_its_place_in_line_and_stop_cancels_it(browser, app_url, artifacts):
    from playwright.sync_api import expect

    from tests.ui_helpers import set_number

    one, two = (browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2))
    try:
        a, b = one.new_page(), two.new_page()
        for page in (a, b):
            page.goto(app_url)
            open_tab(page, "Evaluate", "#eval-run")
        set_number(a, "#eval-puzzles", 50)
        a.click("#eval-run")
        expect(a.locator("#eval-status")).to_contain_text("starting", timeout=60_000)
        b.click("#eval-run")  # one evaluation runs at a time: B waits in line and sees where
        expect(b.locator("#eval-status")).to_contain_text("queue: 1/1", timeout=30_000)
        b.evaluate("window.scrollTo(0, 0)")
        b.locator("#eval-status").screenshot(path=str(artifacts / "visitors_queue_position.png"))
        b.click("#eval-stop")
        a.click("#eval-stop")
        expect(b.locator("#eval-status")).to_contain_text("Stopped before the run started.", timeout=120_000)
        expect(a.locator("#eval-status")).to_contain_text("Stopped in", timeout=120_000)
    finally:
        one.close()
        two.close()
