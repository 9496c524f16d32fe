"""The interpretation chapter's verdict table: which account does each index name, where it is known?

Each world is simulated at the ROI level on the calibration design with its own seed: a null
world (nothing planted), a locationist one and a constructionist one (``simulation.account``, with
``simulation.effect`` as the planted code), and goes through the interpretation chapter's indices
(:func:`helpers.calibration.interpretation_verdicts`). The table counts, per index and world, how
often each verdict came out, the chapter's conclusion included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from helpers.annotation.targets import emotion_targets
from helpers.calibration import design_params, interpretation_verdicts
from helpers.calibration_jobs import JobExecution, run_jobs
from helpers.config import Params
from helpers.data.atlases import load_atlas
from helpers.explain.heldout import explained_model
from helpers.features import build_feature_sets
from helpers.simulate import SIMULATED_STIMULUS_ONSET_S, simulate_roi_level

WORLDS = {"null": "locationist", "locationist": "locationist", "constructionist": "constructionist"}
"""The worlds of the verdict table and the account each plants (the null world plants nothing)."""


def world_verdicts(params: Params, world: str, seed: int) -> list[dict[str, Any]]:
    """The interpretation chapter on one simulated dataset of ``world``: one record per index.

    The dataset follows the calibration design (atlas, subjects, window step, DFC and windowed ROI
    amplitude) with the chapter's own models (the explained one is the first of ``params.models``)
    and ``params.simulation.effect`` as the planted code of the two planted worlds.
    """
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; known: {', '.join(WORLDS)}")
    account = WORLDS[world]
    planted = params.simulation.effect if params.simulation.effect != "none" else "connectivity"
    effect = "none" if world == "null" else planted
    design = design_params(params, effect, seed, {"models": params.models})
    design = design.model_copy(
        update={"simulation": design.simulation.model_copy(update={"account": account})}
    )
    drive = emotion_targets(design, stimulus_onset=SIMULATED_STIMULUS_ONSET_S)
    data = simulate_roi_level(
        drive.to_numpy(), load_atlas(design.atlas), design.simulation, design.subject_ids()
    )
    sets = build_feature_sets(design, data, drive, use_cache=False)
    model = explained_model(design.models)
    tests = interpretation_verdicts(design, sets, int(seed), model)
    return [
        {"index": name, "world": world, "planted": effect, "seed": int(seed), "model": model} | test
        for name, test in tests.items()
    ]


def run_worlds(
    params: Params,
    seeds: Sequence[int],
    worlds: Iterable[str] = tuple(WORLDS),
    execution: JobExecution | None = None,
) -> pd.DataFrame:
    """:func:`world_verdicts` on every (world, seed), locally or on ``execution.executor``.

    Parameters
    ----------
    params : Params
        The parameter set whose calibration design is run.
    seeds : sequence of int
        One dataset per seed and world.
    worlds : iterable of str
        Names of :data:`WORLDS`.
    execution : JobExecution, optional
        Workers, (world, seed) datasets an interrupted run finished, and what to do as each
        finishes (to persist it).

    Returns
    -------
    pandas.DataFrame
        The verdict records in job order, so a resumed run returns what an uninterrupted one does.
    """
    jobs = [(world, int(seed)) for world in worlds for seed in seeds]
    return run_jobs(world_verdicts, params, jobs, execution or JobExecution(), "verdicts")


def verdicts(records: pd.DataFrame) -> pd.DataFrame:
    """The verdict table: per (index, world), how often each verdict was given.

    Records ``{index, world, planted, n_datasets, share_constructionist, share_locationist,
    share_inconclusive}``, the chapter's conclusion included as ``index: "conclusion"``.

    Parameters
    ----------
    records : pandas.DataFrame
        The verdict records of :func:`run_worlds`: columns ``index``, ``world``, ``seed`` and
        ``favours``, optionally ``planted``.

    Returns
    -------
    pandas.DataFrame
        One row per (index, world[, planted]) with ``n_datasets`` and the three verdict shares.
    """
    rows = []
    keys = ["index", "world"] + (["planted"] if "planted" in records else [])
    for values, group in records.groupby(keys, sort=False):
        favours = group["favours"]
        rows.append(
            dict(zip(keys, values))
            | {"n_datasets": int(group["seed"].nunique())}
            | {
                f"share_{account}": float((favours == account).mean())
                for account in ("constructionist", "locationist", "inconclusive")
            }
        )
    return pd.DataFrame(rows)


__all__ = ["WORLDS", "world_verdicts", "run_worlds", "verdicts"]
