"""Side-by-side race: two configured panels answer the same puzzle at once, each judged by the family's verifier.

No Gradio here: the Puzzles tab, the tests and any script call `race(...)`, which runs both panels in threads
(each consuming `chat_session.stream_turn`) and merges their updates through a queue, so both chats stream
together. Panels that use the visitor's model share its one `Engine` (it allows concurrent generations); a panel
naming another model (or an adapter) gets its Engine from the app's shared model cache through
`generation.pool.VisitorPool`. After each panel ends, its answer is verified and its tokens and
time kept.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from playground.generation.chat_session import Message, TurnUpdate, stream_turn, user_message
from playground.generation.engine import Engine
from playground.generation.pool import CURRENT, VisitorPool
from playground.generation.request import GenerationRequest, GenerationStats
from playground.models.adapters import adapted_name
from playground.models.loading import ModelLoadError
from playground.puzzles import Instance, Verdict, get_family

PANELS = ("A", "B")


@dataclass
class PanelConfig:
    """How one panel answers: which model (and adapter), its thinking budget and mode, and how it samples."""

    model: str = CURRENT
    adapter: str | None = None  # a PEFT adapter folder applied on top of `model`
    think_budget: int | None = 256  # None = unlimited
    budget_mode: str = "hard"
    min_think: int = 0
    temperature: float = 0.6
    seed: int | None = None  # None = a fresh random seed
    answer_budget: int | None = 512

    def request(self, prompt: str) -> GenerationRequest:
        return GenerationRequest(
            messages=[{"role": "user", "content": prompt}],
            temperature=self.temperature,
            seed=self.seed,
            think_budget=self.think_budget,
            budget_mode=self.budget_mode,
            min_think=self.min_think if self.budget_mode == "extend" else 0,
            answer_budget=self.answer_budget,
        )

    def validate(self, panel: str = "") -> None:
        """Raise ValueError naming the panel for settings that make no sense."""
        where = f"Panel {panel}: " if panel else ""
        if not (self.model or "").strip():
            raise ValueError(f"{where}pick a model (or 'current').")
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"{where}the seed must be ≥ 0 (or empty for random).")
        try:
            self.request("?").validate()
        except ValueError as err:
            raise ValueError(f"{where}{err}") from err


@dataclass
class PanelResult:
    """A finished panel: what it generated and cost, and the verifier's judgement of its answer."""

    stats: GenerationStats
    verdict: Verdict
    answer: str


@dataclass
class PanelState:
    """What one panel shows right now."""

    name: str
    history: list[Message] = field(default_factory=list)
    status: str = "Waiting…"
    result: PanelResult | None = None
    error: str | None = None
    finished: bool = False
    model: str = ""


@dataclass
class RaceUpdate:
    """A snapshot of both panels, yielded whenever either changed; `changed` names the panels that did."""

    panels: dict[str, PanelState]
    changed: set[str] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(p.finished for p in self.panels.values())


_FINISHED = object()


def _copy_history(history: list[Message]) -> list[Message]:
    """A snapshot the worker thread can no longer mutate (stream_turn edits its messages in place)."""
    return [{**m, "metadata": dict(m["metadata"])} if "metadata" in m else dict(m) for m in history]


def _run_panel(
    name: str, engine: Engine, config: PanelConfig, instance: Instance, stop: threading.Event, out: queue.Queue
) -> None:
    """Worker thread: stream one panel's reply into `out`, then verify its answer."""
    try:
        history: list[Message] = [user_message(instance.prompt)]
        done: GenerationStats | None = None
        for update in stream_turn(engine, history, config.request(instance.prompt), stop):
            out.put((name, TurnUpdate(_copy_history(update.history), update.stats, update.notices, update.done)))
            done = update.done or done
        if done is not None:
            verdict = get_family(instance.family).verify(instance, done.answer)
            out.put((name, PanelResult(done, verdict, done.answer)))
    except Exception as err:  # shown in the panel; the other panel goes on
        out.put((name, err))
    finally:
        out.put((name, _FINISHED))


def race(
    pool: VisitorPool,
    instance: Instance,
    a: PanelConfig,
    b: PanelConfig,
    stop: threading.Event | None = None,
    min_interval: float = 0.08,
) -> Iterator[RaceUpdate]:
    """Run panels A and B on `instance` at once, yielding a snapshot of both whenever either changes (at most
    one per `min_interval` seconds: a small model makes hundreds of tokens a second, more than a browser redraws).

    Raises ValueError (bad settings) before anything runs. A panel whose model cannot be loaded ends with that
    error and the other panel runs on. Closing the generator early stops both panels.
    """
    configs = {"A": a, "B": b}
    for name, config in configs.items():
        config.validate(name)
    others = {pool.key(c) for c in configs.values() if not pool.uses_primary(c)}
    if len(others) > 1:
        raise ValueError(
            "Panels A and B name two different models besides the loaded one; only one extra model is kept in "
            "memory: set one panel to 'current'."
        )
    stop = stop or threading.Event()
    panels = {name: PanelState(name) for name in PANELS}
    engines: dict[str, Engine] = {}
    try:
        for name, config in configs.items():
            if pool.needs_load(config):
                model = pool.key(config)[0]
                what = adapted_name(model, config.adapter) if config.adapter else model
                panels[name].status = f"Loading {what}…"
                yield RaceUpdate(_snapshot(panels), {name})
            try:
                engines[name] = pool.engine_for(config)
            except ModelLoadError as err:  # this panel shows why; the other one races alone
                notices = _apply(panels[name], err) + _apply(panels[name], _FINISHED)
                yield RaceUpdate(_snapshot(panels), {name}, notices)
                continue
            info = engines[name].describe()
            panels[name].model = info.name if info else config.model
            panels[name].status = "Starting…"
        if engines:
            yield from _stream(instance, configs, engines, panels, stop, min_interval)
    finally:
        for engine in engines.values():
            pool.done_with(engine)


def _stream(
    instance: Instance,
    configs: dict[str, PanelConfig],
    engines: dict[str, Engine],
    panels: dict[str, PanelState],
    stop: threading.Event,
    min_interval: float,
) -> Iterator[RaceUpdate]:
    """Start one thread per panel and merge their updates (see `race`)."""
    out: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=_run_panel, args=(n, engines[n], configs[n], instance, stop, out), daemon=True)
        for n in engines
    ]
    for thread in threads:
        thread.start()
    yield RaceUpdate(_snapshot(panels), set(engines))
    last = time.monotonic()
    try:
        while not all(p.finished for p in panels.values()):
            items = [out.get()]
            # coalesce what arrives until the interval is over (never "until the queue is empty": two fast
            # panels can keep it filled forever)
            while (wait := last + min_interval - time.monotonic()) > 0:
                try:
                    items.append(out.get(timeout=wait))
                except queue.Empty:
                    break
            changed: set[str] = set()
            notices: list[str] = []
            for name, item in items:
                notices += _apply(panels[name], item)
                changed.add(name)
            yield RaceUpdate(_snapshot(panels), changed, notices)
            last = time.monotonic()
    finally:
        if not all(p.finished for p in panels.values()):
            stop.set()  # the caller went away: do not leave generations running
        for thread in threads:
            thread.join(timeout=30)


def _apply(panel: PanelState, item: Any) -> list[str]:
    """Fold one worker message into the panel's state; returns notices to surface."""
    if item is _FINISHED:
        panel.finished = True
        if panel.result is None and panel.error is None:
            panel.error = "The panel ended without a result."
        return []
    if isinstance(item, TurnUpdate):
        panel.history = item.history[1:]  # the puzzle itself is shown above both panels
        panel.status = item.stats or panel.status
        return [f"Panel {panel.name}: {n}" for n in item.notices]
    if isinstance(item, PanelResult):
        panel.result = item
        return []
    panel.error = str(item)
    panel.status = f"⚠️ {item}"
    return [f"Panel {panel.name}: {item}"]


def _snapshot(panels: dict[str, PanelState]) -> dict[str, PanelState]:
    return {
        n: PanelState(p.name, list(p.history), p.status, p.result, p.error, p.finished, p.model)
        for n, p in panels.items()
    }


__all__ = [
    "CURRENT",
    "VisitorPool",
    "PanelConfig",
    "PanelResult",
    "PanelState",
    "RaceUpdate",
    "race",
]
