"""Gather a sweep: one tidy CSV of every finished combination's result records."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from book_runner.sweep.combination import DONE_FILE
from helpers.data.files import atomic_write_text
from helpers.parameter_grid import SweepError, _value_text

TABLE_FILE = "results.csv"


def _swept_columns(values: Mapping[str, Any], record_fields: set[str]) -> dict[str, Any]:
    """Swept values as table columns named by their dotted key (``swept_<key>`` if a record has it)."""
    columns = {}
    for key, value in values.items():
        name = f"swept_{key}" if key in record_fields else key
        columns[name] = (
            value
            if isinstance(value, (int, float, str, bool)) or value is None
            else _value_text(value)
        )
    return columns


def gather(
    out_dir: str | Path,
    chapter: str | None = None,
    records: str | None = None,
    output: str | Path | None = None,
) -> pd.DataFrame:
    """One tidy table of every finished combination's result records, written as CSV.

    Each row is one record of ``<combination>/results/<chapter>.json`` under key ``records``
    (default: the sweep file's ``gather`` entry, e.g. the ``scores`` of ``04_regression``), with the
    combination id and the swept values as columns. Written to ``<out_dir>/results.csv`` unless
    ``output`` says otherwise. Unfinished and failed combinations are left out (``failures.json``
    lists the failures).
    """
    out_dir = Path(out_dir)
    manifest_path = out_dir / "sweep.json"
    if not manifest_path.is_file():
        raise SweepError(
            f"{out_dir} is not a sweep folder (no sweep.json); run `python -m book_runner sweep run` first"
        )
    manifest = json.loads(manifest_path.read_text())
    chapter = chapter or manifest["gather"]["chapter"]
    records = records or manifest["gather"]["records"]
    rows = []
    missing = []
    for combination in manifest["combinations"]:
        folder = out_dir / combination["id"]
        if not (folder / DONE_FILE).is_file():
            continue
        path = folder / "results" / f"{chapter}.json"
        if not path.is_file():
            missing.append(combination["id"])
            continue
        payload = json.loads(path.read_text())
        items = payload.get(records)
        if items is None:
            raise SweepError(
                f"{path} has no {records!r} entry (it has: {', '.join(payload)}); pick one with "
                "--records"
            )
        if isinstance(items, dict):
            items = [items]
        for item in items:
            row = {"combination": combination["id"]}
            row.update(_swept_columns(combination["values"], set(item)))
            row.update(item)
            rows.append(row)
    if missing:
        print(
            f"[sweep] no {chapter}.json in finished combination(s) {', '.join(missing)}: did the chapter "
            "call save_results?",
            file=sys.stderr,
        )
    table = pd.DataFrame(rows)
    target = Path(output) if output is not None else out_dir / TABLE_FILE
    atomic_write_text(target, table.to_csv(index=False))
    return table
