"""The same evaluation through the local engine and through a vLLM server on this machine (a script, not a test).

    python bench/bench_remote.py [--server http://127.0.0.1:PORT/v1] [--family maze] [--puzzles 50] [--samples 8]
        [--budgets 0,unlimited] [--temperature 0.8] [--threads K] [--vllm-args "--stream-interval 8"]

Without --server it starts vLLM (scripts/vllm_server.py, the tiny reasoner on a free loopback port, with
--vllm-args added to its command line; VLLM_CPU_NUM_OF_RESERVED_CPU in the environment reaches it) and stops it at
the end. Two runs on each backend, one after the other: a sampled run (--samples per puzzle at --temperature:
throughput, tokens/s and wall time, and the remote/local ratio) and a greedy run (temperature 0: the accuracy
tables must be identical). Goal: remote throughput ≥ 1.5× the local engine's on the same CPU.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GOAL = 1.5


def run(backend, label: str, config) -> tuple[object, float, int]:
    """One evaluation; returns its result, wall seconds and generated tokens (every generation counted once)."""
    from playground.evaluation.run import run_evaluation

    t0 = time.perf_counter()
    result = run_evaluation(backend, config, save=False)
    seconds = time.perf_counter() - t0
    per_puzzle = 1 if config.temperature == 0 else config.samples
    tokens = sum(r["thinking_tokens"] + r["answer_tokens"] for r in result.records if r["sample"] < per_puzzle)
    print(f"  {label:<6} {seconds:7.1f} s  {tokens:8,d} tokens  {tokens / seconds:7.0f} tokens/s", flush=True)
    return result, seconds, tokens


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=None, help="a running server (default: start one)")
    ap.add_argument("--family", default="maze")
    ap.add_argument("--puzzles", type=int, default=50)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--budgets", default="0,unlimited")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--threads", type=int, default=None, help="torch threads of the local engine")
    ap.add_argument("--vllm-args", default="", help="more vLLM arguments for the server it starts")
    args = ap.parse_args()

    import torch

    from playground.evaluation.run import EvalConfig
    from playground.generation.budgets import parse_budgets
    from playground.generation.engine import Engine
    from playground.generation.remote import RemoteBackend
    from playground.models.loading import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    proc = None
    url = args.server
    if url is None:
        import vllm_server

        vllm_server.ensure_venv()
        port = 8123
        extra = shlex.split(args.vllm_args)
        proc = vllm_server.start(port=port, log_path="/tmp/bench_remote_vllm.log", extra_args=extra)
        t0 = time.perf_counter()
        url = vllm_server.wait_ready(port, proc)
        reserved = os.environ.get("VLLM_CPU_NUM_OF_RESERVED_CPU", "vLLM's default")
        print(
            f"vLLM ready in {time.perf_counter() - t0:.0f} s at {url} (extra args: {extra or 'none'}; CPUs "
            f"reserved for its scheduler: {reserved}; {os.cpu_count()} CPUs here)"
        )
    try:
        local = Engine(load_model("tiny", device="cpu", offline=True))
        remote = RemoteBackend(url)
        remote.load("tiny")
        budgets = parse_budgets(args.budgets)
        print(
            f"{args.family}: {args.puzzles} puzzles, budgets {args.budgets}; local engine on {torch.get_num_threads()}"
            f" torch threads, vLLM (CPU) at {url}, {remote.max_in_flight} requests in flight at most"
        )
        base = dict(family=args.family, puzzles=args.puzzles, budgets=budgets, answer_budget=512)
        sampled = EvalConfig(**base, samples=args.samples, temperature=args.temperature, seed=0)
        print(f"sampled: {args.samples} samples per puzzle at T={args.temperature}")
        _, local_s, local_tok = run(local, "local", sampled)
        _, remote_s, remote_tok = run(remote, "remote", sampled)
        ratio = (remote_tok / remote_s) / (local_tok / local_s)
        print(f"  throughput remote/local: {ratio:.2f}x (goal >= {GOAL}x: {'met' if ratio >= GOAL else 'NOT met'})")
        print(f"  wall time local/remote: {local_s / remote_s:.2f}x")

        greedy = EvalConfig(**base, samples=1, temperature=0.0)
        print("greedy (temperature 0): accuracy must be identical")
        local_res, *_ = run(local, "local", greedy)
        remote_res, *_ = run(remote, "remote", greedy)
        table = lambda res: res.frame(compact=True).to_string(index=False)
        print(table(local_res))
        same = [r["correct"] for r in local_res.records] == [r["correct"] for r in remote_res.records]
        answers = sum(a["answer"] == b["answer"] for a, b in zip(local_res.records, remote_res.records))
        print(
            f"  accuracy identical: {same and table(local_res) == table(remote_res)}; "
            f"identical answers: {answers}/{len(local_res.records)}"
        )
        if not same:
            print("remote:\n" + table(remote_res))
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
