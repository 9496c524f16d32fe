"""What one cross-validated (model, features, split) leaves behind: predictions, folds, scores, nulls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.metrics import fold_mean_r, pearson_columns, r2_columns
from helpers.decoding.stats import fdr_bh, permutation_p_value


@dataclass
class CVResult:
    """Held-out predictions of one (model, features, cv) and everything scored from them."""

    model: str
    features: str
    cv: str
    emotions: list[str]
    y_true: np.ndarray
    predictions: np.ndarray  # NaN for samples never tested
    subject: np.ndarray
    start: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    chosen: list[dict[str, Any]]
    null_r: np.ndarray | None = None  # (n_null, n_emotions): within-fold r of the null draws
    null_r2: np.ndarray | None = None  # (n_null, n_emotions): pooled R2 of the null draws
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tested(self) -> np.ndarray:
        return ~np.isnan(self.predictions[:, 0])

    def scores(self) -> pd.DataFrame:
        """Per emotion and their mean: r (within folds, tested), r_pooled, r2, mse, p and FDR p."""
        t = self.tested
        y, p = self.y_true[t], self.predictions[t]
        r2, r_pooled = r2_columns(y, p), pearson_columns(y, p)
        mse = ((y - p) ** 2).mean(axis=0)
        r = self.within_fold_r()
        frame = pd.DataFrame(
            {"emotion": self.emotions, "r2": r2, "r": r, "mse": mse, "r_pooled": r_pooled}
        )
        mean_row = {
            "emotion": "mean",
            "r2": np.nanmean(r2),
            "r": np.nanmean(r),
            "mse": mse.mean(),
            "r_pooled": np.nanmean(r_pooled),
        }
        if self.null_r is not None and len(self.null_r):
            frame["p_value"] = permutation_p_value(r, self.null_r)
            frame["p_fdr"] = fdr_bh(frame["p_value"].to_numpy())
            p_mean = float(permutation_p_value(np.nanmean(r), np.nanmean(self.null_r, axis=1)))
            mean_row.update(p_value=p_mean, p_fdr=p_mean)
        else:
            frame["p_value"] = np.nan
            frame["p_fdr"] = np.nan
            mean_row.update(p_value=np.nan, p_fdr=np.nan)
        frame = pd.concat([frame, pd.DataFrame([mean_row])], ignore_index=True)
        frame.insert(0, "cv", self.cv)
        frame.insert(0, "features", self.features)
        frame.insert(0, "model", self.model)
        return frame

    def within_fold_r(self) -> np.ndarray:
        """Mean over test folds of Pearson r inside each fold, per emotion (the tested r)."""
        return fold_mean_r(self.y_true, self.predictions, self.folds)

    def subject_scores(self) -> pd.DataFrame:
        """Per held-out subject and emotion: r (mean over the folds that tested the subject of r
        inside the fold), r2 and mse over that subject's held-out samples."""
        rows = []
        t = self.tested
        for subject in pd.unique(self.subject[t]):
            mask = t & (self.subject == subject)
            y, p = self.y_true[mask], self.predictions[mask]
            subject_folds = [
                (train, test[self.subject[test] == subject]) for train, test in self.folds
            ]
            r = fold_mean_r(self.y_true, self.predictions, subject_folds)
            for e, name in enumerate(self.emotions):
                rows.append(
                    {
                        "subject": subject,
                        "emotion": name,
                        "r": r[e],
                        "r2": r2_columns(y[:, [e]], p[:, [e]])[0],
                        "mse": float(((y[:, e] - p[:, e]) ** 2).mean()),
                    }
                )
        return pd.DataFrame(rows)

    def subject_mean_r(self) -> pd.Series:
        """Mean over emotions of each held-out subject's r (the unit of the paired DFC-vs-ROI test).

        Returns
        -------
        pandas.Series
            (n_subjects,) mean r, indexed by ``subject`` in the order they were tested.
        """
        return self.subject_scores().groupby("subject", sort=False)["r"].mean()

    def records(self) -> list[dict[str, Any]]:
        """Score rows as plain dicts ``{model, features, cv, emotion, r2, r, mse, p_value, p_fdr}``.

        Returns
        -------
        list of dict
            One dict per row of :meth:`scores` (each emotion, then ``"mean"``), NaN written as None.
        """
        keys = ("model", "features", "cv", "emotion", "r2", "r", "mse", "p_value", "p_fdr")
        out = []
        for row in self.scores().to_dict("records"):
            out.append(
                {
                    k: (None if isinstance(row[k], float) and np.isnan(row[k]) else row[k])
                    for k in keys
                }
            )
        return out
