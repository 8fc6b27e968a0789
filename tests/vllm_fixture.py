"""A real vLLM server on loopback serving the embedded tiny reasoner, shared by the remote tests of a session.

`vllm_server` makes the vLLM venv when it is missing (scripts/vllm_server.py; CI's .ci/run makes it beforehand) and
skips, saying why, only when that venv cannot be made. One server runs per test session; a test that kills it
(the killed-server test) leaves it to be started again by the next test that asks for it.
PLAYGROUND_TEST_VLLM_URL=http://127.0.0.1:PORT/v1 points the tests at a server already running (while developing
tests; CI starts its own). `launched_remote_app`
runs `python app.py --server URL` on a free port. Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import vllm_server as vllm_script  # noqa: E402
from ui_helpers import wait_until_serving  # noqa: E402

TINY = str(ROOT / "assets" / "tiny-reasoner")
PLAIN_API_KEY = "plain-server-key"
# a test server starts in ~50 s instead of ~85 s: no torch.compile warm-up, the model worker in the engine's process
FAST_START = ["--enforce-eager", "--distributed-executor-backend", "uni"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One vLLM process; `url` is its …/v1 address. `ensure()` (re)starts it when it is not running."""

    def __init__(self, log_dir: Path, reasoning: bool = True, api_key: str | None = None):
        self.log_dir, self.reasoning, self.api_key = log_dir, reasoning, api_key
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.url = os.environ.get("PLAYGROUND_TEST_VLLM_URL", "") if reasoning else ""
        self.external = bool(self.url)  # a server someone else started (while developing tests): never killed
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.log_dir / f"vllm-{'' if self.reasoning else 'plain-'}{self.starts}.log"

    def ensure(self) -> str:
        if self.external or (self.proc is not None and self.proc.poll() is None):
            return self.url
        self.starts += 1
        self.port = free_port()
        self.proc = vllm_script.start(
            TINY, self.port, self.log, reasoning=self.reasoning, api_key=self.api_key, extra_args=FAST_START
        )
        try:
            self.url = vllm_script.wait_ready(self.port, self.proc, timeout=600, api_key=self.api_key)
        except RuntimeError as err:
            self.stop()
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            pytest.fail(f"{err}\n{tail}")
        return self.url

    def kill(self) -> None:
        """SIGKILL the server and its engine processes, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


_SHARED: list[Server] = []  # one server for the whole session, whichever test module imported the fixture


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """The session's vLLM server (a `Server`; call `.ensure()` for its URL). Each module that imports this fixture
    gets its own copy of it; they all share one server, stopped when the session ends."""
    if not _SHARED:
        log_dir = tmp_path_factory.mktemp("vllm")
        if not os.environ.get("PLAYGROUND_TEST_VLLM_URL") and not vllm_script.is_installed():
            with open(log_dir / "install.log", "w") as log:
                try:
                    vllm_script.ensure_venv(log)
                except (subprocess.CalledProcessError, OSError) as err:
                    pytest.skip(f"the vLLM venv could not be made ({err}); see {log_dir / 'install.log'}")
        _SHARED.append(Server(log_dir))
    server = _SHARED[0]
    server.ensure()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain_vllm_server(vllm_server, tmp_path_factory):  # after the shared one: the venv is made
    """A second server without a reasoning parser (the thought stays in the content, no thinking_token_budget) that
    takes requests with the API key `PLAIN_API_KEY` only, for the test module that imports it; stopped when that
    module ends."""
    server = Server(tmp_path_factory.mktemp("vllm-plain"), reasoning=False, api_key=PLAIN_API_KEY)
    server.ensure()
    yield server
    server.stop()


@pytest.fixture
def vllm_url(vllm_server) -> str:
    """The running server's …/v1 address (started again if a test killed it)."""
    return vllm_server.ensure()


@contextlib.contextmanager
def launched_remote_app(tmp_path: Path, server_url: str):
    """`python app.py --server URL` on a free loopback port; yields the app's URL, then stops it and checks that
    its log holds no traceback."""
    port = free_port()
    log = tmp_path / "app.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    cmd = [sys.executable, "app.py", "--offline", "--server", server_url, "--port", str(port)]
    cmd += ["--runs-dir", str(tmp_path / "runs")]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(proc, url, log)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
