"""What each sample summarises: one subject's window of volumes ``[start, stop)``.

Splitters look at nothing else. Samples of different subjects that cover the same volumes share
their targets exactly (every subject heard the same story), and neighbouring windows of one
subject share most of their volumes: this metadata is what honest splits are built from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.study import TR_SECONDS


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
        integer_typed = np.issubdtype(start.dtype, np.integer) and np.issubdtype(
            stop.dtype, np.integer
        )
        if not integer_typed and not (
            np.all(np.mod(start, 1) == 0) and np.all(np.mod(stop, 1) == 0)
        ):
            raise ValueError("start and stop must be whole TR indices")
        start = start.astype(np.int64)
        stop = stop.astype(np.int64)
        if np.any(stop <= start):
            bad = int(np.argmax(stop <= start))
            raise ValueError(
                f"sample {bad} has stop ({stop[bad]}) <= start ({start[bad]}); stop is the last TR + 1"
            )
        object.__setattr__(self, "subject", subject)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)

    @classmethod
    def from_features(cls, features: Any) -> WindowMeta:
        """Metadata of a WindowMeta, of ``as_groups()`` records, or of anything with ``subject``,
        ``start`` and ``stop`` attributes (a FeatureSet).

        Parameters
        ----------
        features : WindowMeta, numpy.ndarray or FeatureSet
            A WindowMeta (returned as is), structured records with fields ``subject``, ``start`` and
            ``stop``, or an object with those attributes, one entry per sample.

        Returns
        -------
        WindowMeta
            ``subject``, ``start`` and ``stop`` (volumes, ``[start, stop)``), (n_samples,) each.
        """
        if isinstance(features, WindowMeta):
            return features
        if isinstance(features, np.ndarray) and features.dtype.names:
            missing = {"subject", "start", "stop"} - set(features.dtype.names)
            if missing:
                raise ValueError(
                    f"groups records lack the fields {sorted(missing)}; use WindowMeta.as_groups()"
                )
            return cls(features["subject"], features["start"], features["stop"])
        if not all(hasattr(features, name) for name in ("subject", "start", "stop")):
            raise ValueError(
                "splitters need each sample's subject, window start and stop: pass groups="
                "WindowMeta.from_features(feature_set).as_groups(), or build the splitter with the metadata"
            )
        return cls(features.subject, features.start, features.stop)

    def as_groups(self) -> np.ndarray:
        """The metadata as one structured array (fields subject, start, stop) to pass as ``groups``.

        Returns
        -------
        numpy.ndarray
            (n_samples,) structured records with fields ``subject`` (str), ``start`` and ``stop``
            (int64 volumes).
        """
        records = np.empty(
            len(self),
            dtype=[("subject", self.subject.dtype), ("start", np.int64), ("stop", np.int64)],
        )
        records["subject"], records["start"], records["stop"] = self.subject, self.start, self.stop
        return records

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
    """Purge gap in TRs: a window length plus the HRF span, so no haemodynamic echo crosses over.

    Parameters
    ----------
    window_length : int
        Window length in TRs.
    hrf_span_s : float
        How long the haemodynamic response lasts, in seconds.
    tr : float, optional
        Repetition time in seconds.

    Returns
    -------
    int
        The gap in TRs, ``window_length + ceil(hrf_span_s / tr)``.
    """
    return int(window_length) + math.ceil(hrf_span_s / tr)
