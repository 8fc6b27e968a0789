"""HTTP to an OpenAI-compatible server (vLLM, llama.cpp, SGLang, TGI): JSON calls, streamed events, retries.

`ServerClient` speaks plain HTTP through httpx (one pooled client, safe to share between threads). Failures that a
retry may cure (timeouts, dropped or refused connections, HTTP 429 and 5xx) are retried with exponential backoff and
counted in `retries`; what is still failing after the last try raises `RemoteError` with a message for the user.
A streamed call is retried only while nothing has arrived yet; `stream` stops reading, and closes the HTTP stream
(the server then aborts the request), as soon as the stop event is set or the caller closes the generator.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class RemoteError(RuntimeError):
    """The server could not be reached or refused a request; the message says which server and why. `retryable`:
    the request may succeed when sent again (a reply cut off midway; every other failure was already retried)."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class ServerClient:
    """Calls to one server under `base_url` (ending in /v1), with an optional bearer token."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 600.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_connections: int = 256,
    ):
        self.base_url = base_url.rstrip("/")
        self.tries = retries + 1
        self.backoff = backoff
        self.api_key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self.http = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=10.0), limits=limits)
        self.retries = 0  # requests tried again after a failure, since this client was made
        self._count = threading.Lock()

    @property
    def root(self) -> str:
        """The server's address without the /v1 suffix (where vLLM serves /tokenize and /health)."""
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------ plain calls
    def get(self, path: str, root: bool = False) -> Any:
        return self._call("GET", path, None, root)

    def post(self, path: str, body: dict, root: bool = False) -> Any:
        return self._call("POST", path, body, root)

    def _url(self, path: str, root: bool) -> str:
        return (self.root if root else self.base_url) + path

    def _call(self, method: str, path: str, body: dict | None, root: bool) -> Any:
        url = self._url(path, root)
        for attempt in range(self.tries):
            try:
                response = self.http.request(method, url, json=body)
            except httpx.TransportError as err:
                self._retry_or_raise(attempt, url, err)
                continue
            if response.status_code in RETRY_STATUS and attempt + 1 < self.tries:
                self._wait(attempt)
                continue
            return _json_or_raise(response, url)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ streamed calls
    def stream(self, path: str, body: dict, stop: threading.Event | None = None) -> Iterator[dict]:
        """POST with `"stream": true` and yield each server-sent JSON event until `[DONE]`. Retried while nothing
        has arrived; a stream that breaks after its first event raises RemoteError (what came is kept by the
        caller). Setting `stop` ends the stream at the next event and closes the connection."""
        url = self._url(path, False)
        body = {**body, "stream": True}
        for attempt in range(self.tries):
            received = False
            try:
                with self.http.stream("POST", url, json=body) as response:
                    if response.status_code != 200:
                        response.read()
                        if response.status_code in RETRY_STATUS and attempt + 1 < self.tries:
                            self._wait(attempt)
                            continue
                        _json_or_raise(response, url)
                    for line in response.iter_lines():
                        if stop is not None and stop.is_set():
                            return  # leaving the block closes the HTTP stream: the server aborts the request
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            return
                        event = json.loads(data)
                        if isinstance(event, dict) and "error" in event and "choices" not in event:
                            raise RemoteError(f"{url}: the server reported an error: {_error_text(event)}")
                        received = True
                        yield event
                    return
            except httpx.TransportError as err:
                if received:
                    message = f"{_where(url)} dropped the connection mid-reply ({_reason(err)})."
                    raise RemoteError(message, retryable=True) from err
                self._retry_or_raise(attempt, url, err)

    # ------------------------------------------------------------ retries
    def _retry_or_raise(self, attempt: int, url: str, err: Exception) -> None:
        if attempt + 1 >= self.tries:
            raise RemoteError(
                f"{_where(url)} did not answer ({_reason(err)}) after {self.tries} tries: is the server running "
                "and reachable from here?"
            ) from err
        self._wait(attempt)

    def wait(self, attempt: int) -> None:
        """Back off before try `attempt + 2` of something that failed, and count it as a retry."""
        self._wait(attempt)

    def _wait(self, attempt: int) -> None:
        with self._count:
            self.retries += 1
        time.sleep(self.backoff * 2**attempt)


def _where(url: str) -> str:
    """'The server at http://host:port' for a request URL."""
    parsed = httpx.URL(url)
    return f"The server at {parsed.scheme}://{parsed.host}{f':{parsed.port}' if parsed.port else ''}"


def _reason(err: Exception) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _error_text(payload: Any) -> str:
    """The message inside an OpenAI-style error body ({"error": {"message": ...}} or {"message": ...})."""
    if isinstance(payload, dict):
        inner = payload.get("error", payload)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner)
        return str(inner)
    return str(payload)


def _json_or_raise(response: httpx.Response, url: str) -> Any:
    """The response's JSON, or RemoteError with the server's own message for an HTTP error."""
    try:
        payload = response.json()
    except ValueError:
        payload = response.text[:500]
    if response.status_code >= 400:
        raise RemoteError(f"{url} answered HTTP {response.status_code}: {_error_text(payload)}")
    return payload
