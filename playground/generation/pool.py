"""The models the app holds in memory, shared by its visitors: a bounded cache of `Engine`s keyed by what was asked for.

Each visitor names a model (model + quantization + device + adapter, a `ModelKey`); visitors naming the same one
share one `Engine` (it allows concurrent generations). The cache keeps at most `capacity` models: loading another
first frees the least recently used one that nothing uses (an engine is in use from `acquire` to `release`, e.g. for
a whole reply or evaluation, and while it generates), never the app's startup model (pinned). A model that fails to
load changes nothing for anyone: nobody's engine is swapped, and the caller gets a `ModelLoadError`.

With an allow-list (a shared demo) only the listed names load, and adapters only from one folder; anything else is
refused with one message that says nothing about what exists on the server.

`VisitorPool` is what a side-by-side race draws its engines from: one visitor's model ("current") and any other
model or adapter a panel names, through the same cache.

When a server generates (`--server`), the cache holds `served` (`remote_models.ServedModels`): names resolve to the
models the server lists and each one is a backend on that server, never weights loaded here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from playground.generation.engine import Engine
from playground.generation.zerogpu import wrap_for_space
from playground.models.adapters import apply_adapter, base_for, require_adapter
from playground.models.loading import (
    LoadedModel,
    ModelLoadError,
    existing_path,
    load_model,
    resolve_device,
    resolve_quant,
    unload,
)
from playground.models.presets import EMBEDDED_NAMES, find_preset

CURRENT = "current"  # a race panel's model: whatever its visitor has loaded
DEFAULT_CAPACITY = 2  # models kept in memory, the startup model included


class ModelKey(NamedTuple):
    """What identifies a model in memory: its normalized name, resolved quantization and device, adapter folder."""

    model: str
    quant: str
    device: str
    adapter: str | None = None


def model_name(name: str) -> str:
    """One spelling per model: the embedded names → 'tiny', a preset or its hub id → the preset's name, an existing
    folder → its absolute path; anything else (a hub id) as given."""
    name = (name or "").strip()
    if name.lower() in EMBEDDED_NAMES:
        return "tiny"
    preset = find_preset(name)
    if preset is not None:
        return preset.name
    path = existing_path(name)
    return str(path.resolve()) if path is not None and path.is_dir() else name


def model_key(name: str, quant: str = "auto", device: str = "auto", adapter: str | None = None) -> ModelKey:
    """The key of `name` loaded with `quant` on `device` (both resolved, so 'auto' shares with what it means)."""
    device = resolve_device(device)
    return ModelKey(model_name(name), resolve_quant(quant, device), device, _folder(adapter))


def _folder(adapter: str | None) -> str | None:
    return str(Path(adapter).expanduser().resolve()) if adapter else None


def key_of(loaded: LoadedModel) -> ModelKey:
    """The key of a model already loaded (e.g. the app's startup model)."""
    name = loaded.base_name if loaded.adapter else loaded.name
    return ModelKey(model_name(name), loaded.quant, loaded.device, loaded.adapter)


@dataclass
class AllowList:
    """What a shared demo may load: these model names (normalized by `model_name`) and adapters under `adapters`."""

    models: frozenset[str]
    adapters: Path | None = None

    @property
    def message(self) -> str:
        names = ", ".join(sorted(self.models, key=lambda n: (n != "tiny", n)))
        return f"This shared demo loads only these models: {names}."

    def check(self, key: ModelKey) -> None:
        """ModelLoadError (the same message whatever was asked for) unless `key` is allowed."""
        if key.model not in self.models:
            raise ModelLoadError(self.message)
        if key.adapter is not None:
            root = self.adapters.resolve() if self.adapters else None
            if root is None or not Path(key.adapter).is_relative_to(root):
                raise ModelLoadError("This shared demo applies only adapters trained here.")


@dataclass
class _Entry:
    engine: Engine
    users: int = 0

    @property
    def idle(self) -> bool:
        return self.users == 0 and not self.engine.busy


class Served(Protocol):
    """The models a server serves, as the cache names and opens them (`remote_models.ServedModels`)."""

    def names(self) -> list[str]: ...

    def key(self, name: str, adapter: str | None = None) -> ModelKey: ...

    def open(self, key: ModelKey) -> Engine: ...


class ModelCache:
    """At most `capacity` models in memory, shared by everyone who names the same `ModelKey` (see the module)."""

    def __init__(
        self,
        pinned: Engine,
        capacity: int = DEFAULT_CAPACITY,
        offline: bool = False,
        allow: AllowList | None = None,
        loader: Callable[..., LoadedModel] = load_model,
        served: Served | None = None,
    ):
        if pinned.loaded is None:
            raise ValueError("the cache's pinned engine has no model")
        self.capacity = max(1, int(capacity))
        self.offline, self.allow, self.loader, self.served = offline, allow, loader, served
        self.pinned = key_of(pinned.loaded)
        self._entries: OrderedDict[ModelKey, _Entry] = OrderedDict({self.pinned: _Entry(pinned)})
        self._loading = 0  # loads under way: they hold a place
        self._guard = threading.Lock()
        self._key_locks: dict[ModelKey, threading.Lock] = {}

    def keys(self) -> list[ModelKey]:
        """The models in memory, least recently used first."""
        with self._guard:
            return list(self._entries)

    def key(self, name: str, quant: str = "auto", device: str = "auto", adapter: str | None = None) -> ModelKey:
        """The key of `name` in this cache: `model_key`, or the served model's (the server's quantization and
        device) when a server generates."""
        if self.served is not None:
            return self.served.key(name, adapter)
        return model_key(name, quant, device, adapter)

    def peek(self, key: ModelKey) -> Engine | None:
        """The engine serving `key` if it is in memory (nothing is loaded)."""
        with self._guard:
            entry = self._entries.get(key)
            return entry.engine if entry else None

    def check(self, key: ModelKey) -> None:
        """ModelLoadError when the allow-list refuses `key` (nothing is touched)."""
        if self.allow is not None and key != self.pinned:
            self.allow.check(key)

    def acquire(self, key: ModelKey) -> Engine:
        """The engine serving `key`, loaded when it is not in memory; it counts as in use until `release`.
        ModelLoadError when it is refused or cannot be loaded, or when every place is taken by a model in use."""
        self.check(key)
        with self._guard:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # two visitors asking for the same model at once load it once
            with self._guard:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.users += 1
                    self._entries.move_to_end(key)
                    return entry.engine
                freed = self._make_room()
                self._loading += 1
            try:
                for old in freed:
                    unload(old.loaded)
                if self.served is not None:
                    engine = self.served.open(key)
                else:
                    engine = wrap_for_space(Engine(self._load(key)))  # a no-op off ZeroGPU
            finally:
                with self._guard:
                    self._loading -= 1
            with self._guard:
                self._entries[key] = _Entry(engine, users=1)
            return engine

    def release(self, engine: Engine) -> None:
        """`engine` (from `acquire`) is no longer needed by its caller."""
        with self._guard:
            for entry in self._entries.values():
                if entry.engine is engine and entry.users:
                    entry.users -= 1
                    return

    @contextmanager
    def using(self, key: ModelKey) -> Iterator[Engine]:
        """`acquire(key)` for the length of a `with` block."""
        engine = self.acquire(key)
        try:
            yield engine
        finally:
            self.release(engine)

    def _make_room(self) -> list[Engine]:
        """Take idle models out (least recently used first) until one more fits; called under the guard."""
        freed = []
        while len(self._entries) + self._loading >= self.capacity:
            victim = next((k for k, e in self._entries.items() if k != self.pinned and e.idle), None)
            if victim is None:
                names = ", ".join(self._label(k) for k in self._entries)
                raise ModelLoadError(
                    f"This server keeps at most {self.capacity} model(s) in memory and all are in use right now "
                    f"({names}): try again when a reply ends, or pick one of them."
                )
            freed.append(self._entries.pop(victim).engine)
        return freed

    def _load(self, key: ModelKey) -> LoadedModel:
        loaded = self.loader(key.model, key.quant, key.device, self.offline, fallback=False)
        if key.adapter:
            try:
                apply_adapter(loaded, key.adapter)
            except BaseException:
                unload(loaded)
                raise
        return loaded

    @staticmethod
    def _label(key: ModelKey) -> str:
        return f"{key.model} + {Path(key.adapter).name}" if key.adapter else key.model


class PanelChoice(Protocol):
    """What a race panel asks for: a model name (or CURRENT) and an optional PEFT adapter folder on top."""

    model: str
    adapter: str | None


class VisitorPool:
    """One visitor's engines for a race: "current" is the visitor's model, any other name or adapter comes from the
    shared cache (with the app's quantization, or the visitor's when it names the visitor's own model)."""

    def __init__(self, cache: ModelCache, current: ModelKey, quant: str = "auto"):
        self.cache, self.current, self.quant = cache, current, quant

    def key(self, choice: PanelChoice) -> ModelKey:
        """The model that serves `choice`."""
        name = (choice.model or "").strip()
        adapter = (choice.adapter or "").strip() or None
        if name == CURRENT:
            return self.current._replace(adapter=_folder(adapter)) if adapter else self.current
        own = model_name(name) == self.current.model
        return self.cache.key(name, self.current.quant if own else self.quant, self.current.device, adapter)

    def uses_primary(self, choice: PanelChoice) -> bool:
        """Whether `choice` is the visitor's own model as it is."""
        return self.key(choice) == self.current

    def needs_load(self, choice: PanelChoice) -> bool:
        """Whether serving `choice` loads a model (so the caller can say so first)."""
        return self.cache.peek(self.key(choice)) is None

    def engine_for(self, choice: PanelChoice) -> Engine:
        """The engine serving `choice`, in use until `done_with(engine)`."""
        return self.cache.acquire(self.key(choice))

    def done_with(self, engine: Engine) -> None:
        self.cache.release(engine)


def adapter_key(current: ModelKey, loaded: LoadedModel | None, adapter_dir: str) -> ModelKey:
    """The key of an adapter put on a visitor's model: the base it names (or the visitor's model) with the adapter."""
    path = require_adapter(adapter_dir)
    base = base_for(path, loaded)
    return model_key(base, current.quant, current.device, str(path))
