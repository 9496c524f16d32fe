"""The oracle: on simulated data, the planted signal's own summary sets the ceiling of honest decoding.

For each emotion the simulator knows which ROI pairs couple with it (connectivity coding) and which
ROIs rise with it (amplitude coding). The mean Fisher z of its planted edges, and the mean windowed
amplitude of its planted ROIs (each signed by its gain: a constructionist pair may anti-couple),
are the best one-number summaries of what was planted; a line fitted
on them in the training folds and scored on the same test folds as every model says how much of the
emotion any decoder could recover from these data. Real data have no oracle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from helpers.features import FeatureSet


def planted_summary(
    truth: Mapping, feature_sets: Mapping[str, FeatureSet], emotions: Sequence[str]
) -> FeatureSet:
    """A feature set with each emotion's planted summaries as its columns (emotion-major order).

    Connectivity coding gives the mean of the emotion's planted edges (from ``feature_sets["dfc"]``),
    amplitude coding the mean of its planted ROIs (from ``feature_sets["roi_window"]``), ``both`` the
    two. A null dataset (``effect: none``) plants nothing; its oracle uses the edges and ROIs the
    simulator would have planted, so its score must sit within its null.
    """
    effect = truth["effect"]
    plants = truth["would_plant"] if effect == "none" else truth["emotions"]
    kinds = {
        "connectivity": ("edges",),
        "amplitude": ("rois",),
        "both": ("edges", "rois"),
        "none": ("edges", "rois"),
    }[effect]
    source = {"edges": "dfc", "rois": "roi_window"}
    missing = [source[kind] for kind in kinds if source[kind] not in feature_sets]
    if missing:
        raise ValueError(
            f"the oracle of a '{effect}' dataset needs the feature set(s) {missing}; add them to "
            "features"
        )
    reference = feature_sets[source[kinds[0]]]
    for kind in kinds[1:]:
        other = feature_sets[source[kind]]
        if not (
            np.array_equal(other.subject, reference.subject)
            and np.array_equal(other.start, reference.start)
        ):
            raise ValueError(
                "the DFC and windowed ROI feature sets do not describe the same windows"
            )
    columns, names = [], []
    for emotion in emotions:
        for kind in kinds:
            entries = plants[emotion][kind]
            index = [entry["edge_index"] if kind == "edges" else entry["roi"] for entry in entries]
            # a constructionist gain may be negative (the feature falls with the emotion)
            sign = np.sign([entry.get("gain", 1.0) for entry in entries])
            X = feature_sets[source[kind]].X
            columns.append(
                np.asarray(X[:, index], dtype=np.float64) @ sign / len(index)
                if index
                else np.zeros(len(reference.y))
            )
            names.append(f"{emotion}|{kind}")
    X = np.stack(columns, axis=1).astype(np.float32)
    planted = reference.with_features(X)
    return replace(planted, name="planted", roi_labels=np.asarray(names))
