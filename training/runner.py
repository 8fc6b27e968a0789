"""Launch, watch, stop and list training runs: each is a `python -m training.sft` (or `training.grpo`, for
`method: grpo`) subprocess speaking via files.

The app never trains in its own process: `TrainRunner.launch` writes runs/<name>/config.yaml, starts the
child with no shell in its own session (stdout+stderr → train.log) and takes a machine-wide lock file so that
only one run trains at a time. Everything else is read back from runs/<name>/status.json and metrics.jsonl,
so a reloaded page (or a restarted app) re-attaches to a running job. Stop = SIGTERM (the child saves and
exits 0), Kill = SIGKILL. No Gradio imports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from training.data import validate_jsonl
from training.preflight import PreflightError, check_base_model, resolve_base
from training.sft_config import ConfigError, SFTConfig, config_from_dict, save_config
from training.status import ACTIVE_STATES, read_json, read_status, write_status

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KILL_ADVICE = (
    "killed by the system (SIGKILL): probably out of memory. Try a smaller batch or max sequence length, "
    "gradient checkpointing, or 4-bit."
)


# A Python warning as printed ("…/file.py:12: FutureWarning: …"), a library logger's warning ("… - WARNING - …", or
# transformers' "[WARNING|…]"), and the source line a warning echoes on the next line, indented.
WARNING_RE = re.compile(r"^\S+\.py:\d+: \w*Warning\b|\bWARNING\b")


def without_warnings(lines) -> list[str]:
    """The log lines a person reads: library warnings and the indented source line echoed after each one dropped."""
    out: list[str] = []
    after_warning = False
    for line in lines:
        if WARNING_RE.search(line):
            after_warning = True
            continue
        if after_warning and line.startswith((" ", "\t")):
            continue
        after_warning = False
        out.append(line)
    return out


class RunnerError(ValueError):
    """A launch or control request was refused; the message is meant for the person who asked."""


def validate_name(name: str) -> str:
    """The run name if it is a plain folder name (letters, digits, . _ -), else RunnerError; never a path."""
    name = (name or "").strip()
    if not NAME_RE.fullmatch(name) or ".." in name:
        raise RunnerError(
            f"invalid run name {name!r}: use 1-64 letters, digits, '.', '_' or '-' "
            "(no slashes, no '..', not starting with '.' or '-')"
        )
    return name


def default_lock_path() -> Path:
    """One lock per machine (override with PLAYGROUND_TRAIN_LOCK, e.g. in tests)."""
    return Path(os.environ.get("PLAYGROUND_TRAIN_LOCK") or Path(tempfile.gettempdir()) / "playground-train.lock")


def _pid_alive(pid: Any) -> bool:
    """True if a process with this pid runs (zombies count as dead)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie ('Z') has exited but was not reaped yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class TrainRunner:
    """Training runs under `runs_dir`; safe to share between browser sessions (state lives in files)."""

    def __init__(
        self,
        runs_dir: str | Path,
        lock_path: str | Path | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
    ):
        self.runs_dir = Path(runs_dir).resolve()
        self.lock_path = Path(lock_path) if lock_path else default_lock_path()
        self.python = python
        self.env = dict(env or {})  # extra environment for the children (e.g. OMP_NUM_THREADS)
        self._procs: dict[str, subprocess.Popen] = {}  # children this process started (to reap them)
        self._killed: set[str] = set()
        self._metrics: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # name -> (bytes read, rows)

    def run_dir(self, name: str) -> Path:
        return self.runs_dir / validate_name(name)

    def exists(self, name: str) -> bool:
        """Whether a run folder with this name holds anything (a launch under that name is refused). A link counts as
        taken, dangling or not: a run never writes through one to somewhere outside the runs folder."""
        run_dir = self.run_dir(name)
        if run_dir.is_symlink() or (run_dir.exists() and not run_dir.is_dir()):
            return True
        return run_dir.is_dir() and any(run_dir.iterdir())

    def free_name(self, name: str) -> str:
        """`name` if no run has it, else the first free `name-2`, `name-3`, … (kept within 64 characters)."""
        name = validate_name(name)
        n = 1
        candidate = name
        while self.exists(candidate):
            n += 1
            suffix = f"-{n}"
            candidate = name[: 64 - len(suffix)] + suffix
        return candidate

    # ------------------------------------------------------------ the lock

    def _lock_holder(self) -> dict[str, Any] | None:
        """The lock's content if a run still holds it; a stale lock (dead or finished run) is removed."""
        lock = read_json(self.lock_path)
        if not lock and not self.lock_path.exists():
            return None
        status = read_status(lock.get("run_dir", "/nonexistent"))
        if lock and _pid_alive(lock.get("pid")) and status.get("state", "queued") in ACTIVE_STATES:
            return lock
        if lock or time.time() - self.lock_path.stat().st_mtime > 10:  # an empty lock is still being written
            self.lock_path.unlink(missing_ok=True)
            return None
        return {"name": "?", "pid": None}

    def _acquire(self, name: str) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._lock_holder()
                if holder:
                    raise RunnerError(
                        f"Run {holder.get('name')!r} is already training on this machine "
                        f"(pid {holder.get('pid')}). "
                        "Only one run at a time: stop it or wait for it to finish."
                    ) from None
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"name": name, "pid": os.getpid(), "run_dir": str(self.runs_dir / name)}, f)
            return
        raise RunnerError(f"could not take the training lock {self.lock_path}")

    def _release(self, name: str) -> None:
        if read_json(self.lock_path).get("name") == name:
            self.lock_path.unlink(missing_ok=True)

    # ------------------------------------------------------------ launch / stop / kill

    def launch(self, cfg: SFTConfig | dict[str, Any]) -> dict[str, Any]:
        """Validate, write the config, start the child and return its status; RunnerError says why not."""
        cfg = cfg if isinstance(cfg, SFTConfig) else config_from_dict(dict(cfg))
        name = validate_name(cfg.name)
        run_dir = self.runs_dir / name
        if self.exists(name):
            raise RunnerError(
                f"a run named {name!r} already exists in {self.runs_dir}; choose another name "
                f"(e.g. {self.free_name(name)!r})"
            )
        base = resolve_base(cfg.base_model)
        try:
            check_base_model(base)
        except PreflightError as exc:
            raise RunnerError(str(exc)) from exc
        data_path = str(Path(cfg.data_path).expanduser().resolve()) if cfg.data_path else ""
        if cfg.data_source in ("jsonl", "failures") and not Path(data_path or "/nonexistent").exists():
            raise RunnerError(f"data file {cfg.data_path or '(none)'} does not exist")
        if cfg.data_source == "jsonl":  # structure now; exact token lengths are checked by the child
            errors = validate_jsonl(Path(data_path))[1]
            if errors:
                raise RunnerError(f"{Path(data_path).name}: " + "; ".join(errors[:5]))
        cfg = replace(cfg, name=name, output_dir=str(run_dir), base_model=base, data_path=data_path)
        try:
            config_from_dict(asdict(cfg))  # the same checks the child makes, before taking the lock
        except ConfigError as exc:
            raise RunnerError(str(exc)) from exc
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._acquire(name)
        try:
            if cfg.data_source == "jsonl":  # the run folder keeps its own copy of the data (reproducible)
                run_dir.mkdir(parents=True, exist_ok=True)
                cfg.data_path = str(Path(shutil.copyfile(cfg.data_path, run_dir / "data.jsonl")))
            config_path = save_config(cfg, run_dir / "config.yaml")
            write_status(run_dir, "queued", name=name, created=time.time(), error=None)
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "TOKENIZERS_PARALLELISM": "false",
                **self.env,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
            }
            with open(run_dir / "train.log", "ab") as log:
                proc = subprocess.Popen(  # no shell; own session so the app's Ctrl-C does not hit it
                    [self.python, "-m", f"training.{cfg.method}", str(config_path)],
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except Exception as exc:
            write_status(run_dir, "failed", error=f"could not start the training process: {exc}")
            self._release(name)
            raise
        self._procs[name] = proc
        # Reap the child the moment it exits, whether or not anyone reads its status (no zombie left behind).
        threading.Thread(target=proc.wait, name=f"reap-{name}", daemon=True).start()
        # The child writes its own pid into status.json (a parent write could undo the child's updates).
        self.lock_path.write_text(json.dumps({"name": name, "pid": proc.pid, "run_dir": str(run_dir)}))
        return self.status(name)

    def _running_pid(self, name: str) -> int | str:
        """The pid of a running run, or the message to show when it is not running (yet)."""
        status = self.status(name)
        if status.get("state") not in ACTIVE_STATES:
            return f"Run {name!r} is not running ({status.get('state', 'unknown')})."
        pid = self._pid(name, status)
        return f"Run {name!r} is still starting; try again in a moment." if pid is None else pid

    def stop(self, name: str) -> str:
        """Ask the run to finish its current step, save the adapter and exit (SIGTERM)."""
        pid = self._running_pid(name)
        if isinstance(pid, str):
            return pid
        os.kill(pid, signal.SIGTERM)  # the child itself writes "stopping"
        return f"Stopping {name!r}: it finishes the current step, saves the adapter and exits."

    def kill(self, name: str) -> str:
        """SIGKILL the run's process group at once; nothing is saved."""
        pid = self._running_pid(name)
        if isinstance(pid, str):
            return pid
        self._killed.add(name)
        try:
            os.killpg(pid, signal.SIGKILL)  # start_new_session made the child its group's leader
        except ProcessLookupError:
            pass
        if name in self._procs:
            self._procs[name].wait(timeout=30)
        self.status(name)  # records the kill as failed and frees the lock
        return f"Killed {name!r}; no adapter was saved."

    # ------------------------------------------------------------ reading back

    def _pid(self, name: str, status: dict[str, Any]) -> int | None:
        """The child's pid: from status.json once the child wrote it, before that from the lock."""
        lock = read_json(self.lock_path)
        return status.get("pid") or (lock.get("pid") if lock.get("name") == name else None)

    def status(self, name: str) -> dict[str, Any]:
        """status.json, reconciled with reality: an active run whose process is gone is marked failed."""
        run_dir = self.run_dir(name)
        status = read_status(run_dir)
        if status.get("state") not in ACTIVE_STATES:
            if status:
                self._release(name)
            return status
        proc = self._procs.get(name)
        rc = proc.poll() if proc else None
        if (proc and rc is None) or (not proc and _pid_alive(self._pid(name, status))):
            return status
        if not proc and status.get("state") == "queued" and time.time() - status.get("created", 0) < 60:
            return status  # another thread is launching it right now
        status = read_status(run_dir)  # the child may have written its last word meanwhile
        if status.get("state") in ACTIVE_STATES:
            if name in self._killed:
                error = "killed by the user (SIGKILL); no adapter was saved"
            elif rc == -signal.SIGKILL:
                error = KILL_ADVICE
            else:
                error = f"the training process exited unexpectedly (code {rc}); see train.log"
            write_status(run_dir, "failed", error=error, ended=time.time())
            status = read_status(run_dir)
        self._release(name)
        return status

    def active(self) -> dict[str, Any] | None:
        """Status of the run training now (from the lock or any runs/*/status.json), for re-attaching."""
        lock = read_json(self.lock_path)
        names = [lock["name"]] if lock.get("name") and Path(lock.get("run_dir", "")).parent == self.runs_dir else []
        names += [p.parent.name for p in self.runs_dir.glob("*/config.yaml")]  # training runs only
        for name in dict.fromkeys(names):
            if NAME_RE.fullmatch(name) and self.status(name).get("state") in ACTIVE_STATES:
                return self.status(name)
        return None

    def metrics(self, name: str) -> list[dict[str, Any]]:
        """All metrics.jsonl rows, read incrementally (only complete lines)."""
        path = self.run_dir(name) / "metrics.jsonl"
        offset, rows = self._metrics.get(name, (0, []))
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        rows = rows + [json.loads(line) for line in chunk[:end].splitlines() if line.strip()]
        self._metrics[name] = (offset + end, rows)
        return rows

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of train.log, oldest first, without library warnings (train.log keeps them) and with
        progress bars' carriage returns folded."""
        try:
            with open(self.run_dir(name) / "train.log", "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 64_000))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        shown = (line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.rstrip().split("\n"))
        return "\n".join(without_warnings(shown)[-lines:])

    def progress(self, name: str) -> dict[str, Any]:
        """What a progress view needs: status, latest metrics, ETA, the metrics rows and the log tail."""
        status = self.status(name)
        rows = self.metrics(name)
        last = rows[-1] if rows else {}
        return {
            "name": name,
            "state": status.get("state"),
            "phase": status.get("phase"),
            "error": status.get("error"),
            "step": last.get("step", status.get("step", 0)),
            "total_steps": status.get("total_steps") or last.get("total_steps"),
            "eta_s": last.get("eta_s"),
            "loss": last.get("loss"),
            "tokens_per_s": last.get("tokens_per_s"),
            "gpu_mem_gb": last.get("gpu_mem_gb"),
            "rss_gb": last.get("rss_gb"),
            "adapter_dir": status.get("adapter_dir") or status.get("model_dir"),
            "method": status.get("method"),
            "reward": last.get("reward"),
            "stopped": status.get("stopped"),
            "examples": status.get("examples"),
            "dropped": status.get("dropped"),
            "metrics": rows,
            "log": self.log_tail(name),
        }

    def wait(self, name: str, timeout: float = 600, poll_s: float = 0.5) -> dict[str, Any]:
        """Block until the run leaves the active states (tests, bench, scripts); returns its status."""
        deadline = time.monotonic() + timeout
        while (status := self.status(name)).get("state") in ACTIVE_STATES:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {name!r} still {status.get('state')} after {timeout} s")
            time.sleep(poll_s)
        if name in self._procs:  # the child writes its last status just before exiting: reap it too
            self._procs[name].wait(timeout=max(1.0, deadline - time.monotonic()))
        return status

    def list_runs(self) -> list[dict[str, Any]]:
        """Training runs under runs_dir (folders with a config.yaml), newest first, with summary metrics."""
        out = []
        for cfg_path in self.runs_dir.glob("*/config.yaml"):
            name = cfg_path.parent.name
            if not NAME_RE.fullmatch(name):
                continue
            status, rows = self.status(name), self.metrics(name)
            speeds = sorted(r["tokens_per_s"] for r in rows if r.get("tokens_per_s"))
            adapter = cfg_path.parent / "adapter" / "adapter_config.json"
            if not adapter.is_file():  # a fully fine-tuned GRPO run saves a whole model
                adapter = cfg_path.parent / "model" / "config.json"
            started, ended = status.get("started") or status.get("created"), status.get("ended")
            out.append(
                {
                    "name": name,
                    "state": status.get("state", "?") + (" (stopped)" if status.get("stopped") else ""),
                    "base": _read_yaml_field(cfg_path, "base_model"),
                    "steps": f"{status.get('step', 0)}/{status.get('total_steps') or '?'}",
                    "final_loss": round(status["final_loss"], 4) if status.get("final_loss") else None,
                    "tokens_per_s": round(speeds[len(speeds) // 2]) if speeds else None,
                    "minutes": round((ended - started) / 60, 1) if started and ended else None,
                    "adapter": str(adapter.parent) if adapter.is_file() else "",
                    "error": status.get("error") or "",
                    "_started": started or 0,
                }
            )
        out.sort(key=lambda r: r["_started"], reverse=True)
        return [{k: v for k, v in r.items() if k != "_started"} for r in out]


def _read_yaml_field(path: Path, key: str) -> Any:
    import yaml

    try:
        return (yaml.safe_load(path.read_text()) or {}).get(key)
    except (OSError, yaml.YAMLError):
        return None
