"""The interpretation chapter's kept indices on small simulated worlds where the answer is known.

One dataset per world on the calibration design of ``params/quick.yml`` (6 subjects, Dosenbach
atlas, 100 null draws): the null world and planted ones of both codes, with development seeds of
the benchmark (benchmarks/bench_accounts.py). The verdicts are not right on every
dataset (the benchmark measures how often they are), so these pin one dataset each and check the
whole chain, simulation to conclusion, on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.calibration_verdicts import world_verdicts
from helpers.config import load_params
from helpers.explain.accounts import is_kept

QUICK = Path(__file__).resolve().parents[1] / "params" / "quick.yml"


def _verdicts(world: str, seed: int, effect: str) -> tuple[dict[str, str], str]:
    params = load_params(
        QUICK, {"simulation": {"effect": effect}, "explain": {"n_null_draws": 100}}
    )
    records = world_verdicts(params, world, seed)
    found = {row["index"]: row for row in records}
    explained = found["conclusion"]["explained"]
    if explained == "none":  # no decoder beats its null draws
        return {}, found["conclusion"]["favours"]
    suffix = f" ({explained})"
    kept = {n: row["favours"] for n, row in found.items() if n.endswith(suffix) and is_kept(n)}
    return kept, found["conclusion"]["favours"]


@pytest.mark.parametrize(
    "world, seed, effect, expected",
    [
        ("null", 5000, "connectivity", "inconclusive"),
        ("locationist", 5001, "amplitude", "locationist"),
        ("constructionist", 5001, "amplitude", "constructionist"),
        ("locationist", 5011, "connectivity", "locationist"),
        ("constructionist", 5001, "connectivity", "constructionist"),
    ],
)
def test_kept_indices_name_the_planted_account(mirror, world, seed, effect, expected):
    kept, conclusion = _verdicts(world, seed, effect)
    assert conclusion == expected, kept
    other = {"locationist": "constructionist", "constructionist": "locationist"}.get(expected)
    assert other not in kept.values(), kept
    if expected != "inconclusive":
        assert expected in kept.values(), kept
