"""The book's figures: one named function per picture, drawn in one shared theme.

One module per chapter (:mod:`~helpers.plotting.annotation` ... :mod:`~helpers.plotting.calibration`)
and :mod:`~helpers.plotting.theme` for the look they share. Chapters call
``plotting.<function>(...)`` and narrate what it shows.
"""

from helpers.plotting.annotation import (
    plot_annotator_agreement,
    plot_cooccurrence,
    plot_emotion_trajectories,
    plot_segment_timeline,
    plot_shuffle_null,
    plot_target_construction,
    plot_targets,
    plot_timestamp_check,
)
from helpers.plotting.calibration import plot_calibration, plot_null_p_values
from helpers.plotting.explanation import (
    plot_connectomes,
    plot_jaccard,
    plot_leave_one_network_out,
    plot_network_pair_importance,
    plot_recovery,
    plot_spanning_trees,
    plot_weights_and_patterns,
)
from helpers.plotting.features import (
    plot_dfc_beside_emotions,
    plot_dfc_windows,
    plot_feature_counts,
    plot_fisher_z,
    plot_fluctuation_null,
    plot_network_pair_correlations,
    plot_window_pair,
    plot_window_weights,
)
from helpers.plotting.interpretation import plot_index_nulls, plot_lesion_drops, plot_network_shares
from helpers.plotting.preprocessing import (
    plot_atlas_glass_brain,
    plot_carpet,
    plot_cleaning,
    plot_tsnr,
)
from helpers.plotting.regression import (
    plot_folds,
    plot_null_distributions,
    plot_paired_subjects,
    plot_split_leak,
    plot_trajectories,
)
from helpers.plotting.sensitivity import (
    plot_power_curve,
    plot_swept_choice,
    plot_verdicts,
    plot_window_length,
    plot_window_shape,
)
from helpers.plotting.theme import emotion_grid, network_colors, plot_network_matrix, use_book_theme

__all__ = [
    "emotion_grid",
    "network_colors",
    "plot_annotator_agreement",
    "plot_atlas_glass_brain",
    "plot_calibration",
    "plot_carpet",
    "plot_cleaning",
    "plot_connectomes",
    "plot_cooccurrence",
    "plot_dfc_beside_emotions",
    "plot_dfc_windows",
    "plot_emotion_trajectories",
    "plot_feature_counts",
    "plot_fisher_z",
    "plot_fluctuation_null",
    "plot_folds",
    "plot_index_nulls",
    "plot_jaccard",
    "plot_leave_one_network_out",
    "plot_lesion_drops",
    "plot_network_matrix",
    "plot_network_pair_correlations",
    "plot_network_pair_importance",
    "plot_network_shares",
    "plot_null_distributions",
    "plot_null_p_values",
    "plot_paired_subjects",
    "plot_power_curve",
    "plot_recovery",
    "plot_segment_timeline",
    "plot_shuffle_null",
    "plot_spanning_trees",
    "plot_split_leak",
    "plot_swept_choice",
    "plot_target_construction",
    "plot_targets",
    "plot_timestamp_check",
    "plot_trajectories",
    "plot_tsnr",
    "plot_verdicts",
    "plot_weights_and_patterns",
    "plot_window_length",
    "plot_window_pair",
    "plot_window_shape",
    "plot_window_weights",
    "use_book_theme",
]
