"""Each planted account has the properties it claims, checked on the simulated signals."""

import numpy as np
import pytest
from test_simulate import smooth_emotions, window_correlation

from helpers.config import SimulationParams
from helpers.data.atlases import load_atlas
from helpers.simulate import plant_ground_truth, simulate_roi_signals
from helpers.simulate_accounts import DOMAIN_GENERAL, pool_size, signed_patterns
from helpers.study import EMOTIONS

SUBJECTS = ["sub-18", "sub-22", "sub-23"]


@pytest.fixture(scope="module")
def atlas():
    return load_atlas("dosenbach160")


def _signals(atlas, account, effect, snr=3.0):
    sim = SimulationParams(effect=effect, account=account, snr=snr, seed=4)
    drive = smooth_emotions(seed=2)
    return drive, simulate_roi_signals(drive, atlas, sim, SUBJECTS)


def _planted_coefficients(atlas, account, rois):
    """What the planting added to each ROI (the dataset minus its null twin, same noise), as
    exact least-squares coefficients on the eight z-scored emotions: (8 emotions, n_rois)."""
    drive, planted = _signals(atlas, account, "amplitude")
    _, null = _signals(atlas, account, "none")
    z = (drive - drive.mean(axis=0)) / drive.std(axis=0)
    added = planted.roi_signals[SUBJECTS[0]] - null.roi_signals[SUBJECTS[0]]
    coef, residual, *_ = np.linalg.lstsq(z, added[:, rois], rcond=None)
    assert np.allclose(z @ coef, added[:, rois], atol=1e-4)  # nothing but the emotions was added
    return planted.ground_truth, coef


def test_ground_truth_records_the_account_and_the_default_is_locationist(atlas):
    assert SimulationParams().account == "locationist"
    default = plant_ground_truth(atlas, SimulationParams())
    assert default["account"] == "locationist"
    constructionist = plant_ground_truth(atlas, SimulationParams(account="constructionist"))
    assert constructionist["account"] == "constructionist"


def test_locationist_rois_track_one_emotion_each(atlas):
    truth = plant_ground_truth(atlas, SimulationParams(effect="amplitude", seed=4))
    owner = {r["roi"]: e for e, plant in truth["emotions"].items() for r in plant["rois"]}
    assert len(owner) == len(EMOTIONS) * 4  # no ROI shared between emotions
    rois = sorted(owner)
    _, coef = _planted_coefficients(atlas, "locationist", rois)
    for column, roi in enumerate(rois):
        tracked = np.flatnonzero(np.abs(coef[:, column]) > 1e-3)
        assert tracked.tolist() == [EMOTIONS.index(owner[roi])]


def test_constructionist_rois_take_part_in_every_emotion(atlas):
    truth = plant_ground_truth(
        atlas, SimulationParams(effect="amplitude", account="constructionist", seed=4)
    )
    pools = {tuple(r["roi"] for r in plant["rois"]) for plant in truth["emotions"].values()}
    assert len(pools) == 1  # the same ROIs for every emotion
    rois = list(next(iter(pools)))
    assert {atlas.networks[r] for r in rois} <= set(DOMAIN_GENERAL["dosenbach160"])
    gains = np.array([[r["gain"] for r in truth["emotions"][e]["rois"]] for e in EMOTIONS])
    _, coef = _planted_coefficients(atlas, "constructionist", rois)
    # every ROI tracks every emotion with the planted sign: none tracks one emotion alone
    assert np.all(np.sign(coef) == np.sign(gains)) and np.abs(coef).min() > 0.5
    # and no emotion's pattern over the pool is another's
    patterns = np.sign(gains)
    assert np.allclose(patterns @ patterns.T, len(rois) * np.eye(len(EMOTIONS)))


def test_constructionist_coupling_follows_each_emotions_pattern(atlas):
    drive, simulated = _signals(atlas, "constructionist", "connectivity", snr=4.0)
    truth = simulated.ground_truth
    modules = {tuple(m["roi"] for m in plant["module"]) for plant in truth["emotions"].values()}
    assert len(modules) == 1 and not any(plant["rois"] for plant in truth["emotions"].values())
    x = simulated.roi_signals[SUBJECTS[0]]
    level = drive[6:-5]  # centre of each 12-TR window
    for e_index, emotion in enumerate(EMOTIONS[:3]):
        edges = truth["emotions"][emotion]["edges"]
        summary = np.mean(
            [np.sign(edge["gain"]) * window_correlation(x, *edge["rois"]) for edge in edges],
            axis=0,
        )
        # the emotion's own signed pattern of pairs couples when the emotion is high
        assert np.corrcoef(summary, level[:, e_index])[0, 1] > 0.3


def test_signed_patterns_are_orthogonal_and_pool_sizes_are_powers_of_two():
    rng = np.random.default_rng(0)
    assert [pool_size(n) for n in (3, 8, 12, 16, 17)] == [8, 8, 16, 16, 32]
    for size in (8, 16):
        patterns = signed_patterns(rng, size)
        assert patterns.shape == (len(EMOTIONS), size)
        np.testing.assert_allclose(patterns @ patterns.T, size * np.eye(len(EMOTIONS)))


def test_a_pool_too_large_for_the_atlas_is_refused_with_the_settings_to_change(atlas):
    with pytest.raises(ValueError, match="simulation.rois_per_emotion"):
        plant_ground_truth(atlas, SimulationParams(account="constructionist", rois_per_emotion=50))
