"""Eight visitors chatting at once vs the same eight chats one after another: aggregate tokens/s (a script, not a test).

    python bench/bench_concurrent_chats.py [--via engine|app] [--visitors 8] [--repeats 2] [--threads K] [--old]

Each visitor asks the embedded tiny reasoner about a different level-1 puzzle (greedy, the model's default budgets),
so both ways generate exactly the same replies; the script checks that they do. `--via engine` streams through
`Engine.stream` from one thread per visitor; `--via app` launches `app.py` on loopback and sends each visitor's
chat through `/chat` with its own `gradio_client` session (tokens then counted by re-tokenizing the replies).
The two ways are timed alternately, `--repeats` times each, in one run. `--old` also times the eight concurrent
chats with the scheduler off (each reply on its own `model.generate` thread). Goal: concurrent ≥ 3× the aggregate
tokens/s of sequential.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

GOAL = 3.0
PUZZLES = ["maze", "tsp", "sat", "spatial_map"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--via", choices=["engine", "app"], default="engine")
    ap.add_argument("--visitors", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--old", action="store_true", help="also time concurrent chats with the scheduler off")
    args = ap.parse_args()

    from playground.models.presets import TINY_ANSWER_BUDGET, TINY_THINK_BUDGET
    from playground.puzzles import generate

    prompts = [generate(PUZZLES[i % len(PUZZLES)], 1, i).prompt for i in range(args.visitors)]
    budgets = {"think_budget": TINY_THINK_BUDGET, "answer_budget": TINY_ANSWER_BUDGET}
    if args.via == "engine":
        ways = engine_ways(prompts, budgets, args)
    else:
        ways = app_ways(prompts, budgets, args)
    print(f"{args.visitors} visitors, each a different level-1 puzzle, greedy; {args.repeats} runs of each way\n")
    print(f"  {'run':<34} {'seconds':>8} {'tokens':>7} {'tokens/s':>9} {'mean wait':>10}")
    results: dict[str, list[tuple[float, int, float]]] = {name: [] for name in ways}
    replies: dict[str, list] = {}
    try:
        for r in range(args.repeats):
            for name, way in ways.items():
                t0 = time.perf_counter()
                out, waits = way()
                seconds = time.perf_counter() - t0
                tokens = sum(n for _, n in out)
                results[name].append((seconds, tokens, statistics.mean(waits)))
                replies.setdefault(name, [text for text, _ in out])
                same = "" if [text for text, _ in out] == replies["sequential"] else "  (replies differ!)"
                label = f"{name} #{r + 1}"
                print(
                    f"  {label:<34} {seconds:>8.2f} {tokens:>7} {tokens / seconds:>9.0f} "
                    f"{statistics.mean(waits):>9.2f}s{same}"
                )
    finally:
        close = getattr(ways, "close", None)
        if close:
            close()
    rate = {name: statistics.median(t / s for s, t, _ in runs) for name, runs in results.items()}
    print()
    for name in ways:
        if name != "sequential":
            ratio = rate[name] / rate["sequential"]
            verdict = "met" if ratio >= GOAL or name != "concurrent" else "NOT met"
            goal = f" (goal ≥ {GOAL:.0f}×: {verdict})" if name == "concurrent" else ""
            print(f"{name} vs sequential, aggregate tokens/s (median of runs): {ratio:.2f}×{goal}")
    pairs = [c[1] / c[0] / (s[1] / s[0]) for s, c in zip(results["sequential"], results["concurrent"])]
    print("per-run ratios (concurrent / sequential, timed back to back): " + ", ".join(f"{p:.2f}×" for p in pairs))


def engine_ways(prompts: list[str], budgets: dict, args: argparse.Namespace) -> dict:
    import torch

    from playground.generation.engine import Engine
    from playground.generation.request import GenerationRequest
    from playground.models.loading import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    engine = Engine(load_model("tiny", quant="none", device="cpu", offline=True))
    print(f"via Engine.stream: model {engine.loaded.name}, {torch.get_num_threads()} torch threads")
    requests = [GenerationRequest(messages=[{"role": "user", "content": p}], temperature=0, **budgets) for p in prompts]
    engine.generate(GenerationRequest(messages=[{"role": "user", "content": "hi"}], think_budget=8, answer_budget=8))

    def one(request, t0: float) -> tuple[tuple[str, int], float]:
        stats = engine.generate(request)
        return (stats.thinking + "</think>" + stats.answer, stats.thinking_tokens + stats.answer_tokens), (
            time.perf_counter() - t0
        )

    def sequential():
        out, waits = [], []
        for request in requests:
            reply, wait = one(request, time.perf_counter())
            out.append(reply)
            waits.append(wait)
        return out, waits

    def concurrent():
        return in_threads([lambda t0, r=r: one(r, t0) for r in requests])

    def old_concurrent():
        engine.scheduling = False
        try:
            return concurrent()
        finally:
            engine.scheduling = True

    ways = {"sequential": sequential, "concurrent": concurrent}
    if args.old:
        ways["concurrent, scheduler off"] = old_concurrent
    return ways


def in_threads(calls: list) -> tuple[list, list]:
    """Run each call(t0) on its own thread, all started together; (replies, waits) in the calls' order."""
    out: list = [None] * len(calls)
    errors: list[BaseException] = []
    t0 = time.perf_counter()

    def run(i: int) -> None:
        try:
            out[i] = calls[i](t0)
        except BaseException as err:  # noqa: BLE001 - reported after the join
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [o[0] for o in out], [o[1] for o in out]


class _AppWays(dict):
    close = None


def app_ways(prompts: list[str], budgets: dict, args: argparse.Namespace) -> dict:
    import socket
    import urllib.request

    from gradio_client import Client

    from playground.generation.chat_session import message_text
    from playground.models.loading import load_model

    tokenizer = load_model("tiny", quant="none", device="cpu", offline=True).tokenizer
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runs = tempfile.mkdtemp(prefix="bench-runs-")
    env = {**os.environ, "PLAYGROUND_TRAIN_LOCK": str(Path(runs) / "train.lock")}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    log = open(Path(runs) / "app.log", "w")  # noqa: SIM115 - closed with the app
    cmd = [sys.executable, "app.py", "--offline", "--model", "tiny", "--port", str(port), "--runs-dir", runs]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the app exited: see {log.name}") from None
            time.sleep(0.5)
    print(f"via /chat of app.py (gradio_client, one session per visitor) at {url}")
    settings = dict(
        system_prompt="", temperature=0.0, top_p=0.95, top_k=20, seed=0, budget_mode="hard", min_think=0,
        wrapup_text="Time is up.", **budgets,
    )  # fmt: skip
    clients = [Client(url, verbose=False) for _ in prompts]

    def one(i: int, t0: float):
        history = clients[i].predict(message=prompts[i], history=[], **settings, api_name="/chat")[0]
        thought = "".join(message_text(m) for m in history[1:] if (m.get("metadata") or {}).get("title"))
        answer = "".join(message_text(m) for m in history[1:] if not (m.get("metadata") or {}).get("title"))
        n = len(tokenizer(thought + answer, add_special_tokens=False)["input_ids"])
        return (thought + "</think>" + answer, n), time.perf_counter() - t0

    def sequential():
        out, waits = [], []
        for i in range(len(prompts)):
            reply, wait = one(i, time.perf_counter())
            out.append(reply)
            waits.append(wait)
        return out, waits

    def concurrent():
        return in_threads([lambda t0, i=i: one(i, t0) for i in range(len(prompts))])

    one(0, time.perf_counter())  # warm-up

    def close() -> None:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()

    ways = _AppWays(sequential=sequential, concurrent=concurrent)
    ways.close = close
    return ways


if __name__ == "__main__":
    main()
