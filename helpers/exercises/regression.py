"""Checks for the regression chapter's exercises: the purge mask of one blocked fold."""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.decoding.samples import WindowMeta
from helpers.exercises.checking import check_array, not_answered


def check_purge_mask(answer: Any, meta: WindowMeta, splitter: Any) -> bool:
    """Print whether ``answer`` marks exactly the training windows of ``splitter``'s first fold.

    ``answer`` is one boolean per sample of ``meta``. The reference is the fold the splitter
    itself cuts, so the check holds the student's mask to the code the chapter evaluates with.
    The usual slips (keeping the test windows, the held-out subjects, or forgetting the gap) are
    named rather than reported as a count of differing values.

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's mask, (n_samples,) booleans.
    meta : WindowMeta or FeatureSet
        Subject and ``[start, stop)`` of each sample.
    splitter : splitter
        The cross-validation splitter whose first fold is the reference.

    Returns
    -------
    bool
        True when the answer marks exactly the first fold's training windows.
    """
    meta = WindowMeta.from_features(meta)
    train, test = next(iter(splitter.split(groups=meta.as_groups())))
    expected = np.zeros(len(meta), dtype=bool)
    expected[train] = True
    if not not_answered(answer) and np.shape(answer) == expected.shape:
        slip = _named_slip(np.asarray(answer).astype(bool), meta, test)
        if slip:
            print(f"purge mask: {slip}")
            return False
    return check_array("purge mask", answer, expected)


def _named_slip(mask: np.ndarray, meta: WindowMeta, test: np.ndarray) -> str | None:
    """A sentence naming a common mistake in ``mask``, or None."""
    held_out = np.isin(meta.subject, np.unique(meta.subject[test]))
    if mask[test].any():
        return "it trains on test windows; a sample cannot be on both sides of a split."
    if (mask & held_out).any():
        return (
            "it trains on the held-out subjects' other windows; the fold tests an unseen "
            "subject, so none of that subject's windows may train."
        )
    lo, hi = int(meta.start[test].min()), int(meta.stop[test].max())
    no_gap = ~held_out & ((meta.stop <= lo) | (meta.start >= hi))
    if np.array_equal(mask, no_gap):
        return (
            "it drops the windows that overlap the test block but keeps those just beside it; "
            "add the purge gap on both sides."
        )
    return None
