"""The interpretation chapter's kept indices on small simulated worlds where the answer is known.

One dataset per world on the calibration design of ``params/quick.yml`` (6 subjects, Dosenbach
atlas, 100 null draws), with seeds of the benchmark (benchmarks/bench_accounts.py): the verdicts
are not right on every dataset (the benchmark measures how often they are), so these pin one
dataset each and check the whole chain, simulation to conclusion, on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.calibration_verdicts import world_verdicts
from helpers.config import load_params
from helpers.explain.accounts import KEPT

QUICK = Path(__file__).resolve().parents[1] / "params" / "quick.yml"


def _verdicts(world: str, seed: int, effect: str, features: str) -> dict[str, str]:
    params = load_params(
        QUICK, {"simulation": {"effect": effect}, "explain": {"n_null_draws": 100}}
    )
    records = world_verdicts(params, world, seed)
    found = {row["index"]: row["favours"] for row in records}
    return {name: found[f"{name} ({features})"] for name in KEPT} | {
        "conclusion": found["conclusion"]
    }


@pytest.mark.parametrize(
    "world, seed, effect, features, expected",
    [
        ("null", 5000, "connectivity", "dfc", "inconclusive"),
        ("locationist", 5000, "connectivity", "dfc", "locationist"),
        ("constructionist", 5012, "amplitude", "roi_window", "constructionist"),
    ],
)
def test_kept_indices_name_the_planted_account(mirror, world, seed, effect, features, expected):
    verdicts = _verdicts(world, seed, effect, features)
    assert set(verdicts.values()) == {expected}, verdicts
