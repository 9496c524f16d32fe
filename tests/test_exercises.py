"""The exercise checks recognise right, wrong and unanswered answers without raising."""

import numpy as np

from helpers.exercises import check_array, not_answered


def test_check_array_accepts_the_reference(capsys):
    assert check_array("demo", np.eye(3), np.eye(3))
    assert "correct" in capsys.readouterr().out


def test_check_array_says_what_is_wrong(capsys):
    assert not check_array("demo", ..., np.eye(3))
    assert "not answered" in capsys.readouterr().out
    assert not check_array("demo", np.eye(2), np.eye(3))
    assert "shape" in capsys.readouterr().out
    wrong = np.eye(3)
    wrong[1, 2] = 0.5
    assert not check_array("demo", wrong, np.eye(3))
    assert "(1, 2)" in capsys.readouterr().out
    assert not check_array("demo", "text", np.eye(3))
    assert not_answered(...) and not not_answered(0)
