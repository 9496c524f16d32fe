"""A feature set: samples of one representation stacked over subjects, with their targets.

Each sample records its subject and the volumes ``[start, stop)`` it integrates, so that
cross-validation can purge training windows near a test block, and the feature set knows how its
targets were made from the TR-level emotion series, so that null targets are made the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from helpers.features.windows import DEFAULT_TAPER_SIGMA, window_targets
from helpers.study import EMOTIONS


@dataclass
class FeatureSet:
    """Samples of one representation, stacked over subjects, with what cross-validation needs.

    Attributes
    ----------
    name
        ``"roi"``, ``"roi_window"`` or ``"dfc"``.
    X
        (n_samples, n_features) float32. For large cached sets this is a read-only memory map.
    y
        (n_samples, 8) targets aligned to the same volumes or windows.
    subject, start, stop
        Per sample: the subject and the volumes it integrates, ``[start, stop)``.
    roi_labels, roi_networks
        Atlas labels and networks of the P ROIs.
    edges
        (n_features, 2) ROI indices of each DFC feature, ``None`` for amplitude features (feature k
        is then ROI k).
    target_names
        The emotions, in the order of the columns of ``y``.
    window
        The window settings that produced the samples.
    tr_targets
        The TR-level series (n_volumes, 8) that ``y`` was made from; null targets are made from
        series of this shape by :meth:`targets_from`.
    feature_labels
        Names of features that are neither ROIs nor edges (network pairs ``"A|B"`` of
        ``dfc_networks``).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    roi_labels: np.ndarray
    roi_networks: np.ndarray
    edges: np.ndarray | None = None
    target_names: tuple[str, ...] = EMOTIONS
    window: dict[str, Any] = field(default_factory=dict)
    tr_targets: np.ndarray | None = None
    feature_labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.X.shape[0]
        for label, array in (
            ("y", self.y),
            ("subject", self.subject),
            ("start", self.start),
            ("stop", self.stop),
        ):
            if len(array) != n:
                raise ValueError(
                    f"feature set {self.name}: {label} has {len(array)} rows, X has {n}"
                )
        if self.feature_labels is not None:
            expected = len(self.feature_labels)
        else:
            expected = len(self.edges) if self.edges is not None else len(self.roi_labels)
        if self.X.shape[1] != expected:
            raise ValueError(
                f"feature set {self.name}: X has {self.X.shape[1]} columns, expected {expected}"
            )

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def feature_names(self) -> list[str]:
        """``"label"`` per ROI feature, ``"label_a|label_b"`` per DFC feature."""
        if self.feature_labels is not None:
            return [str(v) for v in self.feature_labels]
        labels = [str(v) for v in self.roi_labels]
        if self.edges is None:
            return labels
        return [f"{labels[i]}|{labels[j]}" for i, j in self.edges]

    def subjects(self) -> list[str]:
        """Subjects in order of first appearance."""
        return list(dict.fromkeys(self.subject.tolist()))

    def targets_from(self, series: np.ndarray) -> np.ndarray:
        """Per-sample targets from TR-level series (..., n_volumes, K), made exactly as ``y`` was.

        Null targets go through here, so a tapered window or a centre target is applied to them as
        to the real ones.
        """
        per_window, sample_window = self.window_targets_from(series)
        return per_window[..., sample_window, :]

    def window_targets_from(self, series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets per distinct window ``(..., n_windows, K)`` and each sample's window index.

        Samples of different subjects that cover the same volumes share a window: the story, and so
        the target, is the same for everyone.
        """
        series = np.asarray(series, dtype=np.float64)
        starts, sample_window = np.unique(self.start, return_inverse=True)
        sample_window = sample_window.ravel()
        if self.name == "roi":
            return series[..., starts, :], sample_window
        length = int(self.window.get("length", int(np.max(self.stop - self.start))))
        per_window = window_targets(
            series,
            starts,
            length,
            shape=self.window.get("shape", "rectangular"),
            taper_sigma=self.window.get("taper_sigma", DEFAULT_TAPER_SIGMA),
            target=self.window.get("target", "mean"),
        )
        return per_window, sample_window

    def take(self, rows: np.ndarray) -> "FeatureSet":
        """The samples ``rows`` of this set (features loaded into memory as contiguous float32)."""
        rows = np.asarray(rows)
        return replace(
            self,
            X=np.ascontiguousarray(np.asarray(self.X)[rows], dtype=np.float32),
            y=np.asarray(self.y)[rows],
            subject=np.asarray(self.subject)[rows],
            start=np.asarray(self.start)[rows],
            stop=np.asarray(self.stop)[rows],
        )

    def with_features(self, X: np.ndarray) -> "FeatureSet":
        """The same samples, targets and windows with other feature columns (e.g. a lesioned set)."""
        X = np.asarray(X)
        return replace(
            self,
            X=X,
            roi_labels=np.array([f"roi{k}" for k in range(X.shape[1])]),
            roi_networks=np.full(X.shape[1], "none"),
            edges=None,
            feature_labels=None,
        )

    @property
    def is_edges(self) -> bool:
        """Whether each feature is a ROI pair (DFC) rather than a ROI."""
        return self.edges is not None

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        subject: Any,
        start: Any,
        *,
        window: dict[str, Any] | None = None,
        tr_targets: np.ndarray | None = None,
    ) -> "FeatureSet":
        """A feature set from plain arrays (features are ROIs named ``roi0``, ``roi1``...).

        Parameters
        ----------
        X : (n_samples, n_features) features.
        y : (n_samples,) or (n_samples, n_targets) targets; eight columns are the emotions.
        subject, start : (n_samples,) each sample's subject and first volume.
        window : the window settings (``length``, and the ``shape``/``target`` that null draws
            need); each sample covers ``start .. start + length``, one volume when absent.
        tr_targets : (n_volumes, n_targets) volume-level targets, for window-level null draws.

        Returns
        -------
        A FeatureSet named ``"features"``.
        """
        window = dict(window or {})
        start = np.asarray(start)
        stop = start + int(window.get("length", 1))
        X = np.asarray(X)
        y = np.asarray(y, dtype=float)
        y = y[:, None] if y.ndim == 1 else y
        names = (
            EMOTIONS
            if y.shape[1] == len(EMOTIONS)
            else tuple(f"target_{k}" for k in range(y.shape[1]))
        )
        labels = np.array([f"roi{k}" for k in range(X.shape[1])])
        return cls(
            name="features",
            X=X,
            y=y,
            subject=np.asarray(subject).astype(str),
            start=start,
            stop=stop,
            roi_labels=labels,
            roi_networks=np.full(X.shape[1], "none"),
            target_names=names,
            window=window,
            tr_targets=tr_targets,
        )
