"""How large an evaluation may be, where it is saved, and what it says about it: oversized requests are refused
before anything runs, a run stopped before any batch completed leaves no folder, run folders stay inside the runs
folder (a link already there is never followed), and a bad output folder is one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from playground.evaluation.config import DEMO_LIMITS, LIMITS, EvalConfig, limits_for
from playground.evaluation.run import Evaluation, run_evaluation

ROOT = Path(__file__).resolve().parent.parent
HUGE = dict(family="maze", levels=[1, 2, 3], puzzles=200, samples=64, budgets=list(range(20_001)))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small(**changes) -> EvalConfig:
    base = dict(family="maze", levels=[1], puzzles=2, samples=2, budgets=[0, 8], answer_budget=8, seed=1)
    return EvalConfig(**{**base, **changes})


def test_a_huge_request_is_refused_naming_each_count_over(engine, tmp_path):
    for limits in (LIMITS, DEMO_LIMITS):
        with pytest.raises(ValueError) as err:
            Evaluation(engine, EvalConfig(**HUGE), runs_dir=tmp_path, limits=limits)
        text = str(err.value)
        assert text.startswith("This evaluation is too large") and "20,001 thinking budgets" in text
        assert "768,038,400 generations" in text
    assert "64 samples per puzzle (at most 16)" in text and "200 puzzles per level (at most 50)" in text
    assert list(tmp_path.iterdir()) == []
    assert limits_for(True) is DEMO_LIMITS and limits_for(False) is LIMITS
    # the demo's limits are what a visitor gets; the same request within them passes
    EvalConfig(family="maze", levels=[1, 2], puzzles=20, samples=8, budgets=[0, 128, None]).validate(DEMO_LIMITS)
    with pytest.raises(ValueError, match="rows per batch"):
        small(batch_rows=10_000).validate()


def test_cli_refuses_a_huge_request_in_one_line_before_loading(tmp_path):
    budgets = ",".join(map(str, range(20_001)))
    cmd = [sys.executable, "-m", "playground.evaluation", "--family", "maze", "--levels", "1,2,3", "--puzzles", "200"]
    cmd += ["--samples", "64", "--budgets", budgets, "--runs-dir", str(tmp_path), "--model", "/nonexistent"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr  # refused as bad input, before the (unloadable) model is tried
    assert proc.stderr.strip().count("\n") == 0 and "too large" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_run_stopped_before_any_batch_leaves_no_folder(engine, tmp_path):
    stop = threading.Event()
    stop.set()
    ev = Evaluation(engine, small(), runs_dir=tmp_path, stop=stop)
    assert list(ev.steps()) == []
    assert ev.stopped and ev.records == [] and ev.out_dir is None
    assert list(tmp_path.iterdir()) == []
    assert ev.saved_message() == "Nothing was complete, so nothing was saved."
    # stopped during its first batch (the model is generating): still nothing complete, still no folder
    stop = threading.Event()
    ev = Evaluation(engine, small(answer_budget=None, budgets=[None]), runs_dir=tmp_path, stop=stop)
    threading.Timer(0.3, stop.set).start()
    assert list(ev.steps()) == [] and ev.stopped and list(tmp_path.iterdir()) == []


def test_a_finished_run_has_one_folder_with_its_files_and_says_so(engine, tmp_path):
    ev = Evaluation(engine, small(), runs_dir=tmp_path)
    for _ in ev.steps():
        pass
    (folder,) = tmp_path.iterdir()
    assert folder == ev.out_dir and folder.name.startswith("eval-maze-")
    names = {p.name for p in folder.iterdir()}
    assert names == {"results.jsonl", "summary.json", f"{folder.name}-summary.csv"}
    assert len((folder / "results.jsonl").read_text().splitlines()) == 2 * 2 * 2
    message = ev.saved_message()
    assert message == f"Saved to {folder}/ (results.jsonl, summary.json, {folder.name}-summary.csv)."
    assert "Nothing" not in message


def test_run_folders_stay_inside_the_runs_folder(engine, tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    runs.mkdir()
    outside.mkdir()
    (runs / "mine").symlink_to(outside, target_is_directory=True)  # a link planted where a run would go
    (runs / "mine-2").symlink_to(tmp_path / "gone")  # a dangling one too
    first = run_evaluation(engine, small(name="mine"), runs_dir=runs)
    second = run_evaluation(engine, small(name="mine"), runs_dir=runs)  # same name again: a fresh folder
    assert first.out_dir == runs / "mine-3" and second.out_dir == runs / "mine-4"
    for result in (first, second):
        assert not result.out_dir.is_symlink() and result.out_dir.resolve().parent == runs.resolve()
        assert json.loads((result.out_dir / "summary.json").read_text())["out"] == str(result.out_dir)
    assert list(outside.iterdir()) == [] and not (tmp_path / "gone").exists()
    for bad in ("..", ".", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="bad run name"):
            small(name=bad).validate()


def test_a_bad_output_folder_is_one_line(tmp_path, capsys):
    from playground.evaluation.__main__ import main

    afile = tmp_path / "afile"
    afile.write_text("")
    for out, why in [(afile / "sub", "is not a folder"), (afile, "is not a folder"), ("/proc/nope", "not writable")]:
        assert main(["--family", "maze", "--out", str(out), "--model", "/nonexistent"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: cannot write the evaluation to") and why in err and "\n" not in err
