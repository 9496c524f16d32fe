"""A calibration that loses nothing: one record per dataset on disk, and the run's identity.

A long calibration is worth hours; it writes each dataset's p-values to its own small JSON file as
soon as they are known (atomically, so a kill leaves whole files only), in a folder that belongs to
one design. A re-run reads what is there and computes only the rest, so an interrupted run and an
uninterrupted one give the same result. The identity of a run is the design digest (every
parameter the datasets depend on) and the code digest (the science package's sources): records of
another design or other code are never mixed in, and a result file says which design made it, so
the calibration chapter can tell a current table from a stale one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from helpers.calibration import design_params, summarise
from helpers.config import EXECUTION_ONLY_KEYS, Params
from helpers.data.files import atomic_write_json, lock_path
from helpers.data.storage import digest_of
from helpers.privacy import redact

FORMAT = "alice-calibration/1"
PACKAGE = Path(__file__).resolve().parent
# Sources that cannot change a p-value: figures, the exercises' checkers, progress bars, and the
# files that store and show calibration results.
_NOT_SCIENCE = (
    "plotting",
    "exercises",
    "progress.py",
    "calibration_records.py",
    "calibration_results.py",
)
# Keys of the resolved design that say how many datasets to run or where to find a result, or
# that the simulated ROI-level design never reads (the real dataset's folder, sweep grids).
_NOT_DESIGN = {
    "bids_root": None,
    "sweep": None,
    "calibration": ("datasets", "first_seed", "snr_grid", "results_file"),
    "simulation": ("effect", "seed"),
}


class CalibrationRecordsError(RuntimeError):
    """A calibration's output or records folder cannot be used; the message says what to do."""


def design_key(params: Params) -> dict[str, Any]:
    """Every parameter one calibration dataset depends on, except its seed and kind."""
    design = design_params(params, "none", 0).model_dump(mode="json")
    for section, key in EXECUTION_ONLY_KEYS:  # where the work runs, never what it computes
        design.get(section, {}).pop(key, None)
    if design["annotation"]["annotator"] != "llm":
        design.pop("llm", None)  # the endpoint's settings matter only to LLM ratings
    for section, keys in _NOT_DESIGN.items():
        if keys is None:
            design.pop(section, None)
        else:
            design[section] = {k: v for k, v in design[section].items() if k not in keys}
    return redact(design)


def design_digest(params: Params) -> str:
    """A short hash of :func:`design_key`: equal digests, interchangeable datasets."""
    return digest_of(design_key(params))


def code_digest(package: Path = PACKAGE) -> str:
    """A short hash of the science package's Python sources (the code that computes p-values)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] in _NOT_SCIENCE or "__pycache__" in relative.parts:
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Identity:
    """What makes two calibration runs interchangeable."""

    design_digest: str
    code_digest: str

    @classmethod
    def of(cls, params: Params) -> Identity:
        return cls(design_digest(params), code_digest())

    def differences(self, other: dict[str, Any]) -> list[str]:
        """Human words for how a stored identity differs from this one (empty when equal)."""
        found = []
        for name in ("design_digest", "code_digest"):
            theirs = other.get(name)
            if theirs != getattr(self, name):
                found.append(f"{name.replace('_', ' ')} {theirs} (this run: {getattr(self, name)})")
        return found


def records_folder(out: Path) -> Path:
    """The folder of per-dataset records beside the result file ``out``."""
    return out.parent / f"{out.stem if out.suffix else out.name}.records"


class DatasetRecords:
    """One JSON file per finished (kind, seed) in a folder that belongs to one identity.

    Use :meth:`open` (a context manager): it takes the folder's lock, so a second run into the
    same folder is refused instead of racing, and it refuses a folder of another design.
    """

    def __init__(self, folder: Path, identity: Identity) -> None:
        self.folder = Path(folder)
        self.identity = identity

    @classmethod
    @contextmanager
    def open(cls, folder: Path, identity: Identity) -> Iterator[DatasetRecords]:
        store = cls(folder, identity)
        try:
            store.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationRecordsError(
                f"cannot create the records folder {folder} ({exc.strerror}); choose an --out "
                "in a writable folder"
            ) from None
        lock = FileLock(str(lock_path(store.folder)))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise CalibrationRecordsError(
                f"another calibration is writing into {folder}; wait for it to finish or "
                "choose another --out"
            ) from None
        try:
            store._claim()
            yield store
        finally:
            lock.release()

    def _claim(self) -> None:
        """Write the folder's identity, or refuse a folder that holds another one."""
        marker = self.folder / "identity.json"
        if marker.exists():
            try:
                stored = json.loads(marker.read_text())
            except (OSError, ValueError):
                stored = {}
            differences = self.identity.differences(stored)
            if differences:
                raise CalibrationRecordsError(
                    f"{self.folder} holds the records of another calibration "
                    f"({'; '.join(differences)}); delete it, or choose another --out"
                )
        else:
            atomic_write_json(marker, {"format": FORMAT, **vars(self.identity)})

    def path(self, effect: str, seed: int) -> Path:
        return self.folder / f"{effect}-{int(seed)}.json"

    def load(self, effect: str, seed: int) -> list[dict[str, Any]] | None:
        """The recorded tests of one dataset, or None if missing or unreadable (then recomputed)."""
        path = self.path(effect, seed)
        try:
            stored = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            return None
        if self.identity.differences(stored) or not isinstance(stored.get("records"), list):
            path.unlink(missing_ok=True)
            return None
        return stored["records"]

    def save(self, effect: str, seed: int, records: list[dict[str, Any]]) -> None:
        """Record one dataset's tests (atomically: a kill leaves the old state or the new)."""
        atomic_write_json(
            self.path(effect, seed),
            {
                "effect": effect,
                "seed": int(seed),
                **vars(self.identity),
                "records": records,
            },
        )

    def recorded(self, jobs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[dict]]:
        """The jobs of ``jobs`` already on disk, with their records."""
        found = {}
        for effect, seed in jobs:
            records = self.load(effect, seed)
            if records is not None:
                found[(effect, int(seed))] = records
        return found


def calibration_document(
    records: pd.DataFrame,
    params: Params,
    seeds: Sequence[int],
    identity: Identity,
    commit: str | None,
    run: dict[str, Any],
) -> dict[str, Any]:
    """The result file: summary, p-values, design and provenance (``run``: when and how long)."""
    return {
        "format": FORMAT,
        "tests": summarise(records).to_dict("records"),
        "p_values": records.to_dict("records"),
        "datasets": len(seeds),
        "seeds": [int(seeds[0]), int(seeds[-1])] if len(seeds) else [],
        "design": params.calibration.model_dump(mode="json", exclude={"results_file"}),
        "commit": commit,
        **vars(identity),
        "run": run,
    }


def check_out_path(out: Path, identity: Identity) -> None:
    """Refuse, before anything is computed, an ``--out`` that cannot receive this calibration."""
    if out.is_dir():
        raise CalibrationRecordsError(
            f"--out {out} is a folder; name a JSON file, e.g. {out / 'calibration.json'}"
        )
    if out.suffix == ".records":
        raise CalibrationRecordsError(f"--out {out}: name a .json file, not a .records one")
    parent = out.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise CalibrationRecordsError(f"--out {out}: {folder} is a file, not a folder")
            break
    if out.exists():
        try:
            stored = json.loads(out.read_text())
        except (OSError, ValueError):
            stored = None
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            raise CalibrationRecordsError(
                f"--out {out} exists and is not a calibration result; choose another --out "
                "or delete it"
            )
        differences = identity.differences(stored)
        if differences:
            raise CalibrationRecordsError(
                f"--out {out} holds a calibration of another design or code "
                f"({'; '.join(differences)}); choose another --out, or delete it (and its "
                ".records folder) to replace it"
            )
