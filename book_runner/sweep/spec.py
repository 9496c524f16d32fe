"""Sweep files: a base parameter file, the chapters to run and the values to vary, validated.

Every combination is checked against the parameter schema before anything runs, so a typo in a
grid stops the sweep at once instead of after hours of computing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from book_runner.chapters import NOTEBOOK_DIR
from helpers.config import ParameterError, deep_merge, load_params, read_yaml_mapping
from helpers.parameter_grid import (
    SweepError,
    _canonical,
    combination_id,
    expand_dotted,
    expand_grid,
)

SWEEP_KEYS = (
    "base",
    "chapters",
    "grid",
    "combinations",
    "overrides",
    "gather",
    "notebooks",
    "description",
)


@dataclass(frozen=True)
class Combination:
    """One parameter set of a sweep."""

    id: str
    values: dict[str, Any]  # dotted key -> swept value
    overrides: dict[str, Any]  # nested overrides for load_params (common overrides + values)
    params_digest: str


@dataclass
class SweepSpec:
    """A validated sweep file."""

    path: Path
    base: Path
    chapters: list[str]
    grid: dict[str, list[Any]]
    combinations: list[dict[str, Any]] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    gather_chapter: str = "04_regression"
    gather_records: str = "scores"
    notebook_dir: Path = NOTEBOOK_DIR
    description: str = ""

    def chapter_sources(self) -> list[Path]:
        """The jupytext sources of the chapters, checked to exist."""
        available = {p.stem: p for p in sorted(self.notebook_dir.glob("[0-9][0-9]_*.md"))}
        sources = []
        for name in self.chapters:
            match = [p for stem, p in available.items() if stem == name or stem[:2] == name]
            if len(match) != 1:
                raise SweepError(
                    f"{self.path}: chapter {name!r} is not one of the sources in {self.notebook_dir} "
                    f"({', '.join(available) or 'none'})"
                )
            sources.append(match[0])
        return sources

    def plan(self) -> list[Combination]:
        """Every combination, validated against the parameter schema before anything runs."""
        plan = []
        for values in expand_grid(self.grid, self.combinations):
            overrides = deep_merge(self.overrides, expand_dotted(values))
            try:
                params = load_params(self.base, overrides)
            except ParameterError as exc:
                raise SweepError(
                    f"{self.path}: combination {_canonical(values)} is not a valid parameter set: "
                    f"{exc}"
                ) from None
            plan.append(Combination(combination_id(values), values, overrides, params.digest()))
        ids = [c.id for c in plan]
        if len(set(ids)) != len(ids):  # pragma: no cover - needs a sha256 prefix collision
            raise SweepError(f"{self.path}: two combinations got the same folder name")
        return plan

    def sources_digest(self) -> str:
        digest = hashlib.sha256()
        for source in self.chapter_sources():
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
        return digest.hexdigest()[:12]


def load_sweep(path: str | Path, notebook_dir: str | Path | None = None) -> SweepSpec:
    """Read and check a sweep file (see the module docstring for its keys)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SweepError(f"sweep file {path} does not exist; see params/sweeps/*.yml for examples")
    raw = read_yaml_mapping(path, SweepError, f"a mapping with keys {', '.join(SWEEP_KEYS)}")
    unknown = sorted(set(raw) - set(SWEEP_KEYS))
    if unknown:
        raise SweepError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(SWEEP_KEYS)}")
    if "base" not in raw:
        raise SweepError(f"{path}: name the base parameter file, e.g. 'base: ../default.yml'")
    base = (path.parent / str(raw["base"])).resolve()
    if not base.is_file():
        raise SweepError(
            f"{path}: base parameter file {raw['base']!r} not found (looked at {base})"
        )
    chapters = raw.get("chapters") or []
    if isinstance(chapters, str):
        chapters = [chapters]
    if not chapters or not all(isinstance(c, str) for c in chapters):
        raise SweepError(f"{path}: 'chapters' must list chapter names, e.g. [04_regression]")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict):
        raise SweepError(f"{path}: 'grid' must map dotted parameter keys to lists of values")
    combinations = raw.get("combinations") or []
    if not isinstance(combinations, list):
        raise SweepError(
            f"{path}: 'combinations' must be a list of mappings of dotted keys to values"
        )
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise SweepError(f"{path}: 'overrides' must be a mapping of (dotted) keys to values")
    gather = raw.get("gather") or {}
    if not isinstance(gather, dict) or set(gather) - {"chapter", "records"}:
        raise SweepError(
            f"{path}: 'gather' takes 'chapter' and 'records', e.g. "
            "{chapter: 04_regression, records: scores}"
        )
    folder = (
        Path(notebook_dir)
        if notebook_dir is not None
        else ((path.parent / raw["notebooks"]).resolve() if raw.get("notebooks") else NOTEBOOK_DIR)
    )
    spec = SweepSpec(
        path=path,
        base=base,
        chapters=list(chapters),
        grid={str(k): v for k, v in grid.items()},
        combinations=[dict(c) if isinstance(c, dict) else c for c in combinations],
        overrides=expand_dotted(overrides),
        gather_chapter=str(gather.get("chapter", chapters[-1])),
        gather_records=str(gather.get("records", "scores")),
        notebook_dir=folder,
        description=str(raw.get("description", "")),
    )
    spec.chapter_sources()
    return spec
