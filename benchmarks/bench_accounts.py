"""Do the interpretation chapter's verdicts name the planted account? A small verdict table.

Run: ``python benchmarks/bench_accounts.py --datasets 15 --effect connectivity``. On the
calibration design of ``--params`` it measures (1) the oracle's mean held-out r of each account's
world (decodability must match, so no index can win by reading signal strength) and (2) the verdict
table: how often each index, and the chapter's conclusion, says constructionist, locationist or
inconclusive on null, locationist and constructionist worlds. Seeds start at 5000, away from the
book's and the calibration's. Writes the records and the table to ``--out`` (JSON) and prints both.

Measured on params/quick.yml (Dosenbach 160, 6 subjects, CPM explained, 100 null draws), 15
datasets per world, 2 shared cores (about 10 and 9 minutes):

* oracle mean r (4 datasets each): connectivity 0.460 locationist / 0.421 constructionist;
  amplitude 0.975 / 0.953.
* conclusion, connectivity-coded worlds: null 93% inconclusive (7% constructionist); locationist
  53% locationist, 0% constructionist; constructionist 13% constructionist, 7% locationist, 80%
  inconclusive (CPM on DFC barely decodes that world: its edges mix every emotion).
* conclusion, amplitude-coded worlds: locationist 67% locationist, 0% wrong; constructionist 73%
  constructionist, 0% wrong (the same null world: 93% inconclusive).
* descriptive indices on the connectivity-coded locationist world: ``mean_jaccard`` 80% and
  ``shared_core`` 73% "constructionist", the wrong account, as in the issue's report.

Against SNR (``--snr``, 8 datasets per planted world, so steps of 12%), the conclusion's correct /
wrong-account shares: amplitude SNR 1: locationist 88% / 0%, constructionist 50% / 0%; SNR 2:
50% / 0% and 75% / 0%; SNR 3 (above): 67% / 0% and 73% / 0%. Connectivity SNR 5: locationist 12%
/ 12%, constructionist 38% / 12% (oracle r 0.47 and 0.43: the coupling saturates, while the null
decoders follow the stronger planted covariance too). Power is not monotone in SNR and does not
reach the issue's 80% target in any world tried.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.calibration import design_params, simulated_run
from helpers.calibration_verdicts import run_worlds, verdicts
from helpers.config import load_params
from helpers.data.storage import atomic_write_json


def oracle_r(params, effect: str, account: str, seeds: range) -> list[float]:
    """The oracle's mean held-out r on ``seeds`` datasets of one world (ridge only, few nulls)."""
    out = []
    for seed in seeds:
        design = design_params(params, effect, seed, models=["ridge"], n_permutations=20)
        simulation = design.simulation.model_copy(update={"account": account})
        run = simulated_run(design.model_copy(update={"simulation": simulation}))
        scores = run.results[("oracle", "planted", "loso_blocked")].scores()
        out.append(float(scores.set_index("emotion").loc["mean", "r"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params/quick.yml")
    parser.add_argument("--datasets", type=int, default=15)
    parser.add_argument("--oracle-datasets", type=int, default=5)
    parser.add_argument("--effect", default="connectivity", choices=["connectivity", "amplitude"])
    parser.add_argument("--null-draws", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=5000)
    parser.add_argument("--snr", type=float, default=None, help="calibration.snr of the worlds")
    parser.add_argument("--worlds", nargs="+", default=["null", "locationist", "constructionist"])
    parser.add_argument("--out", default="benchmarks/accounts.json")
    args = parser.parse_args()
    overrides = {
        "simulation": {"effect": args.effect},
        "explain": {"n_null_draws": args.null_draws},
    }
    if args.snr is not None:
        overrides["calibration"] = {"snr": args.snr}
    params = load_params(args.params, overrides)
    started = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.oracle_datasets)
    accounts = [w for w in args.worlds if w != "null"]
    oracle = {a: oracle_r(params, args.effect, a, seeds) for a in accounts}
    for account, values in oracle.items():
        if values:
            print(f"oracle r, {account}: {np.mean(values):.3f} ({np.round(values, 3).tolist()})")
    seeds = range(args.first_seed, args.first_seed + args.datasets)
    records = run_worlds(params, list(seeds), worlds=args.worlds)
    table = verdicts(records)
    pd.set_option("display.width", 200)
    print(table.round(2).to_string(index=False))
    seconds = time.perf_counter() - started
    print(f"{seconds:.0f} s")
    atomic_write_json(
        Path(args.out),
        json.loads(
            json.dumps(
                {
                    "effect": args.effect,
                    "snr": params.calibration.snr,
                    "oracle_r": oracle,
                    "verdicts": table.to_dict("records"),
                    "records": records.to_dict("records"),
                    "seconds": seconds,
                },
                default=float,
            )
        ),
    )


if __name__ == "__main__":
    main()
