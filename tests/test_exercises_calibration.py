"""The calibration chapter's Clopper-Pearson check matches the library and names the Wald slip."""

import numpy as np
import pytest
from scipy import stats

from helpers.calibration import binomial_interval
from helpers.exercises.calibration import check_clopper_pearson

P_VALUES = np.r_[np.full(3, 0.01), np.linspace(0.06, 1.0, 37)]  # 3 of 40 below 0.05


def test_the_beta_quantiles_pass(capsys):
    low = stats.beta.ppf(0.025, 3, 40 - 3 + 1)
    high = stats.beta.ppf(0.975, 3 + 1, 40 - 3)
    assert check_clopper_pearson((low, high), P_VALUES)
    assert "correct" in capsys.readouterr().out


def test_no_rejection_gives_a_lower_bound_of_zero(capsys):
    none = np.linspace(0.06, 1.0, 20)
    assert check_clopper_pearson((0.0, 1 - 0.025 ** (1 / 20)), none)
    assert not check_clopper_pearson((np.nan, 1 - 0.025 ** (1 / 20)), none)


def test_wrong_intervals_are_named_without_raising(capsys):
    rate = 3 / 40
    half = 1.96 * np.sqrt(rate * (1 - rate) / 40)
    assert not check_clopper_pearson((rate - half, rate + half), P_VALUES)
    assert "Wald" in capsys.readouterr().out
    assert not check_clopper_pearson((0.2, 0.1), P_VALUES)
    assert "above the upper" in capsys.readouterr().out
    assert not check_clopper_pearson(..., P_VALUES)
    assert "not answered" in capsys.readouterr().out


def test_reference_p_values_must_be_a_list():
    with pytest.raises(ValueError, match="one-dimensional"):
        check_clopper_pearson((0.0, 1.0), [])


@pytest.mark.parametrize(("k", "n"), [(0, 24), (3, 40), (24, 24), (1, 3)])
def test_the_check_agrees_with_the_calibration_module(k, n, capsys):
    p_values = np.r_[np.full(k, 0.001), np.full(n - k, 0.5)]
    assert check_clopper_pearson(binomial_interval(k, n), p_values)
