"""The Space: scripts/publish_space.py assembles a folder that holds the app, its packages and assets, with
Space.md as a README whose front matter a Space accepts, and the app starts from that folder alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from playground.models.presets import PRESETS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "publish_space.py"


def publish(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_assembled_space_starts_and_its_card_is_complete(tmp_path):
    out = tmp_path / "space"
    proc = publish(str(out), "--repo", "someone/reasoning-playground")
    assert proc.returncode == 0, proc.stderr
    assert f"hf upload someone/reasoning-playground {out} . --repo-type space" in proc.stdout
    names = {p.name for p in out.iterdir()}
    assert {"app.py", "playground", "training", "assets", "requirements.txt", "README.md"} <= names
    assert names <= {"app.py", "playground", "training", "assets", "requirements.txt", "README.md", ".space-build"}
    assert (out / "assets" / "tiny-reasoner" / "model.safetensors").is_file()
    assert (out / "playground" / "generation" / "zerogpu.py").is_file() and (out / "training" / "sft.py").is_file()
    assert not list(out.rglob("__pycache__")) and not (out / "tests").exists() and not (out / "runs").exists()

    readme = (out / "README.md").read_text()
    assert readme == (ROOT / "Space.md").read_text()
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["python_version"] == "3.11"  # a string: the Space's default 3.10 cannot run this code
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["suggested_hardware"]
    pin = next(line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("gradio=="))
    assert f"gradio=={meta['sdk_version']}" == pin
    assert sorted(meta["models"]) == sorted(p.hub_id for p in PRESETS.values())
    assert 0 < len(meta["short_description"]) <= 60 and meta["tags"] and meta["title"]

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    app = subprocess.run(
        [sys.executable, "app.py", "--help"], cwd=out, env=env, capture_output=True, text=True, timeout=120
    )
    assert app.returncode == 0 and "--model" in app.stdout and "--demo" in app.stdout, app.stderr
    # the folder's own packages are the ones imported, not the checkout's
    where = subprocess.run(
        [sys.executable, "-c", "import playground; print(playground.__file__)"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.strip().startswith(str(out))


def test_a_non_empty_folder_is_replaced_only_when_it_is_an_earlier_build(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    proc = publish(str(mine), "--force")
    assert proc.returncode == 2 and "not empty" in proc.stderr and (mine / "keep.txt").exists()
    build = tmp_path / "build"
    assert publish(str(build)).returncode == 0
    assert publish(str(build)).returncode == 2
    assert publish(str(build), "--force").returncode == 0 and (build / "README.md").is_file()
    assert publish(str(ROOT.parent)).returncode == 2  # never over the project


def test_on_a_space_the_app_listens_where_the_space_says(monkeypatch):
    import app

    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    args = app.parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 7861)
    monkeypatch.delenv("GRADIO_SERVER_NAME")
    monkeypatch.delenv("GRADIO_SERVER_PORT")
    assert (app.parse_args([]).host, app.parse_args(["--port", "9"]).port) == ("127.0.0.1", 9)


def test_the_assembled_space_serves_the_shared_demo(tmp_path):
    """The folder alone, run as a Space runs it (`python app.py`, SPACE_ID and the server address from the
    environment; here offline, on CPU): the page answers and says it is a shared demo."""
    import socket
    import time
    import urllib.request

    out = tmp_path / "space"
    assert publish(str(out)).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SPACE_ID="someone/reasoning-playground", GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    log = tmp_path / "space.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=out, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline, page = time.time() + 120, ""
        while time.time() < deadline and proc.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert page, log.read_text()[-3000:]
        assert "Shared demo" in page  # the limits line of a demo, on by itself on a Space
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "Traceback" not in log.read_text()
