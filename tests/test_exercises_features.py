"""The features chapter's exercise checks accept the reference answers and reject wrong ones."""

import numpy as np
import pytest

from helpers.exercises.features import check_tapered_dfc, check_window_means
from helpers.features import window_starts, window_weights


@pytest.fixture
def series():
    return np.random.default_rng(0).standard_normal((60, 5))


def tapered_loop(series, length, step, sigma, weights=None):
    """The exercise's reference: weighted correlations window by window, Fisher z."""
    w = window_weights(length, "tapered", sigma) if weights is None else weights
    rows, cols = np.triu_indices(series.shape[1], k=1)
    starts = window_starts(len(series), length, step)
    out = np.empty((len(starts), len(rows)))
    for k, start in enumerate(starts):
        covariance = np.cov(series[start : start + length], rowvar=False, aweights=w)
        scale = np.sqrt(np.diag(covariance))
        out[k] = np.arctanh((covariance / np.outer(scale, scale))[rows, cols])
    return out


def test_tapered_check_accepts_the_loop(series, capsys):
    assert check_tapered_dfc(tapered_loop(series, 12, 2, 3.0), series, 12, 2, 3.0)
    assert "correct" in capsys.readouterr().out


def test_tapered_check_names_the_usual_mistakes(series, capsys):
    rectangular = tapered_loop(series, 12, 2, 3.0, weights=np.ones(12))
    assert not check_tapered_dfc(rectangular, series, 12, 2, 3.0)
    assert "rectangular" in capsys.readouterr().out
    r = np.tanh(tapered_loop(series, 12, 2, 3.0))
    assert not check_tapered_dfc(r, series, 12, 2, 3.0)
    assert "Fisher" in capsys.readouterr().out
    assert not check_tapered_dfc(tapered_loop(series, 12, 1, 3.0), series, 12, 2, 3.0)
    assert "shape" in capsys.readouterr().out
    assert not check_tapered_dfc(tapered_loop(series, 12, 2, 1.0), series, 12, 2, 3.0)
    assert "differ" in capsys.readouterr().out
    assert not check_tapered_dfc(..., series, 12, 2, 3.0)
    assert "not answered" in capsys.readouterr().out
    with pytest.raises(ValueError, match="volumes x ROIs"):
        check_tapered_dfc(np.zeros(3), np.zeros(10), 4, 1, 3.0)


def test_window_means_check(series, capsys):
    starts = window_starts(60, 12, 2)
    means = np.array([series[s : s + 12].mean(axis=0) for s in starts])
    assert check_window_means(means, series, 12, 2)
    assert not check_window_means(means[:, ::-1], series, 12, 2)
    centres = np.array([series[s + 6] for s in starts])
    assert not check_window_means(centres, series, 12, 2)
    assert "differ" in capsys.readouterr().out
    assert not check_window_means(means[:-1], series, 12, 2)
    assert "shape" in capsys.readouterr().out
