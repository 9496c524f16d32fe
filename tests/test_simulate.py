"""The simulator plants what ground_truth.json says, and a null dataset plants nothing."""

import json

import nibabel as nib
import numpy as np
import pytest

from helpers.config import SimulationParams
from helpers.data.atlases import load_atlas
from helpers.data.datasets import derivative_relpath
from helpers.features.edges import edge_position
from helpers.simulate import (
    plant_ground_truth,
    planted_edge_mask,
    simulate_roi_signals,
    write_dataset,
)
from helpers.study import EMOTIONS

WINDOW = 12


def smooth_emotions(seed=0):
    """Slow, distinct emotion trajectories on the 372-volume grid."""
    rng = np.random.default_rng(seed)
    t = np.arange(372)
    waves = [
        0.5 + 0.5 * np.sin(2 * np.pi * t / rng.uniform(40, 120) + rng.uniform(0, 6))
        for _ in EMOTIONS
    ]
    return np.stack(waves, axis=1)


def window_correlation(x, i, j, length=WINDOW):
    return np.array(
        [
            np.corrcoef(x[t : t + length, i], x[t : t + length, j])[0, 1]
            for t in range(len(x) - length + 1)
        ]
    )


def window_mean(series, length=WINDOW):
    return np.array([series[t : t + length].mean(axis=0) for t in range(len(series) - length + 1)])


@pytest.fixture(scope="module")
def atlas():
    return load_atlas("dosenbach160")


def test_planted_rois_are_distinct_and_edge_index_matches_triu(atlas):
    truth = plant_ground_truth(
        atlas, SimulationParams(effect="both", module_size=4, rois_per_emotion=3)
    )
    rois = [m["roi"] for e in truth["emotions"].values() for m in e["module"]]
    rois += [r["roi"] for e in truth["emotions"].values() for r in e["rois"]]
    assert len(rois) == len(set(rois)) == len(EMOTIONS) * (4 + 3)
    for e in truth["emotions"].values():
        assert len(e["edges"]) == 4 * 3 // 2
        module = {m["roi"] for m in e["module"]}
        assert all(set(edge["rois"]) <= module for edge in e["edges"])
    rows, cols = np.triu_indices(atlas.n_rois, k=1)
    for e in truth["emotions"].values():
        for edge in e["edges"]:
            k = edge["edge_index"]
            assert (rows[k], cols[k]) == tuple(edge["rois"])
    assert edge_position(5, 2, 10) == edge_position(2, 5, 10)


def test_seitzman_fear_lives_in_salience_or_amygdala():
    atlas = load_atlas("seitzman300")
    truth = plant_ground_truth(atlas, SimulationParams(effect="connectivity"))
    hosts = {"Salience", "CinguloOpercular"}
    for edge in truth["emotions"]["fear"]["edges"]:
        for roi in edge["rois"]:
            assert atlas.networks[roi] in hosts or atlas.regions[roi] == "amygdala"


def edge_emotion_correlations(signals, truth, emotions):
    target = window_mean(emotions)
    planted, random_pairs = [], []
    rng = np.random.default_rng(1)
    for x in signals.values():
        for e_index, emotion in enumerate(EMOTIONS):
            for edge in truth["emotions"][emotion]["edges"]:
                planted.append(
                    np.corrcoef(window_correlation(x, *edge["rois"]), target[:, e_index])[0, 1]
                )
            i, j = rng.choice(x.shape[1], 2, replace=False)
            random_pairs.append(np.corrcoef(window_correlation(x, i, j), target[:, e_index])[0, 1])
    return np.asarray(planted), np.asarray(random_pairs)


def test_planted_edges_follow_their_emotion(atlas):
    emotions = smooth_emotions()
    sim = SimulationParams(effect="connectivity", snr=1.5, module_size=3)
    out = simulate_roi_signals(emotions, atlas, sim, ["sub-18", "sub-22"])
    planted, random_pairs = edge_emotion_correlations(out.roi_signals, out.ground_truth, emotions)
    assert planted.mean() > 0.3
    assert abs(random_pairs.mean()) < 0.1
    assert planted.mean() > random_pairs.mean() + 0.25


def test_null_dataset_has_no_such_correlation(atlas):
    emotions = smooth_emotions()
    planted_truth = simulate_roi_signals(
        emotions, atlas, SimulationParams(effect="connectivity", module_size=3), ["sub-18"]
    ).ground_truth
    null = simulate_roi_signals(
        emotions, atlas, SimulationParams(effect="none", module_size=3), ["sub-18", "sub-22"]
    )
    assert all(not e["edges"] and not e["rois"] for e in null.ground_truth["emotions"].values())
    assert null.ground_truth["would_plant"] == planted_truth["would_plant"]
    planted, _ = edge_emotion_correlations(null.roi_signals, planted_truth, emotions)
    assert abs(planted.mean()) < 0.1


def test_null_dataset_shares_noise_with_effect_dataset(atlas):
    emotions = smooth_emotions()
    sims = [
        simulate_roi_signals(emotions, atlas, SimulationParams(effect=e), ["sub-18"])
        for e in ("none", "connectivity")
    ]
    truth = sims[1].ground_truth
    touched = {m["roi"] for e in truth["emotions"].values() for m in e["module"]}
    untouched = [k for k in range(atlas.n_rois) if k not in touched]
    np.testing.assert_array_equal(
        sims[0].roi_signals["sub-18"][:, untouched], sims[1].roi_signals["sub-18"][:, untouched]
    )


def test_amplitude_coding_moves_roi_level(atlas):
    emotions = smooth_emotions()
    out = simulate_roi_signals(
        emotions, atlas, SimulationParams(effect="amplitude", snr=1.0), ["sub-18"]
    )
    x = out.roi_signals["sub-18"]
    for e_index, emotion in enumerate(EMOTIONS):
        for roi in out.ground_truth["emotions"][emotion]["rois"]:
            assert np.corrcoef(x[:, roi["roi"]], emotions[:, e_index])[0, 1] > 0.4


def test_planted_edge_mask(atlas):
    truth = plant_ground_truth(atlas, SimulationParams(effect="connectivity", module_size=3))
    mask = planted_edge_mask(truth, "joy")
    assert mask.sum() == 3 and mask.size == atlas.n_edges


def test_too_many_planted_rois_is_a_clear_error(atlas):
    with pytest.raises(ValueError, match="need 232 ROIs, more than dosenbach160 has"):
        plant_ground_truth(atlas, SimulationParams(module_size=25, rois_per_emotion=4))


def test_written_dataset_is_shaped_like_ds002322(tmp_path, atlas):
    sim = SimulationParams(effect="connectivity", resolution_mm=6, module_size=3)
    root = write_dataset(tmp_path / "sim", smooth_emotions(), atlas, sim, ["sub-18", "sub-22"])
    bold = root / derivative_relpath("sub-18")
    assert bold.parent.parent.name == "derivatives"
    assert bold.name.startswith("sub-18_task-") and bold.name.endswith(
        "alice_bold_preprocessed.nii.gz"
    )
    image = nib.load(str(bold))
    assert image.shape[3] == 372 and image.header.get_zooms()[3] == pytest.approx(2.0)
    assert (
        json.loads((root / "sub-18/sub-18_task-alice_bold.json").read_text())["RepetitionTime"]
        == 2.0
    )
    assert (root / "sub-22/sub-22_task-alice_events.tsv").read_text().startswith("onset")
    assert (root / "participants.tsv").read_text().splitlines()[1:] == ["sub-18", "sub-22"]
    truth = json.loads((root / "ground_truth.json").read_text())
    assert truth["atlas"] == "dosenbach160" and truth["effect"] == "connectivity"


def test_interrupted_write_leaves_nothing(tmp_path, atlas, monkeypatch):
    calls = {"n": 0}
    real_save = nib.save

    def failing_save(image, path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")
        real_save(image, path)

    monkeypatch.setattr(nib, "save", failing_save)
    sim = SimulationParams(resolution_mm=6, module_size=2)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(tmp_path / "sim", smooth_emotions(), atlas, sim, ["sub-18", "sub-22"])
    assert list(tmp_path.iterdir()) == []
