"""The sensitivity chapter's power-curve check accepts the right reading and rejects wrong ones."""

import numpy as np
import pandas as pd
import pytest

from helpers.exercises.sensitivity import check_smallest_snr


@pytest.fixture
def power():
    return pd.DataFrame(
        {
            "snr": [0.0, 2.0, 4.0] * 3,
            "model": ["oracle"] * 3 + ["cpm"] * 3 + ["ridge"] * 3,
            "share_detected": [0.0, 0.75, 1.0, 0.0, 0.5, 0.875, 0.0, None, 0.25],
        }
    )


def test_the_reading_of_the_curve_passes(power, capsys):
    answer = {"oracle": 2.0, "cpm": 4.0, "ridge": np.nan}
    assert check_smallest_snr(answer, power)
    assert check_smallest_snr(pd.Series(answer), power)
    assert "correct" in capsys.readouterr().out


def test_wrong_readings_are_reported_without_raising(power, capsys):
    # a share of exactly one half is not "most" emotions
    assert not check_smallest_snr({"oracle": 2.0, "cpm": 2.0, "ridge": np.nan}, power)
    assert "differ" in capsys.readouterr().out
    assert not check_smallest_snr({"oracle": 2.0, "cpm": 4.0}, power)
    assert "missing ['ridge']" in capsys.readouterr().out
    assert not check_smallest_snr([2.0, 4.0, np.nan], power)
    assert "keyed by model" in capsys.readouterr().out
    assert not check_smallest_snr(..., power)
    assert "not answered" in capsys.readouterr().out
