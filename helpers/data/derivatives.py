"""The SPM-preprocessed BOLD images of ds002322: their paths and their published byte sizes.

At about 280 MB each they are too large to hash on every run, so each is checked by its byte size
(from the dataset's annexed file list). The sizes are listed per subject in
``derivative_sizes.tsv``; the path of each image is built here from the subject, in one place, for
the registry of remote files, the data layer and the simulator alike.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from helpers.study import TASK

DERIVATIVE_SIZES_FILE = Path(__file__).with_name("derivative_sizes.tsv")


def derivative_relpath(subject: str) -> str:
    """Path of a subject's preprocessed BOLD inside the dataset."""
    return f"derivatives/{subject}/{subject}_task-{TASK}_bold_preprocessed.nii.gz"


@cache
def derivative_sizes() -> dict[str, int]:
    """Published byte size of each subject's preprocessed BOLD (the subjects that have one)."""
    table = pd.read_csv(DERIVATIVE_SIZES_FILE, sep="\t", comment="#", dtype={"subject": str})
    return {str(s): int(b) for s, b in zip(table["subject"], table["bytes"], strict=True)}


def derivative_size(relpath: str) -> int | None:
    """Published byte size of a BOLD derivative (``derivatives/sub-XX/...``), if it is listed."""
    by_path = {derivative_relpath(s): size for s, size in derivative_sizes().items()}
    return by_path.get(relpath)
