"""Cross-validation splitters driven by what each sample summarises: a subject and a window of TRs.

Every subject heard the same story, so windows of different subjects that cover the same TRs share
their targets exactly, and neighbouring windows of one subject share most of their TRs. A split that
ignores this (the paper's random 90/10) puts near-copies of test samples into training. The splitters
here follow the scikit-learn interface (``split(X, y, groups)``, ``get_n_splits``) but read the
sample metadata given at construction, so they can be passed as ``cv=`` anywhere.

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

from helpers.study import TR_SECONDS

IndexPair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class WindowMeta:
    """Per-sample subject and TR window ``[start, stop)``; the only thing splitters look at."""

    subject: np.ndarray
    start: np.ndarray
    stop: np.ndarray

    def __post_init__(self) -> None:
        subject = np.asarray(self.subject).astype(str)
        start = np.asarray(self.start)
        stop = np.asarray(self.stop)
        if not (subject.ndim == start.ndim == stop.ndim == 1):
            raise ValueError("subject, start and stop must be 1-D arrays with one entry per sample")
        if not (len(subject) == len(start) == len(stop)):
            raise ValueError(
                f"subject ({len(subject)}), start ({len(start)}) and stop ({len(stop)}) must have one "
                "entry per sample"
            )
        if len(subject) == 0:
            raise ValueError("no samples: the metadata arrays are empty")
        integer_typed = np.issubdtype(start.dtype, np.integer) and np.issubdtype(stop.dtype, np.integer)
        if not integer_typed and not (np.all(np.mod(start, 1) == 0) and np.all(np.mod(stop, 1) == 0)):
            raise ValueError("start and stop must be whole TR indices")
        start = start.astype(np.int64)
        stop = stop.astype(np.int64)
        if np.any(stop <= start):
            bad = int(np.argmax(stop <= start))
            raise ValueError(f"sample {bad} has stop ({stop[bad]}) <= start ({start[bad]}); stop is the last TR + 1")
        object.__setattr__(self, "subject", subject)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)

    @classmethod
    def from_features(cls, features: Any) -> WindowMeta:
        """Metadata of any object with ``subject``, ``start`` and ``stop`` attributes (a FeatureSet)."""
        return cls(features.subject, features.start, features.stop)

    def __len__(self) -> int:
        return len(self.subject)

    def take(self, index: np.ndarray) -> WindowMeta:
        return WindowMeta(self.subject[index], self.start[index], self.stop[index])

    @property
    def subjects(self) -> np.ndarray:
        """Subjects in order of first appearance."""
        _, first = np.unique(self.subject, return_index=True)
        return self.subject[np.sort(first)]

    @property
    def window_length(self) -> int:
        return int(np.max(self.stop - self.start))

    def window_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Unique ``(start, stop)`` windows (n_windows, 2) and each sample's row in that table."""
        pairs = np.stack([self.start, self.stop], axis=1)
        windows, index = np.unique(pairs, axis=0, return_inverse=True)
        return windows, index.ravel()


def purge_gap_trs(window_length: int, hrf_span_s: float, tr: float = TR_SECONDS) -> int:
    """Purge gap in TRs: a window length plus the HRF span, so no haemodynamic echo crosses over."""
    return int(window_length) + math.ceil(hrf_span_s / tr)


def _check_length(meta: WindowMeta, X: Any) -> None:
    if X is not None and len(X) != len(meta):
        raise ValueError(
            f"X has {len(X)} samples but the splitter was built for {len(meta)}; build the splitter "
            "from the metadata of the same feature set"
        )


def _subject_groups(subjects: np.ndarray, per_fold: int) -> list[np.ndarray]:
    if per_fold < 1:
        raise ValueError(f"subjects_per_fold must be at least 1, got {per_fold}")
    n_groups = math.ceil(len(subjects) / per_fold)
    return [g for g in np.array_split(subjects, n_groups) if len(g)]


class _MetaSplitter:
    """Shared plumbing: scikit-learn splitter protocol over stored metadata."""

    meta: WindowMeta

    def _folds(self) -> list[IndexPair]:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Iterator[IndexPair]:
        """Yield ``(train, test)`` index arrays; ``groups`` is ignored (metadata already given)."""
        _check_length(self.meta, X)
        yield from self._folds()

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self._folds())

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

    def __init__(self, meta: WindowMeta, test_fraction: float = 0.1, n_splits: int = 1, seed: int = 0) -> None:
        if not 0.0 < test_fraction <= 0.5:
            raise ValueError(f"test_fraction must be in (0, 0.5], got {test_fraction}")
        self.meta = meta
        self.test_fraction = test_fraction
        self.n_folds_total = round(1.0 / test_fraction)
        if not 1 <= n_splits <= self.n_folds_total:
            raise ValueError(f"n_splits must be between 1 and {self.n_folds_total} for test_fraction {test_fraction}")
        self.n_splits = n_splits
        self.seed = seed
        self._cache: list[IndexPair] | None = None

    def fold_labels(self) -> np.ndarray:
        """Fold (0..k-1) each sample is dealt to."""
        rng = np.random.default_rng(self.seed)
        k = self.n_folds_total
        labels = np.empty(len(self.meta), dtype=np.int64)
        for subject in self.meta.subjects:
            rows = np.flatnonzero(self.meta.subject == subject)
            rows = rows[np.argsort(self.meta.start[rows], kind="stable")]
            for first in range(0, len(rows), k):
                run = rows[first : first + k]
                labels[run] = rng.permutation(k)[: len(run)]
        return labels

    def _folds(self) -> list[IndexPair]:
        if self._cache is None:
            labels = self.fold_labels()
            self._cache = [
                (np.flatnonzero(labels != f), np.flatnonzero(labels == f)) for f in range(self.n_splits)
            ]
        return self._cache

    def inner(self, train: np.ndarray, n_splits: int) -> RandomWindowSplit:
        k = max(2, n_splits)
        return RandomWindowSplit(self.meta.take(train), test_fraction=1.0 / k, n_splits=k, seed=self.seed + 1)


class LeaveOneSubjectOut(_MetaSplitter):
    """Each fold tests one subject (or a group of ``subjects_per_fold``) and trains on the others."""

    def __init__(self, meta: WindowMeta, subjects_per_fold: int = 1) -> None:
        self.meta = meta
        self.subjects_per_fold = subjects_per_fold
        self.groups = _subject_groups(meta.subjects, subjects_per_fold)
        if len(self.groups) < 2:
            raise ValueError(
                f"leave-subject-out needs at least 2 subject groups; have {len(meta.subjects)} subjects "
                f"and subjects_per_fold={subjects_per_fold}"
            )

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
    exactly once) or ``n_groups`` with ``pairing="rotation"`` (group ``g`` tested on block
    ``(g + offset) mod n_blocks``, offset drawn from ``seed``), where
    ``n_groups = ceil(n_subjects / subjects_per_fold)``.
    """

    def __init__(
        self,
        meta: WindowMeta,
        n_blocks: int = 5,
        hrf_span_s: float = 16.0,
        tr: float = TR_SECONDS,
        window_length: int | None = None,
        subjects_per_fold: int = 1,
        pairing: str = "all",
        seed: int = 0,
    ) -> None:
        if pairing not in ("all", "rotation"):
            raise ValueError(f"pairing must be 'all' or 'rotation', got {pairing!r}")
        self.meta = meta
        self.n_blocks = int(n_blocks)
        self.window_length = meta.window_length if window_length is None else int(window_length)
        self.gap = purge_gap_trs(self.window_length, hrf_span_s, tr)
        self.hrf_span_s = hrf_span_s
        self.tr = tr
        self.subjects_per_fold = subjects_per_fold
        self.pairing = pairing
        self.seed = seed
        starts = np.unique(meta.start)
        if self.n_blocks < 2 or self.n_blocks > len(starts):
            raise ValueError(
                f"n_blocks = {n_blocks} must be between 2 and the number of distinct windows ({len(starts)})"
            )
        self.groups = _subject_groups(meta.subjects, subjects_per_fold)
        if len(self.groups) < 2:
            raise ValueError(
                f"blocked leave-subject-out needs at least 2 subject groups; have {len(meta.subjects)} "
                f"subjects and subjects_per_fold={subjects_per_fold}"
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
        """Rotation over ``n_splits`` subject groups and ``n_splits`` blocks of the training samples."""
        sub = self.meta.take(train)
        n_subjects = len(sub.subjects)
        k = max(2, min(n_splits, n_subjects))
        per_fold = math.ceil(n_subjects / k)
        for n_blocks in range(min(k, len(np.unique(sub.start))), 1, -1):
            candidate = LeaveOneSubjectOutBlocked(
                sub, n_blocks=n_blocks, hrf_span_s=self.hrf_span_s, tr=self.tr,
                window_length=self.window_length, subjects_per_fold=per_fold, pairing="rotation",
                seed=self.seed + 1,
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


Splitter = RandomWindowSplit | LeaveOneSubjectOut | LeaveOneSubjectOutBlocked


def make_splitter(params: Any, meta: WindowMeta | Any, cv: str | None = None) -> Splitter:
    """The splitter named by ``params.cv`` (or ``cv``) with the options of ``params.cv_options``.

    ``meta`` is a :class:`WindowMeta` or anything with ``subject``/``start``/``stop`` (a FeatureSet).
    """
    if not isinstance(meta, WindowMeta):
        meta = WindowMeta.from_features(meta)
    scheme = cv or params.cv
    options = params.cv_options
    per_fold = getattr(options, "subjects_per_fold", 1)
    if scheme == "random":
        return RandomWindowSplit(meta, test_fraction=options.test_fraction,
                                 n_splits=getattr(options, "random_splits", 1), seed=params.seed)
    if scheme == "loso":
        return LeaveOneSubjectOut(meta, subjects_per_fold=per_fold)
    if scheme == "loso_blocked":
        return LeaveOneSubjectOutBlocked(
            meta, n_blocks=options.n_blocks, hrf_span_s=options.hrf_span_s, tr=TR_SECONDS,
            window_length=params.window.length, subjects_per_fold=per_fold,
            pairing=getattr(options, "pairing", "all"), seed=params.seed,
        )
    raise ValueError(f"unknown cv scheme {scheme!r}; allowed: random, loso, loso_blocked")
