"""`python -m playground.puzzles`: list / show / verify, and one-line errors with exit code 2.

A few real subprocess runs; the error paths run in-process through main() to stay fast. Only the sat, tsp and
maze families are exercised here (the other families have their own tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground.puzzles import maze, sat, tsp
from playground.puzzles.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playground.puzzles", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_names_families_and_levels() -> None:
    out = cli("list")
    assert out.returncode == 0 and "Traceback" not in out.stderr
    for fam in (sat, tsp, maze):
        assert f"{fam.FAMILY.name}: {fam.FAMILY.title}" in out.stdout
        assert f"  level 1: {fam.LEVELS[1]}" in out.stdout


def _without(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI run in a fresh interpreter where `module` cannot be imported."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from playground.puzzles.__main__ import main\n"
        f"sys.exit(main({list(argv)!r}))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_list_works_without_plotly() -> None:
    out = _without("plotly", "list")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    listed = [line.split(":")[0] for line in out.stdout.splitlines() if not line.startswith(" ")]
    assert listed == ["sat", "tsp", "calendar", "maze", "spatial_map", "math"]


def test_show_works_without_plotly() -> None:
    out = _without("plotly", "show", "--family", "maze", "--level", "1", "--seed", "0", "--trace")
    assert out.returncode == 0 and "--- trace ---" in out.stdout, out.stderr


def test_a_broken_family_module_is_an_error_not_a_missing_family() -> None:
    out = _without("playground.puzzles.maze", "list")
    assert out.returncode != 0 and "playground.puzzles.maze" in out.stderr
    assert "sat: 3SAT" not in out.stdout


def test_show_json_is_the_instance() -> None:
    out = cli("show", "--family", "sat", "--level", "2", "--seed", "5", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout) == sat.generate(5, 2).to_json()


def test_verify_from_stdin_and_from_file(tmp_path: Path) -> None:
    ref = tsp.generate(1, 2).reference
    out = cli("verify", "--family", "tsp", "--level", "2", "--seed", "1", "--answer-file", "-", "--json", stdin=ref)
    verdict = json.loads(out.stdout)
    assert out.returncode == 0 and verdict["correct"] and verdict["status"] == "correct"
    answer = tmp_path / "answer.txt"
    answer.write_text("<think>hmm</think>\nFinal Answer: U U U U", encoding="utf-8")
    out = cli("verify", "--family", "maze", "--level", "1", "--seed", "0", "--answer-file", str(answer))
    assert out.returncode == 0
    expected = maze.verify(maze.generate(0, 1), answer.read_text())
    assert f"correct: {expected.correct}\nstatus: {expected.status}\n" in out.stdout
    assert f"reason: {expected.reason}\n" in out.stdout


def test_bad_family_is_one_line_exit_2() -> None:
    out = cli("show", "--family", "chess", "--level", "1")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown puzzle family 'chess'; choose one of sat, tsp")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["show", "--family", "sat", "--level", "99"], "error: sat has no level 99"),
        (["show", "--family", "maze", "--level", "one"], "invalid int value: 'one'"),
        (
            ["verify", "--family", "tsp", "--answer-file", "/nonexistent/answer.txt"],
            "cannot read answer file",
        ),
        (["verify", "--family", "tsp"], "required: --answer-file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_in_process(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        code = exc.code
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0]


@pytest.mark.parametrize(
    ("family", "answer", "status"),
    [
        ("math", "Final Answer: 1.5", "wrong"),  # seed 8's answer is 1: not only the leading digits count
        ("math", "Final Answer: 1/7", "wrong"),
        ("math", "Final Answer: 1", "correct"),
        ("calendar", "Final Answer: Monday 10:01-11:01", "wrong"),  # off the 5-minute grid
    ],
)
def test_verify_is_strict(family: str, answer: str, status: str) -> None:
    seed = "8" if family == "math" else "0"
    argv = ("verify", "--family", family, "--level", "1", "--seed", seed, "--answer-file", "-", "--json")
    out = cli(*argv, stdin=answer)
    assert out.returncode == 0 and json.loads(out.stdout)["status"] == status


def test_show_text_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--family", "maze", "--level", "1", "--seed", "3", "--trace"]) == 0
    out = capsys.readouterr().out
    inst = maze.generate(3, 1)
    assert inst.prompt in out and f"--- reference answer ---\n{inst.reference}" in out
    assert maze.trace(inst) in out


def test_verify_judges_an_answer_with_invalid_utf8_on_stdin() -> None:
    inst = maze.generate(0, 1)
    answer = inst.reference.encode() + b"\n\xff\xfe"
    out = subprocess.run(
        [sys.executable, "-m", "playground.puzzles", "verify", "--family", "maze", "--level", "1", "--seed", "0"]
        + ["--answer-file", "-", "--json"],
        cwd=ROOT,
        input=answer,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0 and b"Traceback" not in out.stderr
    assert json.loads(out.stdout)["correct"] is True
