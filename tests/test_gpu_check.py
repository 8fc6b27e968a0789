"""bench/gpu_check.py: its reduced CPU mode runs every step (4-bit NF4 load on CPU, budgets, batches, evaluation,
three QLoRA steps) on a tiny Qwen3, and its GPU mode's model has Qwen3-1.7B's shape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = [
    "engine: time to first token (batch 1)",
    "engine: decode tokens/s (batch 1)",
    "engine: tokens/s (batch 16, prefill included)",
    "HF generate: time to first token (batch 1)",
    "HF generate: decode tokens/s (batch 1)",
    "HF generate: tokens/s (batch 16, prefill included)",
    "bandwidth ceiling, batch 1 (bandwidth ÷ weight bytes)",
    "engine: peak memory",
    "QLoRA: peak memory",
]


def test_cpu_smoke_runs_every_check(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "bench/gpu_check.py", "--cpu-smoke", "--keep", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "[FAIL]" not in out and "10/10 checks held" in out
    for check in ("weights are 4-bit NF4", "hard budget exact", "batched evaluation", "QLoRA base is 4-bit"):
        assert f"[ok] {check}" in out
    for figure in FIGURES:
        assert figure in out
    assert (tmp_path / "qlora" / "adapter" / "adapter_config.json").is_file()
    assert (tmp_path / "model" / "config.json").is_file()


def test_the_gpu_model_has_qwen3_1_7b_shape():
    import torch
    from transformers import Qwen3ForCausalLM

    sys.path.insert(0, str(ROOT))
    from bench.gpu_check import QWEN3_1_7B, qwen3_config

    with torch.device("meta"):
        model = Qwen3ForCausalLM(qwen3_config(QWEN3_1_7B, QWEN3_1_7B.vocab))
    params = sum(p.numel() for p in model.parameters())
    assert 1.70e9 < params < 1.73e9  # Qwen3-1.7B: 1.72B with tied embeddings
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert all(m.in_features % 64 == 0 and m.out_features % 32 == 0 for m in linear)
