"""The full calibration on the page: a result file of the command, checked before it is shown.

The calibration chapter runs a handful of datasets; ``python -m book_runner calibrate`` runs
hundreds and writes ``calibration.results_file``. A table of another design (other folds, null
draws, models...) or of other code would be a wrong answer presented as this book's, so a file is
shown as current only when its design digest and code digest equal this book's; otherwise the
chapter names the file and says why it is not shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from helpers.calibration_records import FORMAT, Identity
from helpers.config import Params

Status = Literal["current", "missing", "unreadable", "mismatched", "stale"]
COLUMNS = ["test", "n_datasets", "false_positive_rate", "ci_low", "ci_high", "power", "calibrated"]
COMMAND = "python -m book_runner calibrate --params <this book's parameter file> --datasets 200"


@dataclass
class FullCalibration:
    """What the chapter can say about the full calibration: a status, a sentence, maybe a table."""

    status: Status
    shown_path: str
    message: str
    table: pd.DataFrame | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def current(self) -> bool:
        return self.status == "current"


def shown_path(path: Path, root: Path) -> str:
    """``path`` as a page may print it: relative to the repository, never a machine's folders."""
    resolved = path.resolve() if path.is_absolute() else (root / path).resolve()
    if resolved.is_relative_to(root.resolve()):
        return resolved.relative_to(root.resolve()).as_posix()
    return resolved.name


def full_calibration(
    params: Params, path: str | Path | None = None, root: str | Path | None = None
) -> FullCalibration:
    """Read and check the full calibration of ``params`` (``calibration.results_file`` by default).

    ``root``: where a relative path starts (the repository root, where the chapters run).

    Parameters
    ----------
    params : Params
        The book's parameters: their design and code digests must match the file's.
    path : str or pathlib.Path, optional
        The results file; ``params.calibration.results_file`` if omitted.
    root : str or pathlib.Path, optional
        Where a relative ``path`` starts; the current folder if omitted.

    Returns
    -------
    FullCalibration
        ``status`` (``"current"``, ``"missing"``, ``"unreadable"``, ``"mismatched"`` or
        ``"stale"``), the ``message`` to show, and when current the ``table`` of tests (one row
        per test) and the run's ``provenance``.
    """
    root = Path.cwd() if root is None else Path(root)
    path = Path(params.calibration.results_file if path is None else path)
    target = path if path.is_absolute() else root / path
    shown = shown_path(path, root)
    refresh = f"`{COMMAND} --out {shown}` writes it"
    if not target.is_file():
        return FullCalibration(
            "missing",
            shown,
            f"No full calibration is available: {shown} does not exist; {refresh}.",
        )
    try:
        document = json.loads(target.read_text())
        table = pd.DataFrame(document["tests"])[COLUMNS]
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return FullCalibration(
            "unreadable",
            shown,
            f"The full calibration {shown} cannot be read ({reason}); it is not shown. To "
            f"replace it, delete it and its .records folder, then {refresh}.",
        )
    provenance = {
        "commit": document.get("commit") or "unknown",
        "design_digest": document.get("design_digest"),
        "code_digest": document.get("code_digest"),
        "datasets": int(document.get("datasets", 0)),
        "finished": (document.get("run") or {}).get("finished", "unknown"),
    }
    head, plus, rest = str(provenance["commit"]).partition("+")
    short = head[:12] + plus + rest  # 12 hex digits name a commit; keep "+uncommitted"
    made = (
        f"{provenance['datasets']} null and {provenance['datasets']} planted datasets, "
        f"commit {short}, design digest {provenance['design_digest']}, "
        f"finished {provenance['finished']}"
    )
    identity = Identity.of(params)
    refresh = f"delete it and its .records folder, then {refresh}"
    if document.get("design_digest") != identity.design_digest:
        return FullCalibration(
            "mismatched",
            shown,
            f"The full calibration {shown} ({made}) was made with another design than this book's "
            f"(design digest {identity.design_digest}), so it is not shown; to replace it, {refresh}.",
            provenance=provenance,
        )
    if document.get("code_digest") != identity.code_digest:
        return FullCalibration(
            "stale",
            shown,
            f"The full calibration {shown} ({made}) was made with other code than this book's "
            f"(code digest {provenance['code_digest']}, this book: {identity.code_digest}), so it "
            f"is stale and not shown; to replace it, {refresh}.",
            provenance=provenance,
        )
    return FullCalibration(
        "current",
        shown,
        f"The full calibration {shown}: {made}, made with this book's design and code.",
        table=table,
        provenance=provenance,
    )
