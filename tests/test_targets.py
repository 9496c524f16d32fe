"""From segment scores to targets on the 372-volume grid: HRF, sampling, onset shift, caching."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from helpers.annotation import Annotation, IncompleteAnnotationError, annotate
from helpers.annotation.targets import (
    emotion_targets,
    held_offsets,
    hrf_kernel,
    segments_to_volumes,
    volume_times,
)
from helpers.config import Params
from helpers.study import EMOTIONS, N_VOLUMES, TR_SECONDS

pytestmark = pytest.mark.usefixtures("fresh_data_home")


def _one_event(onset: float, offset: float, value: float = 1.0, **kwargs) -> np.ndarray:
    return segments_to_volumes(
        np.array([onset]), np.array([offset]), np.array([[value]]), **kwargs
    )[:, 0]


@pytest.mark.parametrize("hrf", ["spm", "glover"])
def test_brief_event_peaks_five_to_six_seconds_later(hrf):
    response = _one_event(100.0, 100.1, hrf=hrf)
    assert response.shape == (N_VOLUMES,)
    peak_time = volume_times()[np.argmax(response)]
    assert 4.0 <= peak_time - 100.0 <= 6.0
    # on a fine grid the kernel itself peaks between 4.5 and 6 s
    kernel = hrf_kernel(hrf)
    assert 4.5 <= np.argmax(kernel) * 0.1 <= 6.0
    assert kernel.sum() == pytest.approx(1.0)
    assert np.all(response[volume_times() < 100.0] == 0), "no response before the event"


def test_long_boxcar_plateaus_at_its_value():
    response = _one_event(50.0, 600.0, value=0.7)
    times = volume_times()
    plateau = response[(times > 90.0) & (times < 600.0)]
    np.testing.assert_allclose(plateau, 0.7, atol=2e-3)
    assert response[times < 50.0].max() == 0.0
    assert response[times > 650.0].max() < 0.01
    # the undershoot lobe of the HRF makes the step response overshoot by its area (about 15 %)
    assert 0.7 < response.max() <= 0.7 * 1.2
    assert response.min() < 0 and response.min() > -0.7 * 0.2


def test_stimulus_onset_shifts_the_targets():
    base = _one_event(100.0, 300.0)
    one_tr_later = _one_event(100.0, 300.0, stimulus_onset=TR_SECONDS)
    np.testing.assert_allclose(one_tr_later[1:], base[:-1])
    sub18 = _one_event(100.0, 300.0, stimulus_onset=0.657)
    rising = (volume_times() > 100) & (volume_times() < 112)
    assert np.all(sub18[rising] <= base[rising]) and np.any(sub18[rising] < base[rising])
    assert volume_times(stimulus_onset=0.657)[0] == pytest.approx(-0.657)


def test_held_offsets_fill_pauses_but_keep_overlaps():
    onsets = np.array([1.0, 5.0, 7.0])
    offsets = np.array([4.0, 8.0, 9.0])
    np.testing.assert_allclose(held_offsets(onsets, offsets), [5.0, 8.0, 9.0])


def _interim_reference_targets(stimulus_onset: float) -> np.ndarray:
    """The paper's labels held from the previous timestamp (first word for the first) to their own."""
    from helpers.data.fetch import fetch

    labels = pd.read_csv(fetch("emotional-decoding-2025/godvectors.csv"), index_col=0)
    labels.columns = [c.strip().lower() for c in labels.columns]
    stamps = pd.read_csv(fetch("emotional-decoding-2025/timestamps.csv"), index_col=0).iloc[:, 0]
    offsets = stamps.to_numpy(float)
    onsets = np.concatenate([[20.12], offsets[:-1]])
    return segments_to_volumes(
        onsets, offsets, labels[list(EMOTIONS)].to_numpy(float), stimulus_onset=stimulus_onset
    )


@pytest.mark.parametrize("stimulus_onset", [0.0, 0.657])
def test_reference_targets_match_the_published_labels_and_times(stimulus_onset):
    targets = emotion_targets(Params(), stimulus_onset=stimulus_onset)
    assert isinstance(targets, pd.DataFrame)
    assert targets.shape == (N_VOLUMES, 8) and list(targets.columns) == list(EMOTIONS)
    np.testing.assert_allclose(
        targets.to_numpy(), _interim_reference_targets(stimulus_onset), atol=1e-12
    )
    assert (targets.iloc[:10] == 0).all().all(), "the audio is silent for its first 20 s"
    # scores are in [0, 1]; the HRF's undershoot can push targets slightly outside after a change
    assert targets.to_numpy().min() > -0.1 and targets.to_numpy().max() < 1.1


def test_targets_are_cached_by_parameters(monkeypatch):
    first = emotion_targets(Params(), stimulus_onset=0.657)

    def must_not_run(*args, **kwargs):
        raise AssertionError("cached targets should have been read")

    monkeypatch.setattr("helpers.annotation.targets.annotate", must_not_run)
    again = emotion_targets(Params(), stimulus_onset=0.657)
    pd.testing.assert_frame_equal(first, again)
    with pytest.raises(AssertionError, match="cached targets"):
        emotion_targets(Params(), stimulus_onset=0.0)
    with pytest.raises(AssertionError, match="cached targets"):
        emotion_targets(Params(annotation={"hrf": "glover"}), stimulus_onset=0.657)


def test_lexicon_targets_follow_the_sentences():
    params = Params(annotation={"annotator": "lexicon", "segmentation": "sentences"})
    targets = emotion_targets(params)
    assert targets.shape == (N_VOLUMES, 8)
    assert (targets.iloc[:10] == 0).all().all()
    assert (targets.iloc[20:370].std() > 0).all(), "every emotion should vary over the story"
    reference = emotion_targets(Params())
    assert not np.allclose(targets.to_numpy(), reference.to_numpy())


def test_implausible_stimulus_onset_is_refused():
    with pytest.raises(ValueError, match="_events.tsv"):
        emotion_targets(Params(), stimulus_onset=float("nan"))
    with pytest.raises(ValueError, match="not plausible"):
        emotion_targets(Params(), stimulus_onset=120.0)


def _llm_rating_the_first(n_rated: int | None) -> types.ModuleType:
    """A stand-in ``helpers.annotation.llm`` whose annotator rates the first segments (or all)."""
    module = types.ModuleType("helpers.annotation.llm")

    class LLMAnnotator:
        name = "llm"

        def __init__(self, llm_params, cache_dir=None):
            pass

        def annotate(self, segments):
            rated = segments[:n_rated]
            scores = pd.DataFrame(
                np.linspace(0.1, 0.9, len(rated) * 8).reshape(len(rated), 8),
                columns=list(EMOTIONS),
                index=pd.Index([s.index for s in rated], name="segment"),
            )
            return Annotation(scores=scores, provenance={"annotator": "llm"})

    module.LLMAnnotator = LLMAnnotator
    return module


def test_targets_from_a_partial_llm_run_are_refused_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "helpers.annotation.llm", _llm_rating_the_first(5))
    params = Params(annotation={"annotator": "llm"}, llm={"max_segments": 5})
    assert len(annotate(params).scores) == 5  # comparing a partial run stays possible
    with pytest.raises(IncompleteAnnotationError) as refused:
        emotion_targets(params)
    message = str(refused.value)
    assert "\n" not in message
    assert "rates 5 of 68 segments" in message and "remove llm.max_segments (now 5)" in message
    assert "at least 68" in message


def test_targets_from_an_llm_run_of_every_segment_are_built(monkeypatch):
    monkeypatch.setitem(sys.modules, "helpers.annotation.llm", _llm_rating_the_first(None))
    targets = emotion_targets(Params(annotation={"annotator": "llm"}))
    assert targets.shape == (N_VOLUMES, 8) and (targets.iloc[30:].to_numpy() > 0).all()
