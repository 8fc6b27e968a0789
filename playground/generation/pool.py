"""The app's engine plus at most one other model, cached: what a side-by-side race generates with.

A race panel names its model ("current" = the app's loaded model, or a preset, hub id or folder) and optionally an
adapter. Panels on the loaded model share the app's `Engine` (it allows concurrent generations); a panel naming
another model or an adapter gets a second `Engine`, kept until a different one is asked for, so a race never holds
three models.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from playground.generation.engine import Engine
from playground.models.adapters import apply_adapter
from playground.models.loading import LoadedModel, ModelLoadError, load_model, unload
from playground.models.presets import EMBEDDED_NAMES

CURRENT = "current"  # a panel's model: whatever the app has loaded


class ModelChoice(Protocol):
    """What a panel asks for: a model name (or CURRENT) and an optional PEFT adapter folder on top."""

    model: str
    adapter: str | None


class EnginePool:
    """The app's engine (for 'current' and the loaded model's own name) plus at most one other model, cached.

    Asking for a different other model frees the cached one first; it is never freed while a race uses it.
    """

    def __init__(
        self,
        primary: Engine,
        quant: str = "auto",
        device: str = "auto",
        offline: bool = False,
        loader: Callable[..., LoadedModel] = load_model,
    ):
        self.primary = primary
        self.quant, self.device, self.offline = quant, device, offline
        self.loader = loader
        self.other: Engine | None = None
        self._other_key: tuple[str, str | None] | None = None
        self._users = 0  # races holding the other engine (it is never freed under them)
        self._guard = threading.Lock()

    def uses_primary(self, choice: ModelChoice) -> bool:
        """Whether `choice` is the app's loaded model as it is (no adapter added)."""
        if choice.adapter:
            return False
        name = (choice.model or "").strip()
        info = self.primary.describe()
        if name == CURRENT or info is None:
            return name == CURRENT
        if info.adapter:  # the loaded model carries an adapter: its base's name means the plain base
            return name == info.name
        return name in (info.name, info.source) or (name.lower() in EMBEDDED_NAMES and info.name == "tiny")

    def needs_load(self, choice: ModelChoice) -> bool:
        """Whether serving `choice` loads a model (so the caller can say so first)."""
        return not self.uses_primary(choice) and self.key(choice) != self._other_key

    def key(self, choice: ModelChoice) -> tuple[str, str | None]:
        """(model, adapter) of the other engine that serves `choice`."""
        model = (choice.model or "").strip()
        if model == CURRENT:  # an adapter on the current model: load its base again under the adapter
            info = self.primary.describe()
            if info is None:
                raise ModelLoadError("No model is loaded: pick one in the Chat tab first.")
            model = info.base_name or info.name  # its name, so the result is named "<base> + <run>" as in Chat
        return model, (choice.adapter or None)

    def engine_for(self, choice: ModelChoice) -> Engine:
        """The engine that serves `choice`, loading (and caching) another model when it names one.

        The other engine counts as in use until `done_with(engine)`; switching it meanwhile is refused.
        """
        if self.uses_primary(choice):
            return self.primary
        key = self.key(choice)
        with self._guard:
            if self.other is None or self._other_key != key:
                if self.other is not None and (self._users or self.other.busy):
                    raise RuntimeError(
                        f"Another race is using {self._other_key[0]}; only one extra model is kept in memory, "
                        "so wait for it or stop it."
                    )
                self._free()
                loaded = self.loader(key[0], self.quant, self.device, self.offline, fallback=False)
                if key[1]:
                    try:
                        apply_adapter(loaded, key[1])
                    except ModelLoadError:
                        unload(loaded)
                        raise
                self.other, self._other_key = Engine(loaded), key
            self._users += 1
            return self.other

    def done_with(self, engine: Engine) -> None:
        """A race no longer needs `engine` (from `engine_for`)."""
        with self._guard:
            if engine is self.other and self._users:
                self._users -= 1

    def _free(self) -> None:
        if self.other is not None:
            unload(self.other.loaded)
        self.other, self._other_key = None, None
