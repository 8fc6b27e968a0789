"""What every tab shares: the engine (the backend serving one model), the app's options, per-session stop events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playground.generation.backend import Backend


@dataclass
class OnShow:
    """What a tab refreshes when it is shown (tab select and page load): `fn()` → values for `outputs`.

    A tab builder may return one, so views of shared state (the loaded model, adapters) never go stale.
    """

    fn: Callable[[], object]
    outputs: list
    on_load: list[dict] = field(default_factory=list)  # page-load-only events, as keyword arguments of demo.load


@dataclass
class AppState:
    """Shared by all tabs of one app. Stop events are per browser session (Gradio's session hash)."""

    engine: Backend  # the local Engine, or any other implementation of the protocol
    demo_mode: bool = False
    offline: bool = False
    quant: str = "auto"
    device: str = "auto"
    runs_dir: Path = Path("runs")
    _stops: dict[str, threading.Event] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def default_model(self) -> str:
        """What the loaded model was loaded from (the Train tab's default base)."""
        info = self.engine.describe()
        return info.source if info else "tiny"

    def begin(self, session: str) -> threading.Event | None:
        """Mark a session busy and give it a fresh stop event; None if it is already generating."""
        with self._guard:
            if session in self._busy:
                return None
            self._busy.add(session)
            self._stops[session] = threading.Event()
            return self._stops[session]

    def is_busy(self, session: str) -> bool:
        """Whether the session is generating now."""
        with self._guard:
            return session in self._busy

    def end(self, session: str) -> None:
        with self._guard:
            self._busy.discard(session)

    def stop(self, session: str) -> bool:
        """Ask the session's running generation to stop; False when nothing was running."""
        with self._guard:
            event = self._stops.get(session)
            running = session in self._busy
        if event is not None:
            event.set()
        return running
