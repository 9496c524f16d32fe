"""The chapter 1 target check accepts an independent computation and explains wrong answers."""

import numpy as np
import pytest

from helpers.annotation.targets import FINE_DT, hrf_kernel, volume_times
from helpers.exercises.annotation import check_emotion_target, reference_target

ONSETS = np.array([20.13, 31.47, 33.0, 60.26])
OFFSETS = np.array([31.47, 33.0, 59.9, 95.04])
VALUES = np.array([0.2, 0.9, 0.0, 0.6])
AUDIO_START = 0.657


def by_hand(onsets, offsets, values, stimulus_onset, hrf="spm"):
    """The exercise's reference solution, written without the book's helpers."""
    times = volume_times(stimulus_onset=stimulus_onset)
    step = np.zeros(int(round(times[-1] / FINE_DT)) + 1)
    for onset, offset, value in zip(onsets, offsets, values):
        step[round(onset / FINE_DT) : round(offset / FINE_DT)] = value
    response = np.convolve(step, hrf_kernel(hrf))[: len(step)]
    index = np.round(times / FINE_DT).astype(int)
    return np.where(index >= 0, response[np.clip(index, 0, None)], 0.0)


@pytest.mark.parametrize("hrf", ["spm", "glover"])
def test_the_reference_solution_is_accepted(hrf, capsys):
    answer = by_hand(ONSETS, OFFSETS, VALUES, AUDIO_START, hrf)
    assert check_emotion_target(
        answer, ONSETS, OFFSETS, VALUES, stimulus_onset=AUDIO_START, hrf=hrf
    )
    assert "correct" in capsys.readouterr().out


def test_unanswered_and_wrong_shapes_are_rejected_without_raising(capsys):
    kwargs = {"stimulus_onset": AUDIO_START}
    assert not check_emotion_target(..., ONSETS, OFFSETS, VALUES, **kwargs)
    assert "not answered" in capsys.readouterr().out
    assert not check_emotion_target(np.zeros(10), ONSETS, OFFSETS, VALUES, **kwargs)
    assert "shape" in capsys.readouterr().out
    assert not check_emotion_target("text", ONSETS, OFFSETS, VALUES, **kwargs)


def test_usual_slips_get_a_hint(capsys):
    times = volume_times(stimulus_onset=AUDIO_START)
    no_hrf = np.zeros(len(times))
    for onset, offset, value in zip(ONSETS, OFFSETS, VALUES):
        no_hrf[(np.round(times / FINE_DT) >= round(onset / FINE_DT))
               & (np.round(times / FINE_DT) < round(offset / FINE_DT))] = value  # fmt: skip
    kwargs = {"stimulus_onset": AUDIO_START}
    assert not check_emotion_target(no_hrf, ONSETS, OFFSETS, VALUES, **kwargs)
    assert "not convolved" in capsys.readouterr().out
    unshifted = by_hand(ONSETS, OFFSETS, VALUES, 0.0)
    assert not check_emotion_target(unshifted, ONSETS, OFFSETS, VALUES, **kwargs)
    assert "audio's start" in capsys.readouterr().out


def test_an_answer_off_by_a_little_is_told_it_is_close(capsys):
    answer = by_hand(ONSETS + 0.1, OFFSETS, VALUES, AUDIO_START)  # one fine sample late
    assert not check_emotion_target(answer, ONSETS, OFFSETS, VALUES, stimulus_onset=AUDIO_START)
    out = capsys.readouterr().out
    assert "differ" in out and "close" in out


def test_reference_target_refuses_a_table_of_scores():
    with pytest.raises(ValueError, match="one score per segment"):
        reference_target(ONSETS, OFFSETS, np.ones((4, 2)), stimulus_onset=AUDIO_START, hrf="spm")
