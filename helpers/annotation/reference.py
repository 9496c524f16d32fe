"""The paper authors' published GPT-4 labels, with the segment times they used.

What the published files hold, and how they fit together (checked against the data in
:func:`timestamp_check` and in the Annotation chapter):

- ``alice.txt`` has **91** text segments, one per line. The last line has no line break, so
  ``wc -l`` reports 90 and the authors' own description speaks of 90 segments.
- ``godvectors.csv`` has 91 label rows: row ``i`` scores line ``i`` (the authors' raw GPT-4 output
  numbers its answers "Line 1" to "Line 91" in file order).
- ``timestamps.csv`` has 91 times: time ``i`` is the **end** of segment ``i`` in the audio, rounded
  *up* to the next multiple of 2 s (the TR). Aligning the 91 lines to the word timings of
  ds002322 reproduces all 91 timestamps exactly as ``2 * ceil(offset_i / 2)``.

So label ``i`` describes the audio from the end of segment ``i - 1`` to the end of segment ``i``
on the authors' 2-s grid; the first segment starts with the first spoken word. This annotator
returns those times as ``onset``/``offset`` (the paper's targets) and, for comparison, the
word-aligned times of the same lines as ``aligned_onset``/``aligned_offset``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.annotation.base import Annotation, Segment
from helpers.data.fetch import REMOTE_FILES, fetch
from helpers.study import EMOTIONS

LABELS_KEY = "emotional-decoding-2025/godvectors.csv"
TIMESTAMPS_KEY = "emotional-decoding-2025/timestamps.csv"
TIMESTAMP_GRID_S = 2.0
"""The authors rounded each segment's end up to this grid (their TR)."""

N_REFERENCE_SEGMENTS = 91


class ReferenceDataError(ValueError):
    """The published labels or timestamps are not shaped as expected."""


def load_reference_labels() -> pd.DataFrame:
    """The 91 x 8 GPT-4 scores, columns renamed to the lower-case :data:`EMOTIONS`.

    Returns
    -------
    pandas.DataFrame
        (91, 8) float scores, index ``segment`` 0..90, columns :data:`EMOTIONS`.
    """
    labels = pd.read_csv(fetch(LABELS_KEY), index_col=0)
    labels.columns = [str(c).strip().lower() for c in labels.columns]
    missing = [e for e in EMOTIONS if e not in labels.columns]
    if missing:
        raise ReferenceDataError(f"{LABELS_KEY} lacks columns {missing}; is it the published file?")
    if len(labels) != N_REFERENCE_SEGMENTS:
        raise ReferenceDataError(
            f"{LABELS_KEY} has {len(labels)} rows, expected {N_REFERENCE_SEGMENTS}"
        )
    labels = labels[list(EMOTIONS)].astype(float)
    labels.index = pd.RangeIndex(len(labels), name="segment")
    return labels


def load_reference_timestamps() -> np.ndarray:
    """The 91 segment-end times (s of the audio, on a 2-s grid)."""
    stamps = pd.read_csv(fetch(TIMESTAMPS_KEY), index_col=0).iloc[:, 0].to_numpy(dtype=float)
    if len(stamps) != N_REFERENCE_SEGMENTS or (np.diff(stamps) <= 0).any():
        raise ReferenceDataError(
            f"{TIMESTAMPS_KEY} must hold {N_REFERENCE_SEGMENTS} increasing times, got {len(stamps)}"
        )
    return stamps


def round_up_to_grid(times: np.ndarray, grid: float = TIMESTAMP_GRID_S) -> np.ndarray:
    """Times rounded up to the next multiple of ``grid``, as the authors did for segment ends."""
    return grid * np.ceil(np.asarray(times, dtype=float) / grid)


def timestamp_check(segments: list[Segment], timestamps: np.ndarray | None = None) -> pd.DataFrame:
    """Compare the published timestamps with the word-aligned ends of the authors' segments.

    Returns one row per segment with the aligned onset and offset, the published timestamp and
    its difference from the aligned offset rounded up to the 2-s grid (zero when the mapping
    described in this module holds).

    Parameters
    ----------
    segments : list of Segment
        The authors' 91 segments, word-aligned (the ``paper`` segmentation).
    timestamps : numpy.ndarray, optional
        The published timestamps (s), (n_segments,); read from the reference files if omitted.

    Returns
    -------
    pandas.DataFrame
        (n_segments, 5), index ``segment``: ``aligned_onset``, ``aligned_offset``, ``timestamp``,
        ``timestamp_minus_offset`` and ``timestamp_minus_rounded_offset``, all in seconds.
    """
    stamps = load_reference_timestamps() if timestamps is None else np.asarray(timestamps, float)
    if len(segments) != len(stamps):
        raise ReferenceDataError(
            f"{len(segments)} segments against {len(stamps)} timestamps; use the 'paper' "
            "segmentation, which has one segment per published label"
        )
    onsets = np.array([s.onset for s in segments])
    offsets = np.array([s.offset for s in segments])
    return pd.DataFrame(
        {
            "aligned_onset": onsets,
            "aligned_offset": offsets,
            "timestamp": stamps,
            "timestamp_minus_offset": stamps - offsets,
            "timestamp_minus_rounded_offset": stamps - round_up_to_grid(offsets),
        },
        index=pd.RangeIndex(len(stamps), name="segment"),
    )


class ReferenceAnnotator:
    """Serves the published GPT-4 labels; it scores nothing itself.

    The labels exist only for the authors' own segments, so :meth:`annotate` needs the 91
    segments of the ``paper`` segmentation (from :func:`helpers.data.stimulus.load_segments`).
    """

    name = "reference"

    def annotate(self, segments: list[Segment]) -> Annotation:
        if len(segments) != N_REFERENCE_SEGMENTS:
            raise ReferenceDataError(
                f"the reference labels cover the authors' {N_REFERENCE_SEGMENTS} segments, got "
                f"{len(segments)} segments; load them with load_segments('paper')"
            )
        labels = load_reference_labels()
        stamps = load_reference_timestamps()
        check = timestamp_check(segments, stamps)
        first_word = float(segments[0].onset)
        scores = labels.copy()
        scores["onset"] = np.concatenate([[first_word], stamps[:-1]])
        scores["offset"] = stamps
        scores["aligned_onset"] = check["aligned_onset"].to_numpy()
        scores["aligned_offset"] = check["aligned_offset"].to_numpy()
        scores["text"] = [s.text for s in segments]
        n_exact = int((check["timestamp_minus_rounded_offset"].abs() < 1e-6).sum())
        provenance = {
            "annotator": self.name,
            "source": "Aasvaer & Kvadsheim 2025, GPT-4 at temperature 0, cumulative context",
            "labels_url": REMOTE_FILES[LABELS_KEY].url,
            "labels_sha256": REMOTE_FILES[LABELS_KEY].sha256,
            "timestamps_url": REMOTE_FILES[TIMESTAMPS_KEY].url,
            "timestamps_sha256": REMOTE_FILES[TIMESTAMPS_KEY].sha256,
            "segmentation": "paper",
            "timing": "label i held from timestamp i-1 (first word for i=0) to timestamp i",
            "timestamps_equal_rounded_aligned_offsets": n_exact,
        }
        return Annotation(scores=scores, provenance=provenance)
