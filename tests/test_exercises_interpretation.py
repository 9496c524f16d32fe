"""The check of chapter 06's coding exercise accepts the reference and explains wrong answers."""

from __future__ import annotations

import numpy as np

from helpers.exercises import interpretation as exercises


def _strength():
    rng = np.random.default_rng(0)
    strength = rng.random((9, 3))
    networks = np.array(["a"] * 2 + ["b"] * 3 + ["c"] * 4)
    return strength, networks


def _reference(strength, networks):
    names = np.unique(networks)
    means = np.stack([strength[networks == n].mean(axis=0) for n in names])
    p = means / means.sum(axis=0)
    return -(p * np.log(p)).sum(axis=0) / np.log(len(names))


def test_network_entropy_check_accepts_the_reference(capsys):
    strength, networks = _strength()
    assert exercises.check_network_entropy(_reference(strength, networks), strength, networks)
    assert "correct" in capsys.readouterr().out


def test_network_entropy_check_rejects_wrong_answers_without_raising(capsys):
    strength, networks = _strength()
    names = np.unique(networks)
    sums = np.stack([strength[networks == n].sum(axis=0) for n in names])  # sums, not means
    p = sums / sums.sum(axis=0)
    by_sum = -(p * np.log(p)).sum(axis=0) / np.log(len(names))
    assert not exercises.check_network_entropy(by_sum, strength, networks)
    assert "differ" in capsys.readouterr().out
    assert not exercises.check_network_entropy(by_sum[:2], strength, networks)
    assert "shape" in capsys.readouterr().out
    assert not exercises.check_network_entropy(..., strength, networks)
    assert "not answered" in capsys.readouterr().out
