"""The benchmarks that time the engine still run against today's helpers (at a toy size)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_book import ROOT

TOY_RUNS = {
    "bench_paper_scale.py": [
        "--subjects", "8", "--rois", "90", "--permutations", "5", "--models", "ridge",
        "--subjects-per-fold", "2", "--kernel-subjects-per-fold", "2", "--pairing", "all",
    ],
    "bench_features.py": ["--subjects", "2", "--rois", "30", "--volumes", "60"],
}  # fmt: skip


@pytest.mark.parametrize("script", sorted(TOY_RUNS))
def test_benchmark_runs_at_a_toy_size(script):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *TOY_RUNS[script]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # exit 1 is a benchmark's own "target missed", which a toy size may well be
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "target" in done.stdout.lower()
