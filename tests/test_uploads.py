"""Uploaded JSONL is read defensively: size and line length are checked while reading (a 50 MB line is never
kept nor tokenized), deep nesting and bad encodings are named per line, an upload is copied into its run folder,
and a link planted under runs/ never lets a run write outside it."""

from __future__ import annotations

import json
import os
import shutil
import time
import tracemalloc

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the training child inherits it

from playground.models.tiny_tokenizer import build_tokenizer  # noqa: E402
from training import data  # noqa: E402
from training.data import MAX_LINE_BYTES, DataError, load_jsonl, validate_jsonl  # noqa: E402
from training.runner import RunnerError, TrainRunner  # noqa: E402
from training.sft_config import SFTConfig, load_config  # noqa: E402

GOOD = json.dumps({"prompt": "What is 1 + 1?", "completion": "<think>\nadd\n</think>\n2"})


class CountingTokenizer:
    """The real tiny tokenizer, counting the characters it is asked to tokenize."""

    def __init__(self):
        self.tok = build_tokenizer()
        self.chars = 0

    def __call__(self, text, **kwargs):
        self.chars = max(self.chars, len(text))
        return self.tok(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tok, name)


def test_a_50_mb_line_is_refused_without_being_kept_or_tokenized(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w") as fh:
        fh.write(GOOD + "\n")
        fh.write('{"prompt": "p", "completion": "' + "x" * (50 * 2**20) + '"}\n')
        fh.write(GOOD + "\n")
    tok = CountingTokenizer()
    tracemalloc.start()
    examples, errors = validate_jsonl(path, tok, max_seq_len=512)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert errors == [f"line 2: line longer than {MAX_LINE_BYTES // 2**20} MB: not read"]
    assert [e.meta["line"] for e in examples] == [1, 3]  # the lines after it are still read
    assert 0 < tok.chars < 1000  # only the good lines reached the tokenizer
    assert peak < 3 * MAX_LINE_BYTES  # the 50 MB line was never held in memory


def test_a_file_over_the_size_limit_stops_being_read(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_UPLOAD_BYTES", 10 * (len(GOOD) + 1))
    path = tmp_path / "many.jsonl"
    path.write_text((GOOD + "\n") * 1000)
    examples, errors = validate_jsonl(path)
    assert len(examples) == 10
    assert errors == [f"line 11: the file is larger than {data.MAX_UPLOAD_BYTES / 2**20:g} MB; the rest is not read"]


def test_deep_nesting_is_a_message_not_a_recursion_error():
    deep = "[" * 200_000 + "]" * 200_000
    inner = '{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}"
    examples, errors = validate_jsonl("\n".join([GOOD, deep, inner, GOOD]))
    assert errors == ["line 2: JSON nested too deeply", "line 3: JSON nested too deeply"]
    assert len(examples) == 2


def test_invalid_utf8_is_refused_never_repaired(tmp_path):
    raw = (GOOD + "\n").encode() + b'{"prompt": "caf\xe9", "completion": "<think>t</think>x"}\n' + GOOD.encode()
    for source in (raw, tmp_path / "latin1.jsonl"):
        (tmp_path / "latin1.jsonl").write_bytes(raw)
        examples, errors = validate_jsonl(source)
        assert errors == ["line 2: not UTF-8 text (byte 0xe9 at byte 16)"]
        assert len(examples) == 2 and all("\ufffd" not in m["content"] for e in examples for m in e.messages)
    with pytest.raises(DataError, match="not UTF-8"):
        load_jsonl(tmp_path / "latin1.jsonl")


def test_an_unpaired_surrogate_is_refused_before_the_tokenizer():
    lone = json.dumps({"prompt": "a \ud800 b", "completion": "<think>t</think>x"})  # JSON escapes it as \ud800
    msgs = json.dumps({"messages": [{"role": "user", "content": "\udfff"}, {"role": "assistant", "content": "y"}]})
    examples, errors = validate_jsonl("\n".join([lone, msgs, GOOD]), build_tokenizer(), max_seq_len=512)
    assert errors[0].startswith("line 1: 'prompt' holds an unpaired surrogate")
    assert errors[1].startswith("line 2: messages[0] holds an unpaired surrogate")
    assert len(examples) == 1


@pytest.fixture(scope="module")
def runner_env(tmp_path_factory):
    from playground.models.placeholder import build_placeholder

    root = tmp_path_factory.mktemp("uploads")
    base = build_placeholder(root / "base")
    runner = TrainRunner(root / "runs", lock_path=root / "train.lock", env={"OMP_NUM_THREADS": "1"})
    return {"root": root, "base": str(base), "runner": runner}


def test_an_upload_is_copied_into_its_run_folder(runner_env):
    root, runner = runner_env["root"], runner_env["runner"]
    upload = root / "gradio-temp" / "abc123" / "mine.jsonl"  # where Gradio leaves an upload
    upload.parent.mkdir(parents=True)
    upload.write_text("\n".join([GOOD] * 8))
    cfg = SFTConfig(name="copied", base_model=runner_env["base"], data_source="jsonl", data_path=str(upload))
    runner.launch(SFTConfig(**{**cfg.__dict__, "max_steps": 1, "batch_size": 2}))
    shutil.rmtree(upload.parent.parent)  # Gradio cleans its temp folder: the run must not need it
    run_dir = runner.run_dir("copied")
    saved = load_config(run_dir / "config.yaml")
    assert saved.data_path == str(run_dir / "data.jsonl") and (run_dir / "data.jsonl").read_text().count("\n") == 7
    deadline = time.monotonic() + 180
    while runner.status("copied").get("state") not in ("finished", "failed"):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)
    assert runner.status("copied")["state"] == "finished", runner.status("copied").get("error")


def test_a_link_under_runs_is_never_written_through(runner_env, tmp_path):
    root, runner = runner_env["root"], runner_env["runner"]
    outside = tmp_path / "outside"
    outside.mkdir()
    runner.runs_dir.mkdir(parents=True, exist_ok=True)
    (runner.runs_dir / "planted").symlink_to(outside, target_is_directory=True)
    (runner.runs_dir / "dangling").symlink_to(tmp_path / "nowhere")
    data_file = root / "d.jsonl"
    data_file.write_text(GOOD)
    for name in ("planted", "dangling"):
        cfg = SFTConfig(name=name, base_model=runner_env["base"], data_source="jsonl", data_path=str(data_file))
        with pytest.raises(RunnerError, match="already exists"):
            runner.launch(cfg)
        assert runner.free_name(name) == f"{name}-2"
    assert list(outside.iterdir()) == [] and not (tmp_path / "nowhere").exists()
