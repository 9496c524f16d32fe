"""Glued numbers that may be missing: formatted in the notebook, "n/a" where there is none."""

import numpy as np
import pytest

from helpers.formatting import MISSING, number_text


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        (0.12345, ".3f", "0.123"),
        (np.float32(0.5), ".2f", "0.50"),
        (3, ".0f", "3"),
        (None, ".3f", MISSING),
        (float("nan"), ".3f", MISSING),
        ("n/a", ".3f", MISSING),
        (True, ".2f", MISSING),
    ],
)
def test_number_text(value, spec, expected):
    assert number_text(value, spec) == expected


def test_number_text_names_the_missing_word():
    assert number_text(None, missing="no test") == "no test"
