"""Assemble the Hugging Face Space folder: the app, its packages and assets, and Space.md as the Space's README.md.

    python scripts/publish_space.py OUT_DIR [--repo USER/SPACE] [--force]

Copies app.py, playground/, training/, assets/ and requirements.txt (no caches, no runs, no tests) into OUT_DIR and
writes Space.md there as README.md after checking its front matter: the keys a Space needs, `sdk_version` equal to
the gradio pin of requirements.txt, `models` equal to the presets' hub ids. Nothing is uploaded; with --repo the
`hf upload` command that publishes the folder is printed (huggingface_hub's CLI; `huggingface-cli upload` before
its 1.0). Exit codes: 0 done, 2 refused.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.models.presets import PRESETS  # noqa: E402

CONTENT = ["app.py", "requirements.txt", "playground", "training", "assets"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "placeholder-tiny", ".*")
REQUIRED = ("title", "sdk", "sdk_version", "python_version", "app_file", "suggested_hardware", "models")
REQUIRED += ("short_description", "tags")
MARKER = ".space-build"  # marks a folder this script made (only such a folder is replaced with --force)


class CardError(ValueError):
    """The Space card is not fit to publish; the message says which key and why."""


def front_matter(card: str) -> dict:
    """The YAML front matter of a card (between the leading `---` lines) as a dict."""
    match = re.match(r"---\n(.*?)\n---\n", card, re.DOTALL)
    if not match:
        raise CardError("Space.md has no front matter (a block between '---' lines at the top)")
    meta = yaml.safe_load(match.group(1))
    if not isinstance(meta, dict):
        raise CardError("Space.md's front matter is not a mapping")
    return meta


def gradio_pin(requirements: str) -> str | None:
    """The version `gradio==X` is pinned to in a requirements file, or None."""
    match = re.search(r"^gradio==([^\s#]+)", requirements, re.MULTILINE)
    return match.group(1) if match else None


def check_card(meta: dict, requirements: str) -> None:
    """CardError unless the front matter has what the Space needs and agrees with requirements and presets."""
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise CardError(f"Space.md's front matter lacks {', '.join(missing)}")
    if meta["sdk"] != "gradio" or meta["app_file"] != "app.py":
        raise CardError("Space.md: sdk must be gradio and app_file app.py")
    if meta["python_version"] != "3.11":  # a string: YAML would read 3.10 as the number 3.1
        raise CardError(f'Space.md: python_version must be the string "3.11", not {meta["python_version"]!r}')
    pin = gradio_pin(requirements)
    if str(meta["sdk_version"]) != pin:
        raise CardError(f"Space.md: sdk_version {meta['sdk_version']} differs from requirements.txt's gradio=={pin}")
    hub_ids = sorted(p.hub_id for p in PRESETS.values())
    if sorted(meta["models"] or []) != hub_ids:
        raise CardError(f"Space.md: models must be the presets' hub ids: {', '.join(hub_ids)}")
    if len(str(meta["short_description"])) > 60:
        raise CardError("Space.md: short_description must be at most 60 characters")


def assemble(out: Path, force: bool = False) -> list[str]:
    """Write the Space folder into `out`; returns the names at its top level."""
    card = (ROOT / "Space.md").read_text(encoding="utf-8")
    check_card(front_matter(card), (ROOT / "requirements.txt").read_text(encoding="utf-8"))
    out = out.resolve()
    if ROOT.is_relative_to(out) or any(out.is_relative_to(ROOT / name) for name in CONTENT):
        raise CardError(f"{out} would overwrite the project itself: choose another folder")
    if out.exists() and any(out.iterdir()):
        if not (force and (out / MARKER).is_file()):
            raise CardError(f"{out} is not empty: choose a new folder, or --force to replace an earlier build")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in CONTENT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=IGNORE)
        else:
            shutil.copy2(src, out / name)
    (out / "README.md").write_text(card, encoding="utf-8")
    (out / MARKER).write_text("made by scripts/publish_space.py\n")
    return sorted(p.name for p in out.iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/publish_space.py", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write the Space into (new, or an earlier build)")
    parser.add_argument("--repo", default=None, help="the Space's id, USER/NAME: print the upload command for it")
    parser.add_argument("--force", action="store_true", help="replace an earlier build in OUT")
    args = parser.parse_args(argv)
    try:
        names = assemble(args.out, args.force)
    except CardError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Space folder: {args.out.resolve()} ({', '.join(n for n in names if n != MARKER)})")
    if args.repo:
        print(f"hf upload {args.repo} {args.out} . --repo-type space --exclude {MARKER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
