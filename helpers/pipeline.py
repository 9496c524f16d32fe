"""Cached pipeline steps that the chapters share: dataset, ROI time series, ground truth.

Each step's results live in a data-home folder keyed by exactly the parameters it depends on, so
changing the window length never re-extracts ROI signals, and changing the atlas always does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from helpers.progress import tqdm

from helpers.data.atlases import Atlas, load_atlas
from helpers.config import Params
from helpers.data.datasets import SubjectRun, ds002322_runs, simulated_runs
from helpers.data.storage import (
    atomic_write_json,
    digest_of,
    get_data_home,
    load_arrays,
    save_arrays,
    step_dir,
)


@dataclass
class RoiData:
    """ROI time series of every subject of a run, with the atlas that defines the ROIs."""

    timeseries: dict[str, np.ndarray]  # subject -> (372, P) float32
    atlas: Atlas
    runs: list[SubjectRun]
    cache_dir: Path
    tsnr: dict[str, np.ndarray] | None = None  # subject -> (P,) temporal SNR of the raw signal

    @property
    def subjects(self) -> list[str]:
        return list(self.timeseries)

    @property
    def stimulus_onset(self) -> float:
        """Audio onset after the first volume (median over subjects; they differ by < 1 s)."""
        return float(np.median([run.stimulus_onset for run in self.runs]))


def simulation_drive(params: Params) -> np.ndarray:
    """Emotion time series (372, 8) that drive the simulated brain: the chapter-1 targets."""
    from helpers.simulate import SIMULATED_STIMULUS_ONSET_S
    from helpers.annotation.targets import emotion_targets

    return emotion_targets(params, stimulus_onset=SIMULATED_STIMULUS_ONSET_S).to_numpy(dtype=float)


def simulated_dataset_root(params: Params) -> Path:
    """Where the simulated dataset for these parameters lives (written on first use)."""
    from helpers.simulate import write_dataset

    drive = simulation_drive(params)
    key = {
        "simulation": params.section("simulation")["simulation"],
        "atlas": params.atlas,
        "subjects": params.subject_ids(),
        "drive": digest_of(np.round(drive, 6)),
        "version": 1,
    }
    root = get_data_home() / "simulated" / digest_of(key)
    if not (root / "ground_truth.json").is_file():
        write_dataset(root, drive, load_atlas(params.atlas), params.simulation, params.subject_ids())
    return root


def dataset_runs(params: Params) -> list[SubjectRun]:
    """The subjects' runs for these parameters: simulated or real, validated."""
    if params.dataset == "simulated":
        return simulated_runs(simulated_dataset_root(params), params.subject_ids())
    return ds002322_runs(params.subject_ids(), params.bids_root)


def ground_truth(params: Params) -> dict | None:
    """The planted truth of a simulated dataset, or None for real data."""
    if params.dataset != "simulated":
        return None
    from helpers.simulate import load_ground_truth

    return load_ground_truth(simulated_dataset_root(params))


def roi_timeseries(params: Params, progress: bool = True) -> RoiData:
    """ROI time series per subject, extracted once per (dataset, atlas, preprocessing) and cached."""
    from helpers.data.preprocessing import extract_roi_timeseries, load_bold, temporal_snr

    runs = dataset_runs(params)
    atlas = load_atlas(params.atlas)
    key = {
        "dataset": params.dataset,
        "source": str(runs[0].bold.parent.parent.parent) if params.dataset == "simulated" else "ds002322",
        "atlas": params.atlas,
        "preprocessing": params.section("preprocessing")["preprocessing"],
        "version": 1,
    }
    folder = step_dir("roi_timeseries", key)
    series, tsnr = {}, {}
    for run in tqdm(runs, desc="ROI time series", disable=not progress, leave=False):
        path = folder / f"{run.subject}.npz"
        if not path.exists():
            image = load_bold(run)
            save_arrays(
                path,
                timeseries=extract_roi_timeseries(run, atlas, params.preprocessing, image),
                tsnr=temporal_snr(run, atlas, params.preprocessing, image),
            )
        arrays = load_arrays(path)
        series[run.subject], tsnr[run.subject] = arrays["timeseries"], arrays["tsnr"]
    atomic_write_json(folder / "subjects.json", sorted(series))
    return RoiData(series, atlas, runs, folder, tsnr)


def describe_runs(runs: list[SubjectRun]) -> str:
    return json.dumps([{"subject": r.subject, "bold": str(r.bold)} for r in runs], indent=1)


def run_targets(params: Params, roi: RoiData):
    """The TR-level emotion targets of this run: the one definition every chapter uses.

    The chosen annotation, convolved with the HRF and sampled per volume, with the audio onset read
    from the dataset's events files (``roi.stimulus_onset``: the simulated dataset's 0.657 s, or on
    ds002322 the median over the chosen subjects, whose onsets differ by less than a second).
    """
    from helpers.annotation.targets import emotion_targets

    return emotion_targets(params, stimulus_onset=roi.stimulus_onset)
