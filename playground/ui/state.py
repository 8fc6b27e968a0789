"""What the tabs share and what each visitor has of their own.

`AppState` is built once per app: its options, the models in memory (`generation.pool.ModelCache`, shared by every
visitor; the startup model is pinned in it) and the visitors' stop events. `Visitor` is one visitor's own state, kept
per browser session in a `gr.State` (`AppState.visitor`): the model they chose (model + quantization + adapter), what
it is, and the result of their own last Load. Every tab resolves the engine it generates with from the visitor, so
one visitor's Load or adapter never changes another's model, banner or running reply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from playground.generation.backend import Backend, ModelInfo
from playground.generation.engine import Engine
from playground.generation.pool import (
    DEFAULT_CAPACITY,
    AllowList,
    ModelCache,
    ModelKey,
    VisitorPool,
    adapter_key,
)
from playground.generation.remote import RemoteBackend
from playground.models.loading import ModelLoadError
from playground.models.presets import PRESETS
from playground.ui.limits import DEMO, FULL, Limits

SESSIONS_KEPT = 10_000  # past this many sessions, those quiet for QUIET_S are forgotten (their line is long gone)
QUIET_S = 3600.0


@dataclass
class OnShow:
    """What a tab refreshes when it is shown (tab select and page load): `fn(*inputs)` → values for `outputs`.

    A tab builder may return one, so views of the visitor's model (e.g. after "Use this adapter") never go stale.
    """

    fn: Callable[..., object]
    outputs: list
    on_load: list[dict] = field(default_factory=list)  # page-load-only events, as keyword arguments of demo.load
    inputs: list = field(default_factory=list)
    link: object = None  # the tab's widgets a share link sets (share_wiring.LinkWidgets), if it has a Copy link button


@dataclass(frozen=True)
class Visitor:
    """One visitor's model choice and what they were told about it (never shared with another visitor). Its hash (how
    Gradio sees it change) covers the model and the notices."""

    key: ModelKey
    info: ModelInfo | None = field(hash=False)  # what the model is (kept when the cache frees it: loads again on use)
    notices: tuple[str, ...] = ()  # the result of this visitor's last Load, when it failed

    @property
    def name(self) -> str:
        return self.info.name if self.info else self.key.model


@dataclass
class AppState:
    """Shared by all tabs of one app. Stop events are per browser session (Gradio's session hash)."""

    engine: Backend  # the startup model's engine: pinned in the cache, every visitor's first model
    demo_mode: bool = False
    offline: bool = False
    quant: str = "auto"
    device: str = "auto"
    runs_dir: Path = Path("runs")
    max_models: int = DEFAULT_CAPACITY
    visitor: object = None  # the gr.State holding each session's Visitor (build_app creates it)
    cache: ModelCache = field(init=False)
    _stops: dict[str, threading.Event] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)
    _active: dict[str, float] = field(default_factory=dict)  # session → when a generation last began or ended
    _stopped: dict[str, float] = field(default_factory=dict)  # session → a Stop that found nothing running
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        allow = None
        if self.demo_mode:
            allow = AllowList(frozenset({"tiny", *PRESETS}), self.runs_dir)
        served = None
        if isinstance(self.engine, RemoteBackend):  # every model comes from the server
            from playground.generation.remote_models import ServedModels

            served = ServedModels(self.engine)
        self.cache = ModelCache(self.engine, self.max_models, self.offline, allow, served=served)

    @property
    def limits(self) -> Limits:
        return DEMO if self.demo_mode else FULL

    @property
    def default_model(self) -> str:
        """What the startup model was loaded from (the Train tab's default base before a visitor loads another)."""
        info = self.engine.describe()
        return info.source if info else "tiny"

    def served_names(self) -> list[str] | None:
        """The models the server lists when a server generates (what the pickers offer), else None."""
        return self.cache.served.names() if self.cache.served is not None else None

    # ------------------------------------------------------------ each visitor's model
    def first_visitor(self) -> Visitor:
        """A new visitor: on the startup model."""
        return Visitor(self.cache.pinned, self.engine.describe())

    def visitor_of(self, visitor: Visitor | None) -> Visitor:
        """The session's visitor (a fresh one for a session that has none yet)."""
        return visitor if isinstance(visitor, Visitor) else self.first_visitor()

    def load(self, visitor: Visitor | None, name: str, quant: str) -> Visitor:
        """The visitor on the model `name` (loaded into the cache if needed). ModelLoadError when it is refused or
        cannot load: then nothing changed for anyone (the caller keeps `visitor`, with the error as its notice)."""
        visitor = self.visitor_of(visitor)
        if not (name or "").strip():
            raise ModelLoadError("Pick a model first.")
        key = self.cache.key(name, quant, self.device)
        self.cache.check(key)  # refused before anything on the server is looked at
        return self._switch(key)

    def load_adapter(self, visitor: Visitor | None, adapter_dir: str) -> Visitor:
        """The visitor on base + the adapter folder (base: the one the adapter names, or the visitor's model)."""
        visitor = self.visitor_of(visitor)
        if self.demo_mode:
            raise ModelLoadError("This shared demo applies only adapters trained here.")
        if self.cache.served is not None:  # a LoRA module the server serves under the run's name
            return self._switch(self.cache.key(visitor.key.model, adapter=adapter_dir))
        engine = self.cache.peek(visitor.key)
        return self._switch(adapter_key(visitor.key, engine.loaded if engine else None, adapter_dir))

    def _switch(self, key: ModelKey) -> Visitor:
        with self.cache.using(key) as engine:
            return Visitor(key, engine.describe())

    def failed(self, visitor: Visitor | None, error: Exception) -> Visitor:
        """The visitor, unchanged but for a notice saying why their Load failed."""
        return replace(self.visitor_of(visitor), notices=(str(error),))

    @contextmanager
    def backend(self, visitor: Visitor | None) -> Iterator[Engine]:
        """The engine serving the visitor's model for the length of a `with` block (loaded again if the cache freed
        it; never freed meanwhile)."""
        with self.cache.using(self.visitor_of(visitor).key) as engine:
            yield engine

    def pool(self, visitor: Visitor | None) -> VisitorPool:
        """The engines a race of this visitor draws from ('current' = the visitor's model)."""
        return VisitorPool(self.cache, self.visitor_of(visitor).key, self.quant)

    # ------------------------------------------------------------ each session's running generation and Stop
    def begin(self, session: str, since: float | None = None) -> threading.Event | None:
        """Mark a session busy and give it a fresh stop event; None if it is already generating, or if it was when this
        request was made (`since`: when it joined the queue; it waited in line behind the session's own generation).
        A Stop that came after `since` while nothing ran (the request was waiting in line) is kept: the event is set
        already."""
        with self._guard:
            if session in self._busy:
                return None
            if since is not None and self._active.get(session, -1.0) > since:
                return None
            self._busy.add(session)
            self._active[session] = time.monotonic()
            event = self._stops[session] = threading.Event()
            stopped = self._stopped.pop(session, None)
            if since is not None and stopped is not None and stopped >= since:
                event.set()
            return event

    def is_busy(self, session: str) -> bool:
        """Whether the session is generating now."""
        with self._guard:
            return session in self._busy

    def generating(self) -> int:
        """How many sessions are generating now (their streamed updates share the server's CPU)."""
        with self._guard:
            return len(self._busy)

    def end(self, session: str) -> None:
        with self._guard:
            self._busy.discard(session)
            self._stops.pop(session, None)
            self._active[session] = time.monotonic()
            if len(self._active) > SESSIONS_KEPT:  # sessions come and go: forget the long quiet ones
                old = time.monotonic() - QUIET_S
                for table in (self._active, self._stopped):
                    for key in [k for k, t in table.items() if t < old and k not in self._busy]:
                        del table[key]

    def stop(self, session: str) -> bool:
        """Ask the session's running generation to stop; False when nothing was running (then the Stop is kept for a
        request of the session that was already waiting in line)."""
        with self._guard:
            event = self._stops.get(session)
            running = session in self._busy
            if not running:
                self._stopped[session] = time.monotonic()
        if event is not None and running:
            event.set()
        return running
