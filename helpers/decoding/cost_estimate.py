"""A chapter's estimated cost in parts, and how it is said: the total, the design, the longest parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class CostEstimate:
    """Estimated seconds of the parts of a chapter, in the order it runs them."""

    parts: list[tuple[str, float]] = field(default_factory=list)
    designs: list[Any] = field(default_factory=list)  # CVDesign of each part

    @property
    def seconds(self) -> float:
        return float(sum(seconds for _, seconds in self.parts))

    def add(self, label: str, seconds: float, design: Any = None) -> None:
        self.parts.append((label, float(seconds)))
        if design is not None:
            self.designs.append(design)

    def table(self) -> pd.DataFrame:
        """One row per part: its label and estimated seconds, the longest first."""
        table = pd.DataFrame(self.parts, columns=["part", "seconds"])
        return table.sort_values("seconds", ascending=False, ignore_index=True)

    def text(self, longest: int = 5) -> str:
        """The estimate in words: the total, the design's size and the longest parts.

        Parameters
        ----------
        longest : int
            How many of the longest parts to list.

        Returns
        -------
        str
            One line for the total, one per listed part.
        """
        folds = max((d.n_folds for d in self.designs), default=0)
        draws = max((d.n_null for d in self.designs), default=0)
        samples = max((d.n_samples for d in self.designs), default=0)
        features = max((d.n_features for d in self.designs), default=0)
        lines = [
            f"estimated {duration_text(self.seconds)} for {len(self.designs)} cross-validations "
            f"(up to {samples:,} samples, {features:,} features, {folds} outer folds, "
            f"{draws:,} null draws)"
        ]
        for label, seconds in self.table().head(longest).itertuples(index=False):
            lines.append(f"  {label}: {duration_text(seconds)}")
        return "\n".join(lines)


def duration_text(seconds: float) -> str:
    """``42 s``, ``3.5 min`` or ``2.1 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["CostEstimate", "duration_text"]
