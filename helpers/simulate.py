"""A simulated ds002322 with known truth: emotions drive chosen brain signals over realistic noise.

Real data are 8.9 GB and not always reachable, so the default book runs on a dataset written by
this module. It is shaped like ds002322 (same derivative file names, TR 2 s, 372 volumes, MNI
space, BIDS sidecars) and adds ``ground_truth.json`` saying which ROI pairs and ROIs carry which
emotion. That makes testable what no real dataset can: that the pipeline recovers planted edges,
that connectivity features win only when the truth is connectivity, and that a null dataset gives
no effect under honest cross-validation.

Signal model, per subject, for ROI ``k`` at volume ``t`` (all ROI noise has unit variance):

* background: ``x_k = l_k z_net(k) + sqrt(1 - l_k^2) e_k``, a shared AR(1) fluctuation of the ROI's
  network (loading ``l_k``) plus private AR(1) noise, so static connectivity has network structure;
* where (``account``): ``locationist`` (default) gives each emotion its own ROIs, none shared;
  ``constructionist`` one pool in domain-general networks for all emotions, each emotion with its
  own signed gains (definitions and citations: :mod:`helpers.simulate_accounts`);
* connectivity coding: each emotion ``e`` has a module of ``module_size`` ROIs; every ROI ``i`` of
  the module receives ``a_i sqrt(c_e(t)) s_e(t)`` where ``s_e`` is the module's shared AR(1) driver
  and ``c_e`` the emotion's trajectory rescaled to [0, 1]. The coupling of every pair in the module
  (``module_size * (module_size - 1) / 2`` edges) rises with the emotion while no ROI's mean level
  does: the information sits in the interactions only (constructionist: pairs whose gains have
  opposite signs anti-couple);
* amplitude coding: a planted ROI receives ``b * zscore(E_e(t))``: its mean level tracks the emotion;
* ``a_i`` and ``b`` are ``snr`` times a per-ROI gain (0.8-1.2) times a per-subject factor (0.8-1.2);
  an edge's planted gain is the product of its two ROIs' gains.

Voxels of each ROI carry its signal plus voxel noise, at about 1% signal change on a baseline of
1000, with slow drifts (removed by high-pass filtering) and a few global motion-like spikes.
``effect: none`` uses the same noise with no emotion effect: a null dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from helpers.config import SimulationParams
from helpers.data.atlases import Atlas, roi_assignment
from helpers.data.datasets import derivative_relpath, events_relpath, sidecar_relpath
from helpers.data.files import apply_umask_permissions, file_lock
from helpers.data.grids import simulation_grid
from helpers.features.edges import edge_position
from helpers.simulate_accounts import plant_constructionist
from helpers.study import EMOTIONS, N_VOLUMES, TR_SECONDS

SIMULATED_STIMULUS_ONSET_S = 0.657
"""Audio onset after the first volume, as in ds002322's sub-18 events file."""

# Networks that host each emotion's planted signal in the Seitzman atlas (regions also allowed).
# Other atlases draw two host networks per emotion at random.
SEITZMAN_HOSTS: dict[str, tuple[str, ...]] = {
    "anticipation": ("DorsalAttention", "FrontoParietal"),
    "joy": ("Reward", "DefaultMode"),
    "trust": ("DefaultMode", "ParietoMedial"),
    "fear": ("Salience", "CinguloOpercular", "amygdala"),
    "surprise": ("VentralAttention", "Auditory"),
    "sadness": ("DefaultMode", "MedialTemporalLobe"),
    "disgust": ("CinguloOpercular", "SomatomotorLateral"),
    "anger": ("Salience", "FrontoParietal"),
}

BASELINE = 1000.0
PERCENT = 0.01 * BASELINE


@dataclass
class SimulatedSignals:
    """ROI-level signals of every subject and the truth that produced them."""

    roi_signals: dict[str, np.ndarray]  # subject -> (T, P) float32
    ground_truth: dict


def _ar1(rng: np.random.Generator, n_time: int, n_series: int, phi: float) -> np.ndarray:
    """Unit-variance AR(1) noise, (n_time, n_series)."""
    innovations = rng.standard_normal((n_time, n_series)) * np.sqrt(1 - phi**2)
    out = np.empty_like(innovations)
    out[0] = rng.standard_normal(n_series)
    for t in range(1, n_time):
        out[t] = phi * out[t - 1] + innovations[t]
    return out


def _host_rois(atlas: Atlas, emotion: str, rng: np.random.Generator) -> np.ndarray:
    names = SEITZMAN_HOSTS.get(emotion, ()) if atlas.name == "seitzman300" else ()
    if not names:
        networks = [n for n in atlas.network_names() if n.lower() != "unassigned"]
        names = tuple(rng.choice(networks, size=min(2, len(networks)), replace=False))
    return np.unique(np.concatenate([atlas.rois_in(n) for n in names]))


def plant_ground_truth(atlas: Atlas, sim: SimulationParams) -> dict:
    """Choose, per emotion, the module of ROIs (connectivity) and the ROIs (amplitude) that carry it.

    ``sim.account`` decides where: ``locationist`` gives each emotion its own ROIs (no ROI used by
    two emotions, so each planted signal belongs to exactly one emotion), ``constructionist`` one
    shared pool with emotion-specific signed gains (:mod:`helpers.simulate_accounts`). The choice
    depends only on the atlas, the account and ``sim.seed``: a null dataset (``effect: none``) with
    the same seed has the same noise and would have planted the same ROIs (``would_plant``).
    """
    truth: dict = {
        "atlas": atlas.name,
        "n_rois": atlas.n_rois,
        "effect": sim.effect,
        "account": sim.account,
        "snr": sim.snr,
        "seed": sim.seed,
        "module_size": sim.module_size,
        "edge_order": "np.triu_indices(n_rois, k=1)",
        "emotions": {},
        "would_plant": (
            _plant_locationist(atlas, sim)
            if sim.account == "locationist"
            else plant_constructionist(atlas, sim.module_size, sim.rois_per_emotion, sim.seed)
        ),
    }
    connectivity = sim.effect in ("connectivity", "both")
    amplitude = sim.effect in ("amplitude", "both")
    for emotion, plant in truth["would_plant"].items():
        truth["emotions"][emotion] = {
            "module": plant["module"] if connectivity else [],
            "edges": plant["edges"] if connectivity else [],
            "rois": plant["rois"] if amplitude else [],
        }
    return truth


def _plant_locationist(atlas: Atlas, sim: SimulationParams) -> dict:
    """Each emotion's own module and amplitude ROIs, drawn from its host networks, none shared."""
    rng = np.random.default_rng([sim.seed, 1])
    used: set[int] = set()
    per_emotion = sim.module_size + sim.rois_per_emotion
    if per_emotion * len(EMOTIONS) > atlas.n_rois:
        raise ValueError(
            f"simulation.module_size + simulation.rois_per_emotion = {per_emotion} ROIs per emotion "
            f"need {per_emotion * len(EMOTIONS)} ROIs, more than {atlas.name} has ({atlas.n_rois})"
        )
    plants = {}
    for emotion in EMOTIONS:
        hosts = [r for r in _host_rois(atlas, emotion, rng) if r not in used]
        if len(hosts) < per_emotion:
            pool = [r for r in range(atlas.n_rois) if r not in used and r not in hosts]
            hosts = list(hosts) + list(
                rng.choice(pool, size=per_emotion - len(hosts), replace=False)
            )
        chosen = [int(c) for c in rng.choice(hosts, size=per_emotion, replace=False)]
        used.update(chosen)
        module = sorted(chosen[: sim.module_size])
        gains = {k: round(float(rng.uniform(0.8, 1.2)), 4) for k in module}
        edges = [
            {
                "rois": [i, j],
                "labels": [atlas.labels[i], atlas.labels[j]],
                "networks": [atlas.networks[i], atlas.networks[j]],
                "edge_index": edge_position(i, j, atlas.n_rois),
                "gain": round(gains[i] * gains[j], 4),
            }
            for a, i in enumerate(module)
            for j in module[a + 1 :]
        ]
        module_entries = [
            {"roi": k, "label": atlas.labels[k], "network": atlas.networks[k], "gain": gains[k]}
            for k in module
        ]
        rois = [
            {
                "roi": k,
                "label": atlas.labels[k],
                "network": atlas.networks[k],
                "gain": round(float(rng.uniform(0.8, 1.2)), 4),
            }
            for k in sorted(chosen[sim.module_size :])
        ]
        plants[emotion] = {"module": module_entries, "edges": edges, "rois": rois}
    return plants


def _rescale01(series: np.ndarray) -> np.ndarray:
    low, high = series.min(axis=0), series.max(axis=0)
    return (series - low) / np.where(high > low, high - low, 1.0)


def _zscore(series: np.ndarray) -> np.ndarray:
    std = series.std(axis=0)
    return (series - series.mean(axis=0)) / np.where(std > 0, std, 1.0)


def simulate_roi_signals(
    emotions: np.ndarray, atlas: Atlas, sim: SimulationParams, subjects: list[str]
) -> SimulatedSignals:
    """ROI signals (T, P) per subject driven by the emotion time series ``emotions`` (T, 8)."""
    emotions = np.asarray(emotions, dtype=float)
    if emotions.shape != (N_VOLUMES, len(EMOTIONS)):
        raise ValueError(
            f"emotion drive must be ({N_VOLUMES}, {len(EMOTIONS)}), got {emotions.shape}"
        )
    truth = plant_ground_truth(atlas, sim)
    coupling = _rescale01(emotions)
    level = _zscore(emotions)
    network_of = {name: i for i, name in enumerate(atlas.network_names())}
    roi_network = np.array([network_of[n] for n in atlas.networks])
    signals = {}
    for s_index, subject in enumerate(subjects):
        noise_rng = np.random.default_rng([sim.seed, 2, s_index])
        effect_rng = np.random.default_rng([sim.seed, 3, s_index])
        loading = noise_rng.uniform(0.3, 0.6, atlas.n_rois)
        network_signal = _ar1(noise_rng, N_VOLUMES, len(network_of), 0.7)[:, roi_network]
        private = _ar1(noise_rng, N_VOLUMES, atlas.n_rois, 0.5)
        x = loading * network_signal + np.sqrt(1 - loading**2) * private
        subject_factor = effect_rng.uniform(0.8, 1.2)
        for e_index, emotion in enumerate(EMOTIONS):
            planted = truth["emotions"][emotion]
            if planted["module"]:
                driver = _ar1(effect_rng, N_VOLUMES, 1, 0.5)[:, 0]
                shared = np.sqrt(coupling[:, e_index]) * driver
                for roi in planted["module"]:
                    x[:, roi["roi"]] += sim.snr * roi["gain"] * subject_factor * shared
            for roi in planted["rois"]:
                x[:, roi["roi"]] += sim.snr * roi["gain"] * subject_factor * level[:, e_index]
        signals[subject] = x.astype(np.float32)
    return SimulatedSignals(signals, truth)


def render_bold(
    roi_signal: np.ndarray,
    assignment: np.ndarray,
    brain: np.ndarray,
    rng: np.random.Generator,
    voxel_noise: float = 1.0,
) -> np.ndarray:
    """A 4-D BOLD array: ROI signals in their voxels, noise elsewhere in the brain, drifts, spikes."""
    inside = brain | (assignment >= 0)
    flat_roi = assignment[inside]
    n_vox = int(inside.sum())
    t = np.arange(N_VOLUMES) * TR_SECONDS
    signal = rng.standard_normal((N_VOLUMES, n_vox), dtype=np.float32) * np.float32(voxel_noise)
    in_roi = flat_roi >= 0
    signal[:, in_roi] += roi_signal[:, flat_roi[in_roi]]
    # Slow drifts (periods 200-750 s, below a 1/128 Hz high-pass) with a random amplitude per voxel.
    periods = rng.uniform(200, 750, 2)
    drift_basis = np.stack(
        [np.cos(2 * np.pi * t / p + rng.uniform(0, 2 * np.pi)) for p in periods], 1
    )
    signal += drift_basis.astype(np.float32) @ rng.normal(0, 0.8, (2, n_vox)).astype(np.float32)
    # Motion-like spikes: a few volumes with a global jump.
    spikes = rng.choice(N_VOLUMES, size=3, replace=False)
    signal[spikes] += rng.normal(0, 3.0, (3, 1)).astype(np.float32)
    signal *= np.float32(PERCENT)
    signal += np.float32(BASELINE)
    volume = np.zeros(brain.shape + (N_VOLUMES,), dtype=np.float32)
    volume[inside] = signal.T
    return volume


def write_dataset(
    root: str | Path, emotions: np.ndarray, atlas: Atlas, sim: SimulationParams, subjects: list[str]
) -> Path:
    """Write a BIDS dataset shaped like ds002322 into ``root`` (atomically: all or nothing).

    Safe when several processes share a data home: the dataset is built in a staging folder under
    a lock, renamed into place whole, and a complete dataset (one with ``ground_truth.json``) is
    never deleted or rewritten. Staging folders left by a killed run are removed by the next writer
    of the same dataset (it holds the lock, so no live run is using them).
    """
    root = Path(root)
    if (root / "ground_truth.json").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(root, what=f"the simulated dataset {root.name}", remove=True):
        if (root / "ground_truth.json").is_file():  # written by another process while we waited
            return root
        for leftover in root.parent.glob(f".{root.name}.*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
        simulated = simulate_roi_signals(emotions, atlas, sim, subjects)
        affine, shape, brain = simulation_grid(sim.grid, sim.resolution_mm)
        assignment = roi_assignment(atlas, affine, shape)
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
        apply_umask_permissions(staging, directory=True)  # mkdtemp makes it 0700
        try:
            _write_metadata(staging, subjects, sim)
            for s_index, subject in enumerate(subjects):
                rng = np.random.default_rng([sim.seed, 4, s_index])
                volume = render_bold(simulated.roi_signals[subject], assignment, brain, rng)
                image = nib.Nifti1Image(volume, affine)
                image.header.set_data_dtype(np.int16)
                image.header.set_xyzt_units("mm", "sec")
                zooms = image.header.get_zooms()
                image.header.set_zooms(zooms[:3] + (TR_SECONDS,))
                target = staging / derivative_relpath(subject)
                target.parent.mkdir(parents=True, exist_ok=True)
                nib.save(image, str(target))
                del image, volume  # one subject's image in memory at a time (~760 MB at 2 mm)
            drive = pd.DataFrame(emotions, columns=list(EMOTIONS))
            drive.index.name = "volume"
            drive.to_csv(staging / "emotion_drive.tsv", sep="\t")
            (staging / "ground_truth.json").write_text(json.dumps(simulated.ground_truth, indent=2))
            if root.exists():  # an incomplete folder (no ground truth): never a finished dataset
                shutil.rmtree(root)
            os.replace(staging, root)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return root


def _write_metadata(root: Path, subjects: list[str], sim: SimulationParams) -> None:
    (root / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": "Simulated Alice dataset (shaped like OpenNeuro ds002322)",
                "BIDSVersion": "1.8.0",
                "DatasetType": "raw",
                "GeneratedBy": [
                    {
                        "Name": "helpers.simulate",
                        "Description": (
                            f"effect={sim.effect}, account={sim.account}, snr={sim.snr}, "
                            f"seed={sim.seed}"
                        ),
                    }
                ],
            },
            indent=2,
        )
    )
    pd.DataFrame({"participant_id": subjects}).to_csv(
        root / "participants.tsv", sep="\t", index=False
    )
    for subject in subjects:
        (root / sidecar_relpath(subject)).parent.mkdir(parents=True, exist_ok=True)
        (root / sidecar_relpath(subject)).write_text(
            json.dumps({"TaskName": "alice", "RepetitionTime": TR_SECONDS}, indent=2)
        )
        pd.DataFrame(
            {
                "onset": [SIMULATED_STIMULUS_ONSET_S],
                "duration": [748.0],
                "stim_file": ["DownTheRabbitHoleFinal_mono_exp120_NR16_pad.wav"],
            }
        ).to_csv(root / events_relpath(subject), sep="\t", index=False)


def load_ground_truth(root: str | Path) -> dict:
    path = Path(root) / "ground_truth.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: ground truth exists only for simulated datasets"
        )
    return json.loads(path.read_text())


def planted_edge_mask(truth: dict, emotion: str) -> np.ndarray:
    """Boolean vector over edges (triu order): True where an edge carries ``emotion``."""
    n = truth["n_rois"]
    mask = np.zeros(n * (n - 1) // 2, dtype=bool)
    for edge in truth["emotions"][emotion]["edges"]:
        mask[edge["edge_index"]] = True
    return mask


@dataclass
class RoiLevelData:
    """A simulated dataset at the ROI level: what ROI extraction would give, without the images.

    Shaped like :class:`helpers.pipeline.RoiData` for :func:`helpers.features.build_feature_sets`:
    ``timeseries`` (subject -> (T, P), z-scored per ROI), ``atlas``, ``stimulus_onsets``, ``truth``.
    Seconds instead of minutes per dataset, for power curves and calibration over many datasets.
    """

    timeseries: dict[str, np.ndarray]
    atlas: Atlas
    stimulus_onsets: dict[str, float]
    truth: dict


def simulate_roi_level(
    emotions: np.ndarray, atlas: Atlas, sim: SimulationParams, subjects: list[str]
) -> RoiLevelData:
    """ROI signals of every subject with the images and the masker skipped (z-scored per ROI)."""
    simulated = simulate_roi_signals(emotions, atlas, sim, subjects)
    series = {}
    for subject, signal in simulated.roi_signals.items():
        centred = signal - signal.mean(axis=0)
        series[subject] = (
            centred / np.where(centred.std(axis=0) > 0, centred.std(axis=0), 1.0)
        ).astype(np.float32)
    onsets = {subject: SIMULATED_STIMULUS_ONSET_S for subject in subjects}
    return RoiLevelData(series, atlas, onsets, simulated.ground_truth)
