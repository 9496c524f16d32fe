"""Constants of the study: the emotions, the scan grid and the subjects of ds002322.

Everything else in the package builds on these facts; they depend on nothing.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "anticipation",
    "joy",
    "trust",
    "fear",
    "surprise",
    "sadness",
    "disgust",
    "anger",
)
"""Plutchik's eight basic emotions, in the order used by the paper's authors."""


N_VOLUMES = 372
"""Volumes in one ds002322 run."""


TR_SECONDS = 2.0
"""Repetition time of ds002322."""


DS002322_SUBJECTS: tuple[str, ...] = tuple(
    f"sub-{n}"
    for n in [
        18,
        22,
        23,
        24,
        26,
        28,
        30,
        31,
        35,
        36,
        37,
        38,
        39,
        41,
        42,
        43,
        44,
        45,
        46,
        47,
        48,
        49,
        50,
        51,
        52,
        53,
    ]
)
"""The 26 usable subjects of ds002322 (there is no sub-40)."""


NO_DERIVATIVES = ("sub-38", "sub-46", "sub-52")


DS002322_SUBJECTS_WITH_DERIVATIVES: tuple[str, ...] = tuple(
    s for s in DS002322_SUBJECTS if s not in NO_DERIVATIVES
)
"""The 23 subjects whose SPM-preprocessed BOLD is published."""


TASK = "alice"
"""The BIDS task label of the run."""
