"""Cross-validation splitters driven by what each sample summarises: a subject and a window of TRs.

Every subject heard the same story, so windows of different subjects that cover the same TRs share
their targets exactly, and neighbouring windows of one subject share most of their TRs. A split that
ignores this (the paper's random 90/10) puts near-copies of test samples into training. The splitters
here follow the scikit-learn interface (``split(X, y, groups)``, ``get_n_splits``). The metadata of
the samples (subject, window start and stop) is either given at construction or passed as
``groups`` (``WindowMeta.as_groups()``, a structured array that scikit-learn can index), so a splitter
works as ``cv=`` in ``cross_val_predict`` and, nested, in ``GridSearchCV``.

Schemes
-------
``RandomWindowSplit``
    the paper's random split, stratified by subject and story time; leaks by design and is kept to
    reproduce the paper and to measure the leak.
``LeaveOneSubjectOut``
    test on unseen subjects; the story (and so the target time course) is still shared with training.
``LeaveOneSubjectOutBlocked``
    test on an unseen subject in one contiguous block of the story; training windows that share a TR
    with the test block, or lie within a purge gap of it, are dropped. Each (subject, block) cell is
    tested exactly once: ``ceil(n_subjects / subjects_per_fold) * n_blocks`` folds with
    ``pairing="all"``, or ``ceil(n_subjects / subjects_per_fold)`` folds with ``pairing="rotation"``
    (subject group ``g`` tested on block ``g mod n_blocks`` only, so cells are tested at most once and
    the cost no longer grows with the number of blocks).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.decoding.samples import WindowMeta, purge_gap_trs
from helpers.study import TR_SECONDS

InnerFolds = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class FoldInput:
    """What one outer fold gives a model: sample indices, inner folds (positions within ``train``)."""

    train: np.ndarray
    test: np.ndarray
    inner: InnerFolds
    window_of_sample: np.ndarray | None = None  # for window-level null targets


IndexPair = tuple[np.ndarray, np.ndarray]

__all__ = [
    "FoldInput",
    "LeaveOneSubjectOut",
    "LeaveOneSubjectOutBlocked",
    "RandomWindowSplit",
    "WindowMeta",
    "purge_gap_trs",
]


def _check_length(meta: WindowMeta, X: Any) -> None:
    if X is not None and len(X) != len(meta):
        raise ValueError(
            f"X has {len(X)} samples but the splitter was built for {len(meta)}; build the splitter "
            "from the metadata of the same feature set"
        )


def _subject_groups(
    subjects: np.ndarray, per_fold: int, n_groups: int | None = None
) -> list[np.ndarray]:
    """Consecutive groups of ``per_fold`` subjects, or ``n_groups`` groups of near-equal size."""
    if per_fold < 1:
        raise ValueError(f"subjects_per_fold must be at least 1, got {per_fold}")
    if n_groups is None:
        n_groups = math.ceil(len(subjects) / per_fold)
    return [g for g in np.array_split(subjects, n_groups) if len(g)]


class _MetaSplitter:
    """Shared plumbing: the scikit-learn splitter protocol over sample metadata.

    Subclasses keep their settings in ``__init__`` and derive everything that depends on the samples
    in ``_bind``; ``split(groups=...)`` binds a copy to the given metadata.
    """

    meta: WindowMeta | None = None

    def _bind(self, meta: WindowMeta) -> None:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _folds(self) -> list[IndexPair]:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _settings(self) -> dict[str, Any]:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def bound(self, groups: Any) -> _MetaSplitter:
        """A splitter with the same settings over the samples described by ``groups``."""
        splitter = type(self)(WindowMeta.from_features(groups), **self._settings())
        return splitter

    def _resolved(self, X: Any, groups: Any) -> _MetaSplitter:
        if groups is not None:
            return self.bound(groups)
        if self.meta is None:
            raise ValueError(
                f"{type(self).__name__} needs the samples' metadata: pass "
                "groups=WindowMeta.from_features(feature_set).as_groups() to split(), or build it with meta"
            )
        _check_length(self.meta, X)
        return self

    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Iterator[IndexPair]:
        """Yield ``(train, test)`` index arrays over the samples (``groups``: their metadata)."""
        yield from self._resolved(X, groups)._folds()

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self._resolved(X, groups)._folds())

    def inner(self, train: np.ndarray, n_splits: int) -> _MetaSplitter:
        """A splitter of the same kind over the training samples ``train`` (for nested tuning)."""
        raise NotImplementedError


class RandomWindowSplit(_MetaSplitter):
    """The paper's random split of windows, stratified by subject and story time.

    Within each subject, windows sorted by start are cut into consecutive runs of
    ``k = round(1 / test_fraction)`` windows; inside each run the ``k`` windows are dealt at random to
    ``k`` folds. Fold ``f`` tests the windows dealt to it, so every subject and every part of the story
    is in every test set, and the ``k`` folds partition the data. ``n_splits=1`` is the paper's single
    90/10 split. Neighbouring, overlapping windows end up on both sides: this leaks by design.
    """

    def __init__(
        self,
        meta: WindowMeta | None = None,
        test_fraction: float = 0.1,
        n_splits: int = 1,
        seed: int = 0,
    ) -> None:
        if not 0.0 < test_fraction <= 0.5:
            raise ValueError(f"test_fraction must be in (0, 0.5], got {test_fraction}")
        self.test_fraction = test_fraction
        self.n_folds_total = round(1.0 / test_fraction)
        if not 1 <= n_splits <= self.n_folds_total:
            raise ValueError(
                f"n_splits must be between 1 and {self.n_folds_total} for test_fraction {test_fraction}"
            )
        self.n_splits = n_splits
        self.seed = seed
        self.meta = None
        self._cache: list[IndexPair] | None = None
        if meta is not None:
            self._bind(WindowMeta.from_features(meta))

    def _bind(self, meta: WindowMeta) -> None:
        self.meta = meta
        self._cache = None

    def _settings(self) -> dict[str, Any]:
        return {"test_fraction": self.test_fraction, "n_splits": self.n_splits, "seed": self.seed}

    def fold_labels(self) -> np.ndarray:
        """Fold (0..k-1) each sample is dealt to."""
        meta = self._resolved(None, None).meta
        rng = np.random.default_rng(self.seed)
        k = self.n_folds_total
        labels = np.empty(len(meta), dtype=np.int64)
        for subject in meta.subjects:
            rows = np.flatnonzero(meta.subject == subject)
            rows = rows[np.argsort(meta.start[rows], kind="stable")]
            for first in range(0, len(rows), k):
                run = rows[first : first + k]
                labels[run] = rng.permutation(k)[: len(run)]
        return labels

    def _folds(self) -> list[IndexPair]:
        if self._cache is None:
            labels = self.fold_labels()
            self._cache = [
                (np.flatnonzero(labels != f), np.flatnonzero(labels == f))
                for f in range(self.n_splits)
            ]
        return self._cache

    def inner(self, train: np.ndarray, n_splits: int) -> RandomWindowSplit:
        k = max(2, n_splits)
        return RandomWindowSplit(
            self.meta.take(train), test_fraction=1.0 / k, n_splits=k, seed=self.seed + 1
        )


class LeaveOneSubjectOut(_MetaSplitter):
    """Each fold tests one subject (or a group of ``subjects_per_fold``) and trains on the others."""

    def __init__(self, meta: WindowMeta | None = None, subjects_per_fold: int = 1) -> None:
        self.subjects_per_fold = subjects_per_fold
        self.meta = None
        if meta is not None:
            self._bind(WindowMeta.from_features(meta))

    def _bind(self, meta: WindowMeta) -> None:
        self.meta = meta
        self.groups = _subject_groups(meta.subjects, self.subjects_per_fold)
        if len(self.groups) < 2:
            raise ValueError(
                f"leave-subject-out needs at least 2 subject groups; have {len(meta.subjects)} subjects "
                f"and subjects_per_fold={self.subjects_per_fold}"
            )

    def _settings(self) -> dict[str, Any]:
        return {"subjects_per_fold": self.subjects_per_fold}

    def _folds(self) -> list[IndexPair]:
        out = []
        for group in self.groups:
            is_test = np.isin(self.meta.subject, group)
            out.append((np.flatnonzero(~is_test), np.flatnonzero(is_test)))
        return out

    def inner(self, train: np.ndarray, n_splits: int) -> LeaveOneSubjectOut:
        sub = self.meta.take(train)
        n_subjects = len(sub.subjects)
        per_fold = math.ceil(n_subjects / min(n_splits, n_subjects))
        return LeaveOneSubjectOut(sub, subjects_per_fold=per_fold)


class LeaveOneSubjectOutBlocked(_MetaSplitter):
    """Test one subject (group) on one contiguous story block; purge training windows near that block.

    The unique window starts are cut into ``n_blocks`` contiguous runs; a sample belongs to the block of
    its start. For a fold testing subject group ``G`` on block ``b``, the test TR span is
    ``[lo, hi)`` = union of the test windows. A training window ``[start, stop)`` of a subject outside
    ``G`` is kept only if it ends at least ``gap`` TRs before ``lo`` or starts at least ``gap`` TRs
    after ``hi``, with ``gap = window_length + ceil(hrf_span_s / tr)``. Training windows therefore
    share no TR with the test block and sit outside the gap.

    Number of folds: ``n_groups * n_blocks`` with ``pairing="all"`` (each (subject, block) tested
    exactly once, so the test sets partition the samples) or ``n_groups`` with ``pairing="rotation"``
    (group ``g`` tested on block ``(g + offset) mod n_blocks``, offset drawn from ``seed``), where
    ``n_groups = ceil(n_subjects / subjects_per_fold)``. ``window_length`` defaults to the longest
    sample's ``stop - start``.
    """

    def __init__(
        self,
        meta: WindowMeta | None = None,
        n_blocks: int = 5,
        hrf_span_s: float = 16.0,
        tr: float = TR_SECONDS,
        window_length: int | None = None,
        subjects_per_fold: int = 1,
        pairing: str = "all",
        seed: int = 0,
        n_groups: int | None = None,
    ) -> None:
        if pairing not in ("all", "rotation"):
            raise ValueError(f"pairing must be 'all' or 'rotation', got {pairing!r}")
        self.n_groups = n_groups
        self.n_blocks = int(n_blocks)
        self.hrf_span_s = hrf_span_s
        self.tr = tr
        self.window_length_setting = None if window_length is None else int(window_length)
        self.subjects_per_fold = subjects_per_fold
        self.pairing = pairing
        self.seed = seed
        self.meta = None
        if meta is not None:
            self._bind(WindowMeta.from_features(meta))

    def _settings(self) -> dict[str, Any]:
        return {
            "n_blocks": self.n_blocks,
            "hrf_span_s": self.hrf_span_s,
            "tr": self.tr,
            "window_length": self.window_length_setting,
            "subjects_per_fold": self.subjects_per_fold,
            "pairing": self.pairing,
            "seed": self.seed,
            "n_groups": self.n_groups,
        }

    def _bind(self, meta: WindowMeta) -> None:
        self.meta = meta
        self.window_length = (
            meta.window_length if self.window_length_setting is None else self.window_length_setting
        )
        self.gap = purge_gap_trs(self.window_length, self.hrf_span_s, self.tr)
        starts = np.unique(meta.start)
        if self.n_blocks < 2 or self.n_blocks > len(starts):
            raise ValueError(
                f"n_blocks = {self.n_blocks} must be between 2 and the number of distinct windows ({len(starts)})"
            )
        self.groups = _subject_groups(meta.subjects, self.subjects_per_fold, self.n_groups)
        if len(self.groups) < 2:
            raise ValueError(
                f"blocked leave-subject-out needs at least 2 subject groups; have {len(meta.subjects)} "
                f"subjects and subjects_per_fold={self.subjects_per_fold}"
            )
        block_of_start = np.empty(len(starts), dtype=np.int64)
        for b, chunk in enumerate(np.array_split(np.arange(len(starts)), self.n_blocks)):
            block_of_start[chunk] = b
        self.blocks = block_of_start[np.searchsorted(starts, meta.start)]
        self._cache: list[IndexPair] | None = None
        self._cells: list[tuple[np.ndarray, int]] | None = None

    def fold_cells(self) -> list[tuple[np.ndarray, int]]:
        """(subject group, block) tested by each fold, in fold order."""
        if self._cells is None:
            if self.pairing == "all":
                self._cells = [(g, b) for b in range(self.n_blocks) for g in self.groups]
            else:
                offset = int(np.random.default_rng(self.seed).integers(self.n_blocks))
                self._cells = [(g, (i + offset) % self.n_blocks) for i, g in enumerate(self.groups)]
        return self._cells

    def test_span(self, test: np.ndarray) -> tuple[int, int]:
        return int(self.meta.start[test].min()), int(self.meta.stop[test].max())

    def _folds(self) -> list[IndexPair]:
        if self._cache is None:
            out = []
            for group, block in self.fold_cells():
                in_group = np.isin(self.meta.subject, group)
                test = np.flatnonzero(in_group & (self.blocks == block))
                if len(test) == 0:
                    continue
                lo, hi = self.test_span(test)
                far = (self.meta.stop + self.gap <= lo) | (self.meta.start >= hi + self.gap)
                train = np.flatnonzero(~in_group & far)
                if len(train) == 0:
                    raise ValueError(
                        f"block {block} leaves no training window after the purge gap of {self.gap} TR; "
                        "use fewer blocks, a shorter window or a shorter hrf_span_s"
                    )
                out.append((train, test))
            self._cache = out
        return self._cache

    def inner(self, train: np.ndarray, n_splits: int) -> LeaveOneSubjectOutBlocked:
        """Inner folds that mirror the outer ones: held-out subjects in held-out story blocks, purged.

        The training subjects form ``min(n_splits, n_subjects)`` groups; with enough groups each is
        tested on its own block (rotation), otherwise every group on every block (``all``), so that
        there are at least ``n_splits`` inner folds whenever the story is long enough.
        """
        sub = self.meta.take(train)
        n_subjects = len(sub.subjects)
        if n_subjects < 2:
            raise ValueError(
                f"an outer training set with {n_subjects} subject cannot be split by subject for tuning; "
                "hold out fewer subjects per fold (cv_options.subjects_per_fold) or use more subjects"
            )
        n_groups = min(max(n_splits, 2), n_subjects)
        pairing = "rotation" if n_groups >= n_splits else "all"
        wanted = n_splits if pairing == "rotation" else math.ceil(n_splits / n_groups)
        for n_blocks in range(min(max(wanted, 2), len(np.unique(sub.start))), 1, -1):
            candidate = LeaveOneSubjectOutBlocked(
                sub,
                n_blocks=n_blocks,
                hrf_span_s=self.hrf_span_s,
                tr=self.tr,
                window_length=self.window_length,
                pairing=pairing,
                seed=self.seed + 1,
                n_groups=n_groups,
            )
            try:
                candidate._folds()
            except ValueError:
                continue
            return candidate
        raise ValueError(
            f"the training set ({len(train)} windows) is too short for inner blocks with a purge gap of "
            f"{self.gap} TR; use fewer outer blocks, a shorter window or a shorter hrf_span_s"
        )
