"""The check of chapter 05's coding exercise accepts the reference and explains wrong answers."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression

from helpers.exercises import explanations as exercises


def _demo():
    rng = np.random.default_rng(1)
    signal = rng.standard_normal(500)
    distractor = 2.0 * rng.standard_normal(500)
    X = np.stack([signal + distractor, distractor], axis=1)
    return X, LinearRegression().fit(X, signal).coef_


def test_haufe_check_accepts_the_reference(capsys):
    X, w = _demo()
    answer = np.cov(X, rowvar=False) @ w / (X @ w).var(ddof=1)
    assert exercises.check_haufe_pattern(answer, X, w)
    assert "correct" in capsys.readouterr().out
    assert abs(answer[1]) < 0.1 < abs(w[1])  # the distractor: large weight, no pattern


def test_haufe_check_rejects_the_weights_and_missing_answers(capsys):
    X, w = _demo()
    assert not exercises.check_haufe_pattern(w, X, w)  # weights are not the pattern
    assert "differ" in capsys.readouterr().out
    assert not exercises.check_haufe_pattern(np.cov(X, rowvar=False) @ w, X, w)  # not scaled
    assert not exercises.check_haufe_pattern(..., X, w)
    assert "not answered" in capsys.readouterr().out
