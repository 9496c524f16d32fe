"""Invariants of the cross-validation splitters: no overlap, purge gaps, coverage, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.config import params_from_dict
from helpers.decoding.schemes import make_splitter
from helpers.decoding.splits import (
    LeaveOneSubjectOut,
    LeaveOneSubjectOutBlocked,
    RandomWindowSplit,
    WindowMeta,
    purge_gap_trs,
)


def window_meta(
    n_subjects: int = 6, n_trs: int = 120, window: int = 10, step: int = 1
) -> WindowMeta:
    starts = np.arange(0, n_trs - window + 1, step)
    subject = np.repeat([f"sub-{s:02d}" for s in range(n_subjects)], len(starts))
    start = np.tile(starts, n_subjects)
    return WindowMeta(subject, start, start + window)


def assert_purged(splitter: LeaveOneSubjectOutBlocked, meta: WindowMeta) -> None:
    for train, test in splitter.split():
        assert len(np.intersect1d(train, test)) == 0
        assert not set(meta.subject[train]) & set(meta.subject[test])
        lo, hi = meta.start[test].min(), meta.stop[test].max()
        gap = splitter.gap
        ok = (meta.stop[train] + gap <= lo) | (meta.start[train] >= hi + gap)
        assert ok.all(), "a training window is inside the purge gap of the test block"
        # explicitly: no training window shares a TR with any test window
        test_trs = np.zeros(meta.stop.max() + 1, bool)
        for a, b in zip(meta.start[test], meta.stop[test]):
            test_trs[a:b] = True
        for a, b in zip(meta.start[train], meta.stop[train]):
            assert not test_trs[a:b].any()


@pytest.mark.parametrize("per_fold", [1, 2, 4])
def test_blocked_every_cell_tested_once_and_gap_respected(per_fold: int) -> None:
    meta = window_meta()
    splitter = LeaveOneSubjectOutBlocked(
        meta, n_blocks=4, hrf_span_s=6.0, subjects_per_fold=per_fold
    )
    assert splitter.gap == purge_gap_trs(10, 6.0) == 13
    n_groups = int(np.ceil(6 / per_fold))
    assert splitter.get_n_splits() == n_groups * 4
    assert_purged(splitter, meta)
    counts = np.zeros(len(meta), int)
    cells = set()
    for _train, test in splitter.split():
        counts[test] += 1
        cells |= {(s, b) for s, b in zip(meta.subject[test], splitter.blocks[test])}
    assert (counts == 1).all(), "every window must be tested exactly once"
    assert len(cells) == 6 * 4


def test_blocked_blocks_are_contiguous_in_time() -> None:
    meta = window_meta()
    splitter = LeaveOneSubjectOutBlocked(meta, n_blocks=5)
    for b in range(5):
        starts = np.unique(meta.start[splitter.blocks == b])
        assert np.all(np.diff(starts) == 1)


def test_rotation_tests_each_cell_at_most_once_and_is_seeded() -> None:
    meta = window_meta()
    a = LeaveOneSubjectOutBlocked(meta, n_blocks=3, pairing="rotation", seed=3)
    b = LeaveOneSubjectOutBlocked(meta, n_blocks=3, pairing="rotation", seed=3)
    assert a.get_n_splits() == 6
    assert_purged(a, meta)
    counts = np.zeros(len(meta), int)
    for (tr_a, te_a), (tr_b, te_b) in zip(a.split(), b.split()):
        np.testing.assert_array_equal(te_a, te_b)
        np.testing.assert_array_equal(tr_a, tr_b)
        counts[te_a] += 1
    assert counts.max() == 1
    assert len({block for _, block in a.fold_cells()}) == 3


def test_inner_blocked_split_respects_gap_inside_training() -> None:
    meta = window_meta(n_trs=200)
    outer = LeaveOneSubjectOutBlocked(meta, n_blocks=4, hrf_span_s=4.0)
    train, _ = next(outer.split())
    inner = outer.inner(train, 3)
    assert inner.get_n_splits() >= 2
    assert_purged(inner, meta.take(train))


def test_random_split_is_stratified_partition_and_deterministic() -> None:
    meta = window_meta()
    splitter = RandomWindowSplit(meta, test_fraction=0.1, n_splits=10, seed=1)
    counts = np.zeros(len(meta), int)
    for train, test in splitter.split():
        counts[test] += 1
        assert len(np.intersect1d(train, test)) == 0
        for subject in meta.subjects:  # every subject and every stretch of the story is tested
            rows = test[meta.subject[test] == subject]
            assert abs(len(rows) - 11.1) <= 1.5
            assert meta.start[rows].max() - meta.start[rows].min() > 90
    assert (counts == 1).all()
    first = next(t for _, t in RandomWindowSplit(meta, 0.1, 1, seed=1).split())
    again = next(t for _, t in RandomWindowSplit(meta, 0.1, 1, seed=1).split())
    other = next(t for _, t in RandomWindowSplit(meta, 0.1, 1, seed=2).split())
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_random_split_leaks_neighbouring_windows() -> None:
    """The paper's split puts a window's overlapping neighbours in training: the leak the book shows."""
    meta = window_meta()
    train, test = next(RandomWindowSplit(meta, 0.1, seed=0).split())
    shared = [
        np.any((meta.subject[train] == meta.subject[i]) & (meta.start[train] == meta.start[i] + 1))
        for i in test
    ]
    assert np.mean(shared) > 0.8


def test_loso_each_subject_tested_once() -> None:
    meta = window_meta()
    splitter = LeaveOneSubjectOut(meta)
    assert splitter.get_n_splits() == 6
    tested = []
    for train, test in splitter.split(np.zeros((len(meta), 2))):
        assert len(set(meta.subject[test])) == 1
        assert meta.subject[test][0] not in set(meta.subject[train])
        tested.append(meta.subject[test][0])
    assert sorted(tested) == sorted(meta.subjects)


def test_make_splitter_reads_parameters() -> None:
    meta = window_meta()
    params = params_from_dict(
        {
            "cv": "loso_blocked",
            "window": {"length": 10},
            "cv_options": {"n_blocks": 3, "hrf_span_s": 8.0, "subjects_per_fold": 1},
        }
    )
    splitter = make_splitter(params, meta)
    assert isinstance(splitter, LeaveOneSubjectOutBlocked)
    assert splitter.get_n_splits() == 18 and splitter.gap == 14
    assert isinstance(make_splitter(params, meta, cv="random"), RandomWindowSplit)
    assert isinstance(make_splitter(params, meta, cv="loso"), LeaveOneSubjectOut)
    grouped = make_splitter(
        params_from_dict({"cv_options": {"subjects_per_fold": 4, "n_blocks": 3}}), meta
    )
    assert grouped.get_n_splits() == 2 * 3


def test_clear_errors() -> None:
    meta = window_meta()
    with pytest.raises(ValueError, match="n_blocks"):
        LeaveOneSubjectOutBlocked(meta, n_blocks=1)
    with pytest.raises(ValueError, match="no training window"):
        list(LeaveOneSubjectOutBlocked(window_meta(n_trs=60), n_blocks=2, hrf_span_s=60.0).split())
    with pytest.raises(ValueError, match="samples"):
        list(LeaveOneSubjectOut(meta).split(np.zeros((3, 2))))
    with pytest.raises(ValueError, match="stop"):
        WindowMeta(["a"], [5], [5])
    with pytest.raises(ValueError, match="one entry per sample"):
        WindowMeta(["a", "b"], [0], [1])
