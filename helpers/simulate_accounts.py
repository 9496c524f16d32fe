"""The constructionist world of the simulator: every emotion carried by the same domain-general ROIs.

The simulator plants one of two accounts of where emotions live (``simulation.account``), defined
by the criteria the debate itself uses: *consistency* and *specificity* of the regions engaged by
each emotion category (Lindquist et al. 2012, Behav Brain Sci 35:121; Kragel & LaBar 2016, Trends
Cogn Sci 20:444; Barrett 2017, Soc Cogn Affect Neurosci 12:1).

* ``locationist`` (the default, :func:`helpers.simulate.plant_ground_truth`): each emotion owns a
  small ROI set of its own, drawn from the one to three host networks named for it (fear in the
  salience and cingulo-opercular networks and the amygdala, ...); no ROI is shared between emotions,
  so every planted ROI tracks exactly one emotion.
* ``constructionist`` (this module): one pool of ROIs, drawn evenly from three domain-general
  networks (salience / cingulo-opercular, default mode, fronto-parietal), carries every emotion. Each
  emotion gives each pool ROI a weight of sign +1 or -1 (its row of a Hadamard matrix, so the
  emotions' patterns are orthogonal) times a per-ROI gain of 0.8-1.2: the same ROIs take part in
  all emotions, each emotion is a different pattern of interactions (connectivity: pairs with
  equal signs couple, pairs with opposite signs anti-couple when the emotion is high) or of weights
  (amplitude), and no ROI tracks one emotion on its own.

Both accounts use the same signal model (:func:`helpers.simulate.simulate_roi_signals`): a module
entry's gain multiplies the emotion's shared driver, an amplitude entry's gain the emotion's
z-scored series. Each pool ROI carries every emotion, so one emotion moves each of its
features less than a locationist module moves its own; the pools are larger than one emotion's
locationist set so that the decoders, not only the oracle, decode both worlds about equally well
at the default SNR (benchmarks/bench_accounts.py measures both), and no index can tell the
accounts apart by reading signal strength. With a 16-ROI connectivity pool CPM's held-out r was
half the locationist world's (0.16 against 0.39, 20 development datasets) and the decoder passed
its null on 60% of them; with 32 ROIs it is 0.31 and 95%.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import hadamard

from helpers.data.atlases import Atlas
from helpers.features.edges import edge_position
from helpers.study import EMOTIONS

DOMAIN_GENERAL: dict[str, tuple[str, ...]] = {
    "seitzman300": ("Salience", "DefaultMode", "FrontoParietal"),
    "dosenbach160": ("cingulo-opercular", "default", "fronto-parietal"),
    "schaefer400": ("SalVentAttn", "Default", "Cont"),
}
"""The three domain-general networks of each atlas that host the constructionist pool."""

CONSTRUCTIONIST_GAIN = 0.6
"""Scale of the constructionist weights. Each pool ROI sums every emotion's input, so the others'
inputs limit how well one emotion's coupling can be read; on the calibration design the oracle's
mean r barely moves between 0.6 and 1.3 (0.42 and 0.41), so the scale is not what matches the
two worlds' decodability (the pool sizes are)."""


def _pool_networks(atlas: Atlas, rng: np.random.Generator) -> tuple[str, ...]:
    names = DOMAIN_GENERAL.get(atlas.name, ())
    if not names or not all(len(atlas.rois_in(n)) for n in names):
        networks = [n for n in atlas.network_names() if n.lower() != "unassigned"]
        names = tuple(rng.choice(networks, size=min(3, len(networks)), replace=False))
    return tuple(names)


def draw_pool(atlas: Atlas, size: int, rng: np.random.Generator, exclude: set[int]) -> list[int]:
    """``size`` ROIs spread evenly over the domain-general networks (round robin), none in ``exclude``."""
    per_network = [
        [int(r) for r in rng.permutation(atlas.rois_in(n)) if int(r) not in exclude]
        for n in _pool_networks(atlas, rng)
    ]
    chosen: list[int] = []
    while len(chosen) < size and any(per_network):
        for candidates in per_network:
            if candidates and len(chosen) < size:
                chosen.append(candidates.pop())
    if len(chosen) < size:
        raise ValueError(
            f"the constructionist pool needs {size} ROIs in {', '.join(_pool_networks(atlas, rng))}"
            f" of {atlas.name}; lower simulation.module_size or simulation.rois_per_emotion"
        )
    return sorted(chosen)


def pool_size(requested: int) -> int:
    """The smallest power of two at least ``requested`` and the number of emotions (Hadamard order)."""
    size = 1
    while size < max(requested, len(EMOTIONS)):
        size *= 2
    return size


def signed_patterns(rng: np.random.Generator, size: int) -> np.ndarray:
    """Each emotion's signs over a pool of ``size`` ROIs: (n_emotions, size), rows orthogonal.

    Rows of a Hadamard matrix (the all-ones row only when the pool has no other row left), so
    every ROI takes part in every
    emotion with weight +1 or -1, and no emotion's pattern is a mix of the others': a summary of
    one emotion's pattern is not contaminated by the others through the pool.
    """
    first = 1 if size > len(EMOTIONS) else 0
    rows = rng.choice(np.arange(first, size), size=len(EMOTIONS), replace=False)
    return hadamard(size)[rows].astype(float)


def _entry(atlas: Atlas, roi: int, gain: float) -> dict:
    return {
        "roi": roi,
        "label": atlas.labels[roi],
        "network": atlas.networks[roi],
        "gain": float(gain),
    }


def plant_constructionist(atlas: Atlas, module_size: int, rois_per_emotion: int, seed: int) -> dict:
    """Per emotion, what a constructionist world would plant (``would_plant`` of the ground truth).

    A connectivity pool of ``pool_size(4 * module_size)`` ROIs (32 by default) and a separate
    amplitude pool of ``pool_size(4 * rois_per_emotion)`` ROIs (16), the same for every emotion.
    A pool ROI's gain for an emotion is the emotion's sign for it (:func:`signed_patterns`) times
    a per-ROI gain (0.8-1.2) times :data:`CONSTRUCTIONIST_GAIN`. Every pair of the connectivity
    pool is an edge of every emotion, with the product of the two gains as its signed gain
    (negative: the pair anti-couples when the emotion is high).
    """
    rng = np.random.default_rng([seed, 5])
    module = draw_pool(atlas, pool_size(4 * module_size), rng, exclude=set())
    amplitude = draw_pool(atlas, pool_size(4 * rois_per_emotion), rng, exclude=set(module))
    module_gain = rng.uniform(0.8, 1.2, len(module)) * CONSTRUCTIONIST_GAIN
    amplitude_gain = rng.uniform(0.8, 1.2, len(amplitude)) * CONSTRUCTIONIST_GAIN
    coupling = np.round(signed_patterns(rng, len(module)) * module_gain, 4)
    level = np.round(signed_patterns(rng, len(amplitude)) * amplitude_gain, 4)
    plants = {}
    for e_index, emotion in enumerate(EMOTIONS):
        weights = coupling[e_index]
        edges = [
            {
                "rois": [i, j],
                "labels": [atlas.labels[i], atlas.labels[j]],
                "networks": [atlas.networks[i], atlas.networks[j]],
                "edge_index": edge_position(i, j, atlas.n_rois),
                "gain": round(float(weights[a] * weights[b]), 4),
            }
            for a, i in enumerate(module)
            for b, j in enumerate(module)
            if b > a
        ]
        plants[emotion] = {
            "module": [_entry(atlas, k, w) for k, w in zip(module, weights)],
            "edges": edges,
            "rois": [_entry(atlas, k, w) for k, w in zip(amplitude, level[e_index])],
        }
    return plants


__all__ = [
    "CONSTRUCTIONIST_GAIN",
    "DOMAIN_GENERAL",
    "draw_pool",
    "plant_constructionist",
    "pool_size",
    "signed_patterns",
]
