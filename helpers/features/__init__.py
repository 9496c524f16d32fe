"""Features for decoding: ROI amplitude against dynamic functional connectivity, on shared windows.

* :mod:`~helpers.features.windows`: where windows start, their weights, window targets;
* :mod:`~helpers.features.edges`: how ROI pairs are indexed;
* :mod:`~helpers.features.connectivity`: sliding-window correlations (:func:`sliding_window_connectivity`);
* :mod:`~helpers.features.networks`: mean connectivity within and between networks (``dfc_networks``);
* :mod:`~helpers.features.feature_set`: :class:`FeatureSet`, samples with their targets and windows;
* :mod:`~helpers.features.sets`: feature sets built and cached for a run (:func:`build_feature_sets`);
* :mod:`~helpers.features.summaries`: feature-target correlations and network summaries;
* :mod:`~helpers.features.surrogates`: how much DFC fluctuates in data with no dynamics.
"""

from helpers.features.connectivity import (
    R_CLIP,
    Z_MAX,
    ConstantWindowWarning,
    RunWindows,
    sliding_window_connectivity,
    windowed_connectivity,
)
from helpers.features.edges import edge_pairs, edge_position, n_edges
from helpers.features.feature_set import FeatureSet
from helpers.features.networks import network_averaging, network_connectivity
from helpers.features.sets import FEATURES_VERSION, build_feature_sets
from helpers.features.summaries import (
    edge_target_correlations,
    network_pair_matrix,
    network_pair_summary,
)
from helpers.features.surrogates import dfc_temporal_std, phase_randomize, spurious_fluctuation
from helpers.features.windows import (
    DEFAULT_TAPER_SIGMA,
    effective_length,
    paper_anchor_times,
    window_average,
    window_centre_values,
    window_starts,
    window_targets,
    window_weights,
)

__all__ = [
    "DEFAULT_TAPER_SIGMA",
    "FEATURES_VERSION",
    "R_CLIP",
    "Z_MAX",
    "ConstantWindowWarning",
    "FeatureSet",
    "build_feature_sets",
    "dfc_temporal_std",
    "edge_pairs",
    "edge_position",
    "edge_target_correlations",
    "effective_length",
    "n_edges",
    "network_pair_matrix",
    "network_averaging",
    "network_connectivity",
    "network_pair_summary",
    "paper_anchor_times",
    "phase_randomize",
    "sliding_window_connectivity",
    "windowed_connectivity",
    "RunWindows",
    "spurious_fluctuation",
    "window_average",
    "window_centre_values",
    "window_starts",
    "window_targets",
    "window_weights",
]
