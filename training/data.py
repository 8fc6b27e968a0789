"""Training data for SFT runs: verified puzzle traces, uploaded JSONL, and puzzles a model failed in an eval.

Every source yields `Example`s holding a chat (`messages`, role/content). `encode` renders a chat with the
model's own chat template and masks the labels so that the loss falls on the final assistant turn only
(thinking + answer). Nothing here imports Gradio; puzzle families are imported lazily, on first use.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
MAX_ERRORS = 20  # a bad upload lists this many problems, not thousands
MAX_UPLOAD_BYTES = 200 * 2**20  # a JSONL upload is read up to this size, never further
MAX_LINE_BYTES = 4 * 2**20  # one example: far beyond any context a preset takes; longer lines are skipped unread
IGNORE_INDEX = -100  # label value the loss ignores
_SENTINEL = "PLAYGROUND_END_OF_TURN_PROBE"


class DataError(ValueError):
    """The data cannot be used; the message says which line or which setting and what is wrong."""


@dataclass
class Example:
    """One training chat and where it came from (family/level/seed for puzzle examples)."""

    messages: list[dict[str, str]]
    source: str = "jsonl"
    family: str | None = None
    level: int | None = None
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- built-in puzzle traces


def trace_example(family: str, level: int, seed: int, source: str = "puzzles") -> Example | None:
    """The chat [prompt → <think>trace</think> answer] for one puzzle, or None if the verifier rejects it."""
    from playground.puzzles import generate, get_family

    fam = get_family(family)
    inst = generate(family, level, seed)
    answer = f"<think>\n{fam.trace(inst)}\n</think>\n{inst.reference}"
    # Verify the whole target (not just the reference): what we train on must be what the verifier accepts.
    if not fam.verify(inst, answer).correct:
        return None
    messages = [{"role": "user", "content": inst.prompt}, {"role": "assistant", "content": answer}]
    return Example(messages, source=source, family=family, level=level, seed=seed)


def puzzle_examples(
    families: Iterable[str] = (), levels: Iterable[int] = (1,), count: int = 256, seed_start: int = 100_000
) -> list[Example]:
    """`count` verified trace examples, round-robin over the (family, level) pairs that exist.

    Empty `families` means all. Seeds start at `seed_start` so that low evaluation seeds stay held out.
    """
    from playground.puzzles import families as all_families

    known = all_families()
    names = list(families) or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(f"unknown puzzle families {unknown}; choose from {', '.join(known)}")
    pairs = [(n, lv) for n in names for lv in levels if lv in known[n].levels]
    if not pairs:
        raise DataError(f"none of the levels {list(levels)} exist for {', '.join(names)}")
    out: list[Example] = []
    rejected = 0
    for i in range(count * 3):  # rejected instances are replaced, within reason
        if len(out) >= count:
            break
        fam, level = pairs[i % len(pairs)]
        ex = trace_example(fam, level, seed_start + i // len(pairs))
        if ex is None:
            rejected += 1
        else:
            out.append(ex)
    if rejected:
        log.warning("dropped %d puzzle examples whose trace did not verify", rejected)
    return out


def failure_examples(results: str | Path, limit: int | None = None) -> list[Example]:
    """Examples for the puzzles an eval got wrong (any sample incorrect), with the solver's trace as target.

    `results` is an evaluation's results.jsonl or its run folder.
    """
    path = Path(results)
    if path.is_dir():
        path = path / "results.jsonl"
    if not path.is_file():
        raise DataError(f"no evaluation results at {path}")
    failed: dict[tuple[str, int, int], None] = {}  # ordered set
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = (str(row["family"]), int(row["level"]), int(row["seed"]))
            correct = bool(row["correct"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path.name} line {lineno}: not an evaluation result ({exc!r})") from exc
        if not correct:
            failed.setdefault(key)
    out = []
    for fam, level, seed in list(failed)[:limit]:
        ex = trace_example(fam, level, seed, source="failures")
        if ex is not None:
            out.append(ex)
    if failed and not out:
        raise DataError("none of the failed puzzles has a trace that verifies")
    return out


def find_eval_results(runs_dir: str | Path) -> list[Path]:
    """Evaluation result files under `runs_dir` (runs/<eval>/results.jsonl), newest first."""
    files = Path(runs_dir).glob("*/results.jsonl")
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


# ---------------------------------------------------------------- uploaded JSONL


def _encodable(text: str) -> bool:
    """Whether `text` is real Unicode text (JSON's \\ud800 escapes can make strings no tokenizer takes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_record(obj: Any) -> tuple[list[dict[str, str]] | None, str | None]:
    """(messages, None) for a valid record, else (None, problem)."""
    if not isinstance(obj, dict):
        return None, "expected a JSON object with 'messages' or 'prompt'/'completion'"
    if "messages" in obj:
        msgs = obj["messages"]
        if not isinstance(msgs, list) or not msgs:
            return None, "'messages' must be a non-empty list"
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or "role" not in m:
                return None, f"messages[{i}] has no 'role'"
            if m["role"] not in ROLES:
                return None, f"messages[{i}] has role {m['role']!r}; expected one of {', '.join(ROLES)}"
            if not isinstance(m.get("content"), str) or not m["content"].strip():
                return None, f"empty content in messages[{i}] (role {m['role']!r})"
            if not _encodable(m["content"]):
                return None, f"messages[{i}] holds an unpaired surrogate (\\ud800-\\udfff): not text"
        if not any(m["role"] == "user" for m in msgs):
            return None, "missing role 'user': no user message"
        if msgs[-1]["role"] != "assistant":
            return None, "missing role 'assistant': the last message must be the assistant's reply to learn"
        return [{"role": m["role"], "content": m["content"]} for m in msgs], None
    if "prompt" in obj or "completion" in obj:
        for key in ("prompt", "completion"):
            if key not in obj:
                return None, f"missing '{key}'"
            if not isinstance(obj[key], str) or not obj[key].strip():
                return None, f"empty '{key}'"
            if not _encodable(obj[key]):
                return None, f"'{key}' holds an unpaired surrogate (\\ud800-\\udfff): not text"
        return [
            {"role": "user", "content": obj["prompt"]},
            {"role": "assistant", "content": obj["completion"]},
        ], None
    return None, "expected 'messages' (role/content) or 'prompt'/'completion'"


def _open_source(source: str | Path | bytes) -> io.BufferedIOBase:
    """A binary stream of an upload given as bytes, a path, or the JSONL text itself (a str that is not a file)."""
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, str):
        try:
            is_file = "\n" not in source and len(source) < 4096 and Path(source).is_file()
        except OSError:
            is_file = False
        if not is_file:
            return io.BytesIO(source.encode("utf-8", errors="surrogatepass"))
    try:
        return open(source, "rb")  # noqa: SIM115 - closed by the reader
    except OSError as exc:
        raise DataError(f"cannot read {Path(source).name}: {exc.strerror}") from exc


def _read_lines(source: str | Path | bytes) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, problem) for each line of an upload, read line by line within MAX_LINE_BYTES and
    MAX_UPLOAD_BYTES: an over-long line is skipped without being kept (problem set, text None), a line that is not
    UTF-8 is reported, never repaired. A file over the size limit ends with a problem for its first unread line."""
    total = 0
    with _open_source(source) as fh:
        for lineno in range(1, 2**62):
            if total >= MAX_UPLOAD_BYTES:
                if fh.read(1):
                    yield lineno, None, f"the file is larger than {MAX_UPLOAD_BYTES / 2**20:g} MB; the rest is not read"
                return
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            total += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (chunk := fh.readline(2**20)) and total < MAX_UPLOAD_BYTES:  # skip the rest, unkept
                    total += len(chunk)
                    if chunk.endswith(b"\n"):
                        break
                yield lineno, None, f"line longer than {MAX_LINE_BYTES / 2**20:g} MB: not read"
                continue
            try:
                yield lineno, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                yield lineno, None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1})"


def validate_jsonl(
    source: str | Path | bytes, tokenizer: Any = None, max_seq_len: int | None = None
) -> tuple[list[Example], list[str]]:
    """Parse and check a JSONL upload; return (valid examples, errors like "line 3: bad JSON (...)").

    Length is counted with `tokenizer` when given, else estimated at 3 characters per token. Size, line length,
    encoding and nesting are checked while reading, before anything is tokenized.
    """
    examples: list[Example] = []
    errors: list[str] = []
    for lineno, line, unreadable in _read_lines(source):
        if unreadable:
            errors.append(f"line {lineno}: {unreadable}")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: bad JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            errors.append(f"line {lineno}: JSON nested too deeply")
            continue
        msgs, problem = _check_record(obj)
        if problem is None and max_seq_len:
            n = count_tokens(tokenizer, msgs) if tokenizer is not None else sum(len(m["content"]) for m in msgs) // 3
            if n > max_seq_len:
                unit = "tokens" if tokenizer is not None else "tokens (estimated)"
                problem = f"over-long example: {n} {unit} > max_seq_len {max_seq_len}"
        if problem:
            errors.append(f"line {lineno}: {problem}")
        else:
            examples.append(Example(msgs, source="jsonl", meta={"line": lineno}))
    if not examples and not errors:
        errors.append("the file has no examples")
    return examples, errors


def load_jsonl(path: str | Path, tokenizer: Any = None, max_seq_len: int | None = None) -> list[Example]:
    """Valid examples of a JSONL file, or a DataError listing the first problems."""
    examples, errors = validate_jsonl(Path(path), tokenizer, max_seq_len)
    if errors:
        more = f"\n… and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        raise DataError(f"{Path(path).name}: {len(errors)} problem(s):\n" + "\n".join(errors[:MAX_ERRORS]) + more)
    return examples


def build_examples(
    source: str,
    *,
    families: Iterable[str] = (),
    levels: Iterable[int] = (1,),
    count: int = 256,
    seed_start: int = 100_000,
    path: str = "",
    tokenizer: Any = None,
    max_seq_len: int | None = None,
) -> list[Example]:
    """Dispatch on `source`: "puzzles", "jsonl" (path = the file) or "failures" (path = eval results)."""
    if source == "puzzles":
        return puzzle_examples(families, levels, count, seed_start)
    if source == "jsonl":
        if not path:
            raise DataError("data_source 'jsonl' needs data_path, the JSONL file")
        return load_jsonl(path, tokenizer, max_seq_len)
    if source == "failures":
        if not path:
            raise DataError("data_source 'failures' needs data_path, an evaluation's results.jsonl")
        return failure_examples(path, limit=count or None)
    raise DataError(f"unknown data source {source!r}; choose puzzles, jsonl or failures")


# ---------------------------------------------------------------- rendering and tokenizing


def end_of_turn(tokenizer: Any) -> str:
    """The text the template puts after an assistant message (e.g. "<|im_end|>\\n"); eos as a fallback."""
    probe = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _SENTINEL}]
    try:
        text = tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:  # noqa: BLE001 - any template error: fall back to eos
        text = ""
    tail = text.split(_SENTINEL, 1)[1] if _SENTINEL in text else ""
    return tail or (tokenizer.eos_token or "")


def render_chat(tokenizer: Any, messages: list[dict[str, str]], eot: str | None = None) -> tuple[str, str]:
    """(prompt text up to the generation prompt, target text to learn) for a chat ending in an assistant turn.

    The target starts exactly where the generation prompt ends, so a template that pre-opens `<think>`
    (R1-Distill style) does not get the tag twice.
    """
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    target = messages[-1]["content"]
    if prompt.rstrip().endswith("<think>") and target.lstrip().startswith("<think>"):
        target = target.lstrip()[len("<think>") :]
        if prompt.endswith("\n"):
            target = target.lstrip("\n")
    return prompt, target + (end_of_turn(tokenizer) if eot is None else eot)


def count_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    """Tokens of the rendered chat."""
    prompt, target = render_chat(tokenizer, messages)
    return len(tokenizer(prompt + target, add_special_tokens=False)["input_ids"])


def encode(tokenizer: Any, messages: list[dict[str, str]], eot: str | None = None) -> dict[str, list[int]]:
    """input_ids, attention_mask and labels (IGNORE_INDEX on the prompt) for one chat."""
    prompt, target = render_chat(tokenizer, messages, eot)
    # Tokenized apart, as at generation time: the prompt's ids, then the ids the model must produce.
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    t_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    ids = p_ids + t_ids
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": [IGNORE_INDEX] * len(p_ids) + t_ids}


def encode_all(tokenizer: Any, examples: list[Example], max_seq_len: int) -> tuple[list[dict[str, list[int]]], int]:
    """Encoded examples that fit `max_seq_len`, and how many were dropped for being longer."""
    eot = end_of_turn(tokenizer)
    kept = [e for e in (encode(tokenizer, ex.messages, eot) for ex in examples) if len(e["input_ids"]) <= max_seq_len]
    return kept, len(examples) - len(kept)


# ---------------------------------------------------------------- preview


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def preview(examples: list[Example], n: int = 50) -> pd.DataFrame:
    """A table of the first `n` examples: source, puzzle, prompt, thinking and answer (shortened), length."""
    rows = []
    for ex in examples[:n]:
        reply = ex.messages[-1]["content"]
        thinking, answer = "", reply
        if "</think>" in reply:
            thinking, answer = reply.split("</think>", 1)
            thinking = thinking.replace("<think>", "", 1)
        prompt = next((m["content"] for m in reversed(ex.messages[:-1]) if m["role"] == "user"), "")
        puzzle = f"{ex.family} L{ex.level} #{ex.seed}" if ex.family else ""
        rows.append(
            {
                "source": ex.source,
                "puzzle": puzzle,
                "prompt": _short(prompt),
                "thinking": _short(thinking),
                "answer": _short(answer.strip(), 80),
                "chars": sum(len(m["content"]) for m in ex.messages),
            }
        )
    return pd.DataFrame(rows, columns=["source", "puzzle", "prompt", "thinking", "answer", "chars"])
