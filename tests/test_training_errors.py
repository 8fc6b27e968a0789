"""training.sft's own failures read as one message (no config file, a config that is not a mapping), and the memory
it reports is its own, not the peak of the process that launched it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def sft(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "training.sft", *args]
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)


def test_a_config_in_a_missing_folder_is_one_line(tmp_path):
    out = sft(str(tmp_path / "no-such-run" / "config.yaml"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == f"[sft] error: no config file at {tmp_path / 'no-such-run' / 'config.yaml'}"
    assert not (tmp_path / "no-such-run").exists()


def test_a_config_that_is_not_a_mapping_fails_with_its_message(tmp_path):
    (tmp_path / "config.yaml").write_text("[]\n")
    out = sft(str(tmp_path / "config.yaml"))
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "failed" and status["error"].startswith("ConfigError: ")


def test_the_child_reports_its_own_peak_memory_not_its_parents(tmp_path):
    """A parent that once held ~1 GB launches a child like the runner does: the child's reading is its own."""
    parent = """
import resource, subprocess, sys
big = bytearray(1_000_000_000)  # touched: resident
for i in range(0, len(big), 4096):
    big[i] = 1
del big
child = "from training.progress import peak_rss_gb; import resource; "
child += "print(peak_rss_gb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)"
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout)
"""
    out = subprocess.run([sys.executable, "-c", parent], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    own, inherited = map(float, out.stdout.split())
    assert inherited > 0.9  # what getrusage says in the child: the parent's peak
    assert own < 0.5  # a python child that imported training.sft (torch is imported lazily)
