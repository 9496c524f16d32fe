"""Compare two folders of results JSON: the check that a refactoring left the book's numbers alone.

Every ``*.json`` under either folder is matched by its relative path and walked recursively:
numbers must agree to ``--tolerance`` (absolute and relative, as in :func:`math.isclose`), strings,
booleans and nulls exactly, mappings key by key and lists item by item. Every difference is named
by file and key path; the exit status is 0 when there is none, 1 otherwise, 2 on bad input.

Run: ``python benchmarks/compare_results.py BEFORE AFTER [--exclude manifest.json]
[--ignore-key '*seconds']`` (``--help`` for the options). For the quick book, copy
``_build/results`` aside, change the code, run ``python -m book_runner run --params
params/quick.yml`` (with a fresh ``ALICE_DATA_HOME``, so no cached step hides a change) and compare
with those two options: the manifest and the timings are the only things allowed to differ.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

TOLERANCE = 1e-6


def compare_values(
    before: Any,
    after: Any,
    where: str = "",
    *,
    tolerance: float = TOLERANCE,
    ignore_keys: Sequence[str] = (),
) -> Iterator[str]:
    """Yield one line per difference between two decoded JSON values, named by ``where``."""
    label = where or "(top level)"
    if _is_number(before) and _is_number(after):
        if not _close(float(before), float(after), tolerance):
            yield f"{label}: {before!r} != {after!r}"
    elif isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            if any(fnmatch.fnmatchcase(str(key), pattern) for pattern in ignore_keys):
                continue
            path = f"{where}.{key}" if where else str(key)
            if key not in after:
                yield f"{path}: only in the first folder"
            elif key not in before:
                yield f"{path}: only in the second folder"
            else:
                yield from compare_values(
                    before[key], after[key], path, tolerance=tolerance, ignore_keys=ignore_keys
                )
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            yield f"{label}: {len(before)} items != {len(after)} items"
        for index, (first, second) in enumerate(zip(before, after, strict=False)):
            yield from compare_values(
                first, second, f"{where}[{index}]", tolerance=tolerance, ignore_keys=ignore_keys
            )
    elif type(before) is not type(after):
        yield f"{label}: {_kind(before)} {before!r} != {_kind(after)} {after!r}"
    elif before != after:
        yield f"{label}: {before!r} != {after!r}"


def compare_folders(
    before: Path,
    after: Path,
    *,
    tolerance: float = TOLERANCE,
    exclude: Sequence[str] = (),
    ignore_keys: Sequence[str] = (),
) -> list[str]:
    """Every difference between the JSON files of two folders, one line each, file first."""
    for folder in (before, after):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder of results JSON; give two folders")
    first, second = _json_files(before, exclude), _json_files(after, exclude)
    if not first and not second:
        raise FileNotFoundError(f"no results JSON under {before} or {after}; run the book first")
    differences = []
    for name in sorted(set(first) | set(second)):
        if name not in second:
            differences.append(f"{name}: only in {before}")
        elif name not in first:
            differences.append(f"{name}: only in {after}")
        else:
            values = [_load(folder / name) for folder in (before, after)]
            differences += [
                f"{name}: {line}"
                for line in compare_values(*values, tolerance=tolerance, ignore_keys=ignore_keys)
            ]
    return differences


def _json_files(folder: Path, exclude: Sequence[str]) -> set[str]:
    """Relative paths of the JSON files under ``folder``, without those matching ``exclude``."""
    names = {path.relative_to(folder).as_posix() for path in folder.rglob("*.json")}
    return {
        name
        for name in names
        if not any(
            fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(Path(name).name, pattern)
            for pattern in exclude
        )
    }


def _load(path: Path) -> Any:
    """The decoded file, or a ValueError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); re-run the chapter that wrote it"
        ) from None


def _is_number(value: Any) -> bool:
    """Integers and floats, but not booleans (``True == 1`` must not pass as a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _close(a: float, b: float, tolerance: float) -> bool:
    """Equal within ``tolerance`` absolute or relative; NaN equals NaN, infinities match by sign."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    return {str: "string", list: "list", dict: "mapping"}.get(type(value), type(value).__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print every difference and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="folder of results JSON before the change")
    parser.add_argument("after", type=Path, help="folder of results JSON after the change")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="abs and rel (1e-6)")
    parser.add_argument(
        "--exclude", action="append", default=[], help="file name or path glob to skip"
    )
    parser.add_argument(
        "--ignore-key", action="append", default=[], help="key name glob to skip at any depth"
    )
    args = parser.parse_args(argv)
    try:
        differences = compare_folders(
            args.before,
            args.after,
            tolerance=args.tolerance,
            exclude=args.exclude,
            ignore_keys=args.ignore_key,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in differences:
        print(line)
    files = len(_json_files(args.before, args.exclude) | _json_files(args.after, args.exclude))
    if differences:
        print(f"{len(differences)} difference(s) in {files} file(s)", file=sys.stderr)
        return 1
    print(f"identical: {files} file(s) agree to {args.tolerance:g}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
