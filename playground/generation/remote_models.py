"""The models a server serves, as the app's model cache names and opens them when the app runs on a server.

With `python app.py --server URL` every model a visitor can pick is one the server lists (`/v1/models`): a Load or
a race panel naming another model gets one of its backends (`RemoteBackend` on the same server), never weights
loaded here. A name picks a served model as `RemoteBackend.load` does (its id, its folder, a preset naming its hub
id, "tiny" for the embedded model); an adapter is a LoRA module the server serves under the run's name.
"""

from __future__ import annotations

from pathlib import Path

from playground.generation.openai_client import RemoteError
from playground.generation.pool import ModelKey, key_of, model_name
from playground.generation.remote import RemoteBackend
from playground.models.loading import ModelLoadError


class ServedModels:
    """The cache's keys and backends for the models served where `pinned` (the app's startup backend) points."""

    def __init__(self, pinned: RemoteBackend):
        self.pinned = pinned
        self.pinned_key = key_of(pinned.loaded)
        self._ids = {self.pinned_key.model: pinned.model}  # key's model name -> the served id

    def names(self) -> list[str]:
        """The served model ids (the startup model's alone when the server cannot be reached now)."""
        try:
            return [str(card.get("id")) for card in self.pinned.served()] or [self.pinned.model]
        except RemoteError:
            return [self.pinned.model]

    def key(self, name: str, adapter: str | None = None) -> ModelKey:
        """The key of the served model `name` ("current"/"auto": the startup one); ModelLoadError when the server
        does not serve it. Quantization and device are the server's: those of the startup model."""
        name = (name or "").strip()
        if name in ("", "auto", "current"):
            model = self.pinned_key.model
        elif name in self._ids:
            model = name
        else:
            try:
                cards = self.pinned.served()
            except RemoteError as err:
                raise ModelLoadError(str(err)) from err
            served_id = str(self.pinned._pick(cards, name).get("id"))
            model = model_name(served_id)
            self._ids[model] = served_id
        folder = str(Path(adapter).expanduser().resolve()) if adapter else None
        return self.pinned_key._replace(model=model, adapter=folder)

    def open(self, key: ModelKey) -> RemoteBackend:
        """A backend on the same server serving `key` (its adapter: the LoRA module the server serves for it)."""
        p = self.pinned
        served_id = self._ids.get(key.model, key.model)
        backend = RemoteBackend(
            p.server, served_id, p.client.api_key, p.path, p.max_in_flight, p.offline, p.client.tries - 1, p.timeout
        )
        backend.load(served_id)
        if key.adapter:
            backend.load_adapter(key.adapter)
        return backend
