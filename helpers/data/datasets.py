"""The fMRI dataset: ds002322 subjects, where their BOLD files are, and checks that they are usable.

Real data come from a local BIDS root, the cache, the mirror, or the public OpenNeuro bucket (only
the chosen subjects' preprocessed derivatives). The simulated dataset (:mod:`helpers.simulate`) uses
the same file names, so everything downstream reads both the same way.
"""

from __future__ import annotations

import json
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from helpers.study import N_VOLUMES, TR_SECONDS
from helpers.data.fetch import OPENNEURO_BUCKET, DataUnavailableError, download_file, get_mirror
from helpers.data.storage import get_data_home
from helpers.study import (
    DS002322_SUBJECTS,
    DS002322_SUBJECTS_WITH_DERIVATIVES,
    NO_DERIVATIVES,
    TASK,
)


DERIVATIVE_BYTES: dict[str, int] = {}
"""Expected sizes of derivative files, filled lazily from the mirror's annexed_file_sizes.tsv."""


def derivative_relpath(subject: str) -> str:
    """Path of a subject's preprocessed BOLD inside the dataset."""
    return f"derivatives/{subject}/{subject}_task-{TASK}_bold_preprocessed.nii.gz"


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
    except Exception as exc:  # nibabel raises several types for unreadable files
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
        validate_bold(bold, subject, tr)
        if abs(tr - TR_SECONDS) > 1e-3:
            raise DatasetError(
                f"{subject}: RepetitionTime {tr} s in {root / sidecar_relpath(subject)}, expected "
                f"{TR_SECONDS} s; this is not a ds002322 run"
            )
        runs.append(SubjectRun(subject, bold, tr, onset))
    return runs


def available_subjects(root: Path) -> list[str]:
    folder = root / "derivatives"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith("sub-"))


def _expected_size(relpath: str) -> int | None:
    if not DERIVATIVE_BYTES:
        mirror = get_mirror()
        sizes = mirror / "ds002322" / "annexed_file_sizes.tsv" if mirror else None
        if sizes is not None and sizes.is_file():
            table = pd.read_csv(sizes, sep="\t")
            DERIVATIVE_BYTES.update(dict(zip(table.iloc[:, 0].astype(str), table.iloc[:, 1].astype(int))))
    return DERIVATIVE_BYTES.get(relpath)


def ds002322_runs(subjects: list[str], bids_root: str | Path | None = None, download: bool = True) -> list[SubjectRun]:
    """The real dataset's runs for ``subjects``, fetching only what is missing.

    Look-up per file: ``bids_root`` (a local copy of ds002322), the cache, the mirror, then the
    public OpenNeuro bucket over HTTPS.
    """
    missing = [s for s in subjects if s in NO_DERIVATIVES]
    if missing:
        raise DatasetError(
            f"{', '.join(missing)} have no preprocessed BOLD in ds002322 (derivatives exist for "
            f"{len(DS002322_SUBJECTS_WITH_DERIVATIVES)} subjects); remove them from 'subjects'"
        )
    unknown = [s for s in subjects if s not in DS002322_SUBJECTS]
    if unknown:
        raise DatasetError(f"{', '.join(unknown)} not in ds002322; known: {', '.join(DS002322_SUBJECTS)}")
    if bids_root is not None:
        root = Path(bids_root).expanduser()
        if not root.is_dir():
            raise DatasetError(f"bids_root {root} is not a directory; point it at a copy of ds002322")
        return _runs_from_root(root, subjects, f"local dataset {root}")

    root = get_data_home() / "downloads" / "ds002322"
    mirror = get_mirror()
    for subject in subjects:
        for rel in (derivative_relpath(subject), sidecar_relpath(subject), events_relpath(subject)):
            target = root / rel
            if target.is_file():
                continue
            if mirror is not None and (mirror / "ds002322" / rel).is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to((mirror / "ds002322" / rel).resolve())
                continue
            if not download:
                raise DataUnavailableError(f"cannot get ds002322/{rel}: not cached or mirrored")
            try:
                download_file(
                    f"{OPENNEURO_BUCKET}/{rel}", target, expected_size=_expected_size(rel), label=rel
                )
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                where = f"mirror {mirror} has no ds002322/{rel}" if mirror else "ALICE_MIRROR is not set"
                raise DataUnavailableError(
                    f"cannot get ds002322/{rel} for {subject}: not in the cache ({target}), {where}, "
                    f"and the download failed ({exc}). Set bids_root to a local copy of ds002322 or "
                    "ALICE_MIRROR to a folder holding ds002322/" + rel
                ) from None
    return _runs_from_root(root, subjects, "downloaded ds002322")


def bold_shape(path: Path) -> tuple[int, ...]:
    return tuple(int(v) for v in nib.load(str(path)).shape)


def voxel_size(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).header.get_zooms()[:3], dtype=float)
