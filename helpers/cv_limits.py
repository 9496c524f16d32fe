"""How long a window can be for blocked cross-validation to have training data in every fold.

Blocked leave-subject-out cuts the window starts into story blocks and drops training windows within
a purge gap (a window plus the HRF span) of the test block. A window that is too long, or too few
starts, leaves a block with no training window at all; parameter files are checked against this
geometry when they are loaded, so the mistake is named before any chapter runs.
"""

from __future__ import annotations

import math

from helpers.study import N_VOLUMES, TR_SECONDS

PAPER_FIRST_ANCHOR_TR = 13
"""The paper's DFC anchors start 26 s into the audio, about 13 volumes into the run."""


def purge_gap(window_length: int, hrf_span_s: float) -> int:
    """TRs dropped on each side of a test block: a window plus the HRF span (as the splitter does)."""
    return int(window_length) + math.ceil(hrf_span_s / TR_SECONDS)


def subject_groups_count(n_subjects: int, subjects_per_fold: int) -> int:
    """Held-out subject groups of leave-subject-out (as the splitters cut them)."""
    return math.ceil(n_subjects / max(1, subjects_per_fold)) if n_subjects > 0 else 0


def window_start_count(length: int, step: int, anchors: str) -> int:
    """Window starts per subject; paper anchors are counted as one per TR from their first one."""
    first, stride = (PAPER_FIRST_ANCHOR_TR, 1) if anchors == "paper" else (0, step)
    return max(0, (N_VOLUMES - length - first) // stride + 1)


def blocked_folds_fit(length: int, step: int, anchors: str, n_blocks: int, gap: int) -> bool:
    """True when every story block of blocked cross-validation keeps a training window.

    Mirrors :class:`helpers.decoding.splits.LeaveOneSubjectOutBlocked`: the window starts are cut into
    ``n_blocks`` contiguous blocks; a training window must end ``gap`` TRs before a test block or
    start ``gap`` TRs after it.
    """
    first, stride = (PAPER_FIRST_ANCHOR_TR, 1) if anchors == "paper" else (0, step)
    starts = list(range(first, N_VOLUMES - length + 1, stride))
    if len(starts) < max(n_blocks, 2):
        return False
    size, extra = divmod(len(starts), n_blocks)
    begin = 0
    for block in range(n_blocks):
        end = begin + size + (1 if block < extra else 0)
        low, high = starts[begin], starts[end - 1] + length
        if not any(s + length + gap <= low or s >= high + gap for s in starts):
            return False
        begin = end
    return True
