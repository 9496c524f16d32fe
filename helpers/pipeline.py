"""Cached pipeline steps that the chapters share: dataset, ROI time series, ground truth.

Each step's results live in a data-home folder keyed by exactly the parameters it depends on, so
changing the window length never re-extracts ROI signals, and changing the atlas always does. Keys
never hold a machine's paths, so a data home can be moved or shared without recomputing anything.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.annotation.targets import emotion_targets
from helpers.config import Params
from helpers.data.atlases import Atlas, load_atlas
from helpers.data.datasets import SubjectRun, ds002322_runs, simulated_runs
from helpers.data.files import file_lock_if_free
from helpers.data.preprocessing import (
    DamagedImageError,
    extract_roi_timeseries,
    load_bold,
    temporal_snr,
)
from helpers.data.storage import (
    CorruptCacheError,
    digest_of,
    discard_corrupt,
    file_lock,
    get_data_home,
    load_arrays,
    save_arrays,
    step_dir,
)
from helpers.progress import tqdm
from helpers.simulate import SIMULATED_STIMULUS_ONSET_S, load_ground_truth, write_dataset

SIMULATION_VERSION = 1
ROI_CACHE_VERSION = 2  # 2: keyed by the simulated dataset's identity instead of its absolute path


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
    return emotion_targets(params, stimulus_onset=SIMULATED_STIMULUS_ONSET_S).to_numpy(dtype=float)


def simulated_dataset_id(params: Params) -> str:
    """The digest naming the simulated dataset of these parameters (its folder under ``simulated/``)."""
    key = {
        "simulation": params.section("simulation")["simulation"],
        "atlas": params.atlas,
        "subjects": params.subject_ids(),
        "drive": digest_of(np.round(simulation_drive(params), 6)),
        "version": SIMULATION_VERSION,
    }
    return digest_of(key)


def remove_abandoned_staging(folder: Path) -> list[Path]:
    """Delete staging folders (``.<dataset id>.*``) that runs killed while writing left in ``folder``.

    A staging folder is removed only while its dataset's lock is free, so one that a live run is
    filling is never touched. Returns what was removed.
    """
    removed = []
    for staging in sorted(folder.glob(".*.*")):
        dataset_id = staging.name[1:].split(".")[0]
        if not staging.is_dir() or not dataset_id:
            continue
        try:
            with file_lock_if_free(folder / dataset_id, remove=True) as free:
                if free and staging.is_dir():
                    shutil.rmtree(staging)
                    removed.append(staging)
        except OSError:  # a read-only data home: leave it as it is
            continue
    return removed


def simulated_dataset_root(params: Params) -> Path:
    """Where the simulated dataset for these parameters lives (written on first use)."""
    root = get_data_home() / "simulated" / simulated_dataset_id(params)
    remove_abandoned_staging(root.parent)
    if not (root / "ground_truth.json").is_file():
        write_dataset(
            root,
            simulation_drive(params),
            load_atlas(params.atlas),
            params.simulation,
            params.subject_ids(),
        )
    return root


def dataset_runs(params: Params) -> list[SubjectRun]:
    """The subjects' runs for these parameters: simulated or real, validated.

    Parameters
    ----------
    params : Params
        The run's parameters (``dataset``, the subjects, ``bids_root``).

    Returns
    -------
    list of SubjectRun
        One per chosen subject: ``subject``, ``bold`` (path), ``repetition_time`` (s) and
        ``stimulus_onset`` (s after the first volume).
    """
    if params.dataset == "simulated":
        return simulated_runs(simulated_dataset_root(params), params.subject_ids())
    return ds002322_runs(params.subject_ids(), params.bids_root)


def ground_truth(params: Params) -> dict | None:
    """The planted truth of a simulated dataset, or None for real data.

    Parameters
    ----------
    params : Params
        The run's parameters.

    Returns
    -------
    dict or None
        The contents of the simulated dataset's ``ground_truth.json``; None when ``params.dataset``
        is not ``"simulated"``.
    """
    if params.dataset != "simulated":
        return None
    return load_ground_truth(simulated_dataset_root(params))


def _roi_cache_key(params: Params) -> dict:
    source = simulated_dataset_id(params) if params.dataset == "simulated" else "ds002322"
    return {
        "dataset": params.dataset,
        "source": source,
        "atlas": params.atlas,
        "preprocessing": params.section("preprocessing")["preprocessing"],
        "version": ROI_CACHE_VERSION,
    }


def _subject_arrays(
    path: Path, run: SubjectRun, atlas: Atlas, params: Params
) -> dict[str, np.ndarray]:
    """One subject's cached ROI arrays, extracted (once, under a lock) when missing or damaged."""
    if path.exists():
        try:
            return load_arrays(path)
        except CorruptCacheError as error:
            discard_corrupt(error)
    with file_lock(path, what=f"the ROI time series of {run.subject}"):
        if path.exists():  # written by another process while this one waited
            return load_arrays(path)
        image = _bold_or_rebuilt(run, params)
        arrays = {
            "timeseries": extract_roi_timeseries(run, atlas, params.preprocessing, image),
            "tsnr": temporal_snr(run, atlas, params.preprocessing, image),
        }
        save_arrays(path, **arrays)
        return arrays


def _bold_or_rebuilt(run: SubjectRun, params: Params):
    """The run's image; a damaged simulated one is written again (the simulation is seeded), a
    damaged real one stops with its name."""
    try:
        return load_bold(run)
    except DamagedImageError as error:
        if params.dataset != "simulated":
            raise
        root = simulated_dataset_root(params)
        print(f"[alice] warning: {error}; writing the simulated dataset again", file=sys.stderr)
        with file_lock(root, what=f"the simulated dataset {root.name}", remove=True):
            shutil.rmtree(root, ignore_errors=True)
        simulated_dataset_root(params)
        return load_bold(run)


def roi_timeseries(params: Params, progress: bool = True) -> RoiData:
    """ROI time series per subject, extracted once per (dataset, atlas, preprocessing) and cached.

    Parameters
    ----------
    params : Params
        The run's parameters (dataset, subjects, atlas, preprocessing).
    progress : bool, optional
        Show a progress bar over subjects.

    Returns
    -------
    RoiData
        ``timeseries`` (subject to (372, P) float32), ``tsnr`` (subject to (P,)), the ``atlas``,
        the ``runs`` and the ``cache_dir``.
    """
    runs = dataset_runs(params)
    atlas = load_atlas(params.atlas)
    folder = step_dir("roi_timeseries", _roi_cache_key(params))
    series, tsnr = {}, {}
    for run in tqdm(runs, desc="ROI time series", disable=not progress, leave=False):
        arrays = _subject_arrays(folder / f"{run.subject}.npz", run, atlas, params)
        series[run.subject], tsnr[run.subject] = arrays["timeseries"], arrays["tsnr"]
    return RoiData(series, atlas, runs, folder, tsnr)


def run_targets(params: Params, roi: RoiData):
    """The TR-level emotion targets of this run: the one definition every chapter uses.

    The chosen annotation, convolved with the HRF and sampled per volume, with the audio onset read
    from the dataset's events files (``roi.stimulus_onset``: the simulated dataset's 0.657 s, or on
    ds002322 the median over the chosen subjects, whose onsets differ by less than a second).

    Parameters
    ----------
    params : Params
        The run's parameters (the annotation and its HRF).
    roi : RoiData
        The run's ROI data, whose ``stimulus_onset`` places the audio.

    Returns
    -------
    pandas.DataFrame
        (372, 8) targets, index ``volume``, columns :data:`EMOTIONS`.
    """
    return emotion_targets(params, stimulus_onset=roi.stimulus_onset)
