"""What every annotator returns: a segments x 8 emotions table of scores in [0, 1], with provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.data.stimulus import Segment
from helpers.study import EMOTIONS

__all__ = ["Annotation", "Segment"]


@dataclass
class Annotation:
    """Scores in [0, 1], one row per segment and one column per emotion, with their provenance."""

    scores: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [e for e in EMOTIONS if e not in self.scores.columns]
        if missing:
            raise ValueError(f"annotation lacks emotion columns {missing}")
        values = self.scores[list(EMOTIONS)].to_numpy(dtype=float)
        if np.isnan(values).any() or values.min() < 0 or values.max() > 1:
            raise ValueError("annotation scores must be finite and within [0, 1]")
