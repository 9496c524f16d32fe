"""What the decoders use, and what that says about how emotions are coded.

* :mod:`~helpers.explain.inputs`: the samples, folds and feature blocks an explanation runs on;
* :mod:`~helpers.explain.patterns`: activation patterns (Haufe et al. 2014);
* :mod:`~helpers.explain.permutation`: grouped permutation importance on held-out folds;
* :mod:`~helpers.explain.lesions`: virtual lesions and leave-one-network-out, summarised by
  :mod:`~helpers.explain.lesion_indices`;
* :mod:`~helpers.explain.graphs`: importance graphs (spanning trees, degree, modularity...);
* :mod:`~helpers.explain.recovery`: recovery of the planted edges (simulated data);
* :mod:`~helpers.explain.indices`: pattern statistics (entropy, overlap, lesions) and null tests,
  the network shares and entropy from :mod:`~helpers.explain.network_indices`;
* :mod:`~helpers.explain.account_indices`: the indices that tell the accounts apart, and whether
  the explained decoder decodes;
* :mod:`~helpers.explain.accounts`: which indices count, the conclusion and the verdict table.
"""

__all__ = [
    "accounts",
    "graphs",
    "heldout",
    "indices",
    "inputs",
    "lesion_indices",
    "lesions",
    "network_indices",
    "patterns",
    "permutation",
    "recovery",
]
