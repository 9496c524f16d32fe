"""The fMRI dataset: ds002322 subjects, where their BOLD files are, and checks that they are usable.

Real data come from a local BIDS root, the cache, the mirror, or the public OpenNeuro bucket (only
the chosen subjects' preprocessed derivatives). The simulated dataset (:mod:`helpers.simulate`) uses
the same file names, so everything downstream reads both the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import pandas as pd

from helpers.data.derivatives import derivative_relpath, derivative_size
from helpers.data.fetch import DataUnavailableError, cached_path, fetch
from helpers.progress import tqdm
from helpers.study import (
    DS002322_SUBJECTS,
    DS002322_SUBJECTS_WITH_DERIVATIVES,
    N_VOLUMES,
    NO_DERIVATIVES,
    TR_SECONDS,
)


def sidecar_relpath(subject: str) -> str:
    return f"{subject}/{subject}_task-alice_bold.json"


def events_relpath(subject: str) -> str:
    return f"{subject}/{subject}_task-alice_events.tsv"


@dataclass(frozen=True)
class SubjectRun:
    """One subject's run: the preprocessed BOLD image and what the scanner tells us about it."""

    subject: str
    bold: Path
    repetition_time: float
    stimulus_onset: float


class DatasetError(ValueError):
    """A dataset file is missing or not shaped like a ds002322 run."""


def _read_sidecar(root: Path, subject: str) -> tuple[float, float]:
    sidecar = root / sidecar_relpath(subject)
    events = root / events_relpath(subject)
    tr = TR_SECONDS
    onset = 0.0
    if sidecar.is_file():
        meta = json.loads(sidecar.read_text())
        if "RepetitionTime" not in meta:
            raise DatasetError(f"{sidecar} has no RepetitionTime; add it (seconds, 2 for ds002322)")
        tr = float(meta["RepetitionTime"])
    if events.is_file():
        table = pd.read_csv(events, sep="\t")
        if "onset" not in table.columns or table.empty:
            raise DatasetError(f"{events} has no 'onset' column; it must give the audio's start")
        onset = float(table["onset"].iloc[0])
    return tr, onset


def validate_bold(path: Path, subject: str, expected_tr: float = TR_SECONDS) -> None:
    """Check that a BOLD file is a 4-D image of 372 volumes at TR 2 s, or say what is wrong."""
    if not path.is_file():
        raise DatasetError(f"{subject}: BOLD file {path} does not exist")
    try:
        image = nib.load(str(path))
    except Exception as exc:  # noqa: BLE001 - nibabel raises several types for unreadable files
        raise DatasetError(
            f"{subject}: cannot read {path} as NIfTI ({exc}); the file is corrupt or not an image: "
            "delete it and fetch it again"
        ) from None
    shape = image.shape
    if len(shape) != 4:
        raise DatasetError(
            f"{subject}: {path} is {len(shape)}-D with shape {shape}; a BOLD run must be 4-D "
            f"(x, y, z, {N_VOLUMES} volumes)"
        )
    if shape[3] != N_VOLUMES:
        raise DatasetError(
            f"{subject}: {path} has {shape[3]} volumes, expected {N_VOLUMES} (the whole Alice run); "
            "use the full preprocessed run, not a truncated copy"
        )
    zooms = image.header.get_zooms()
    header_tr = float(zooms[3]) if len(zooms) > 3 else 0.0
    if header_tr and abs(header_tr - expected_tr) > 1e-3:
        raise DatasetError(
            f"{subject}: {path} has TR {header_tr} s in its header, expected {expected_tr} s; "
            "this is not a ds002322 run or its header is wrong"
        )


def simulated_runs(root: Path, subjects: list[str]) -> list[SubjectRun]:
    """The runs of a simulated dataset written by :func:`helpers.simulate.write_dataset`."""
    return _runs_from_root(root, subjects, "simulated dataset")


def _runs_from_root(root: Path, subjects: list[str], what: str) -> list[SubjectRun]:
    runs = []
    for subject in subjects:
        bold = root / derivative_relpath(subject)
        if not bold.is_file():
            raise DatasetError(
                f"{subject}: no preprocessed BOLD in the {what} at {bold}; check the subject list "
                f"(available: {', '.join(available_subjects(root)) or 'none'})"
            )
        tr, onset = _read_sidecar(root, subject)
        if abs(tr - TR_SECONDS) > 1e-3:  # the sidecar is checked first: it is the one at fault
            raise DatasetError(
                f"{subject}: RepetitionTime {tr} s in {root / sidecar_relpath(subject)}, expected "
                f"{TR_SECONDS} s; this sidecar does not describe a ds002322 run: fix its "
                "RepetitionTime or use the original file"
            )
        validate_bold(bold, subject, tr)
        runs.append(SubjectRun(subject, bold, tr, onset))
    return runs


def available_subjects(root: Path) -> list[str]:
    folder = root / "derivatives"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith("sub-"))


def _fetch_derivative(subject: str, relpath: str, download: bool) -> Path:
    """One ds002322 file of ``subject`` through the data layer; a BOLD image is also size-checked."""
    path = fetch(f"ds002322/{relpath}", download=download)
    expected = derivative_size(relpath)
    if expected is not None and path.stat().st_size != expected:
        size = path.stat().st_size
        path.unlink()
        raise DataUnavailableError(
            f"ds002322/{relpath} for {subject} has {size} bytes, expected {expected}: the copy was cut "
            "short. It was removed; run again to fetch it anew"
        )
    return path


def ds002322_runs(
    subjects: list[str], bids_root: str | Path | None = None, download: bool = True
) -> list[SubjectRun]:
    """The real dataset's runs for ``subjects``, fetching only what is missing.

    Look-up per file: ``bids_root`` (a local copy of ds002322), else the data layer (cache, mirror,
    then the public OpenNeuro bucket; see :func:`helpers.data.fetch.fetch`).
    """
    missing = [s for s in subjects if s in NO_DERIVATIVES]
    if missing:
        raise DatasetError(
            f"{', '.join(missing)} have no preprocessed BOLD in ds002322 (derivatives exist for "
            f"{len(DS002322_SUBJECTS_WITH_DERIVATIVES)} subjects); remove them from 'subjects'"
        )
    unknown = [s for s in subjects if s not in DS002322_SUBJECTS]
    if unknown:
        raise DatasetError(
            f"{', '.join(unknown)} not in ds002322; known: {', '.join(DS002322_SUBJECTS)}"
        )
    if bids_root is not None:
        root = Path(bids_root).expanduser()
        if not root.is_dir():
            raise DatasetError(
                f"bids_root {root} is not a directory; point it at a copy of ds002322"
            )
        return _runs_from_root(root, subjects, f"local dataset {root}")
    for subject in tqdm(subjects, desc="ds002322 files", leave=False, disable=len(subjects) < 2):
        for relpath in (
            derivative_relpath(subject),
            sidecar_relpath(subject),
            events_relpath(subject),
        ):
            _fetch_derivative(subject, relpath, download)
    return _runs_from_root(cached_path("ds002322"), subjects, "downloaded ds002322")
