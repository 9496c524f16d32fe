"""The regression chapter's purge-mask check accepts the splitter's fold and names the usual slips."""

import numpy as np
import pytest

from helpers.decoding.splits import LeaveOneSubjectOutBlocked, WindowMeta, purge_gap_trs
from helpers.exercises.regression import check_purge_mask

LENGTH = 6


@pytest.fixture
def fold():
    starts = np.arange(0, 120, 2)
    meta = WindowMeta(
        np.repeat(["s1", "s2", "s3", "s4"], len(starts)),
        np.tile(starts, 4),
        np.tile(starts + LENGTH, 4),
    )
    splitter = LeaveOneSubjectOutBlocked(
        n_blocks=4, hrf_span_s=8.0, window_length=LENGTH, subjects_per_fold=2
    )
    _, test = next(splitter.split(groups=meta.as_groups()))
    return meta, splitter, test


def _reference(meta, test, gap):
    lo, hi = meta.start[test].min(), meta.stop[test].max()
    held_out = np.isin(meta.subject, meta.subject[test])
    return ~held_out & ((meta.stop + gap <= lo) | (meta.start >= hi + gap))


def test_the_purge_rule_written_by_hand_passes(fold, capsys):
    meta, splitter, test = fold
    assert check_purge_mask(_reference(meta, test, purge_gap_trs(LENGTH, 8.0)), meta, splitter)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("no gap", "purge gap"),
        ("held-out subjects", "held-out subjects"),
        ("test windows", "test windows"),
        ("too small a gap", "values differ"),
    ],
)
def test_wrong_masks_are_named_without_raising(fold, capsys, mistake, message):
    meta, splitter, test = fold
    other_moments = np.isin(meta.subject, meta.subject[test])
    other_moments[test] = False
    mask = {
        "no gap": _reference(meta, test, 0),
        "held-out subjects": _reference(meta, test, 7) | other_moments,
        "test windows": np.ones(len(meta), dtype=bool),
        "too small a gap": _reference(meta, test, LENGTH),
    }[mistake]
    assert not check_purge_mask(mask, meta, splitter)
    assert message in capsys.readouterr().out


def test_unanswered_and_misshapen_answers_are_reported(fold, capsys):
    meta, splitter, _ = fold
    assert not check_purge_mask(..., meta, splitter)
    assert "not answered" in capsys.readouterr().out
    assert not check_purge_mask(np.ones(3, dtype=bool), meta, splitter)
    assert "shape" in capsys.readouterr().out
