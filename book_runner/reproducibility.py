"""What a run was made of: package versions, git commit, data sources, and a page that shows them.

The orchestrator records these facts in ``_build/results/manifest.json`` while it executes the
chapters; :func:`render_reproducibility` turns that manifest into the book's "Reproducibility" page,
so a reader can tell which code, parameters and input files produced every number.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from helpers.data.fetch import (
    REMOTE_FILES,
    DataUnavailableError,
    cached_path,
    get_mirror,
    sha256_of,
)
from helpers.privacy import redact

KEY_PACKAGES: tuple[str, ...] = (
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "nilearn",
    "nibabel",
    "networkx",
    "matplotlib",
    "seaborn",
    "openai",
    "pydantic",
    "papermill",
    "jupytext",
    "nbval",
    "jupyter-book",
    "sphinxcontrib-bibtex",
)


def git_commit(repo: Path) -> str | None:
    """The commit checked out in ``repo``, marked ``+uncommitted`` when the tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+uncommitted" if dirty else "")


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the numbers, plus Python and the platform."""
    versions = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def data_sources() -> list[dict[str, Any]]:
    """Every external file present in the download cache, with its checksum and where it came from.

    A file whose content differs from its pinned checksum is reported, not hidden: the data layer
    refuses such files, so a mismatch here means the cache was edited by hand. Unpinned BOLD images
    (hundreds of MB each) are listed with their size instead of being hashed on every record.
    """
    try:
        mirror = get_mirror()
    except DataUnavailableError:  # reported by the run itself; the record says only what it knows
        mirror = None
    found = []
    for key, remote in sorted(REMOTE_FILES.items()):
        path = cached_path(key)
        if not path.is_file():
            continue
        origin = "mirror" if mirror is not None and (mirror / key).is_file() else remote.url
        if remote.sha256 is None and remote.link_from_mirror:
            found.append(
                {
                    "file": key,
                    "sha256": None,
                    "bytes": path.stat().st_size,
                    "pinned": False,
                    "matches_pin": None,
                    "origin": origin,
                }
            )
            continue
        digest = sha256_of(path)
        found.append(
            {
                "file": key,
                "sha256": digest,
                "pinned": remote.sha256 is not None,
                "matches_pin": None if remote.sha256 is None else digest == remote.sha256,
                "origin": origin,
            }
        )
    return found


def environment_summary() -> dict[str, Any]:
    """Which data settings were in force (never their secret values)."""
    return {
        "ALICE_MIRROR set": bool(os.environ.get("ALICE_MIRROR")),
        "ALICE_DATA_HOME set": bool(os.environ.get("ALICE_DATA_HOME")),
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def render_reproducibility(manifest: dict[str, Any] | None) -> str:
    """The Markdown body of the Reproducibility page for one run manifest.

    Without a manifest (the chapters were never executed) the page says so and how to run them,
    instead of showing an empty table.
    """
    manifest = redact(manifest) if manifest else manifest
    if not manifest:
        return (
            "```{warning}\nNo run manifest was found: the chapters have not been executed yet. "
            "Run `python -m book_runner run --params params/default.yml` and build again.\n```\n"
        )
    parts = []
    chapters = manifest.get("chapters", [])
    digests = {c.get("params_digest") for c in chapters if c.get("params_digest")}
    if len(digests) > 1:
        parts.append(
            "```{warning}\nThe chapters of this build were executed with different parameter "
            "sets (see the digest column): their numbers do not come from one run. Re-run all "
            "chapters with one parameter file.\n```\n"
        )
    commit = manifest.get("git_commit") or "unknown (not a git checkout)"
    parts.append(
        _table(
            ["", ""],
            [
                ["parameter file", f"`{manifest.get('params_file', '?')}`"],
                ["git commit", f"`{commit}`"],
                ["started", manifest.get("started", "?")],
                ["finished", manifest.get("finished", "not finished")],
                ["total time", f"{sum(c.get('seconds', 0) for c in chapters):.1f} s"],
            ],
        )
    )
    parts.append("\n\n## Chapters\n\n")
    parts.append(
        _table(
            ["notebook", "status", "time (s)", "parameter digest", "failed cell"],
            [
                [
                    f"`{c['notebook']}`",
                    c.get("status", "?"),
                    c.get("seconds", ""),
                    f"`{c.get('params_digest', '')}`",
                    c.get("failed_cell", ""),
                ]
                for c in chapters
            ],
        )
    )
    sources = manifest.get("data_sources", [])
    parts.append("\n\n## Data sources\n\n")
    if sources:
        parts.append(
            _table(
                ["file", "sha256", "pinned checksum verified", "origin"],
                [
                    [
                        f"`{s['file']}`",
                        f"`{s['sha256']}`" if s.get("sha256") else f"{s.get('bytes', '?')} bytes",
                        {True: "yes", False: "**MISMATCH**", None: "not pinned"}[
                            s.get("matches_pin")
                        ],
                        s.get("origin", ""),
                    ]
                    for s in sources
                ],
            )
        )
    else:
        parts.append("No external file was read (the run used only simulated data).")
    parts.append("\n\n## Package versions\n\n")
    parts.append(
        _table(
            ["package", "version"], [[k, f"`{v}`"] for k, v in manifest.get("versions", {}).items()]
        )
    )
    parts.append("\n\n## Parameters\n\nThe full, validated parameter set (defaults included):\n\n")
    parts.append("```yaml\n" + yaml.safe_dump(manifest.get("params", {}), sort_keys=True) + "```\n")
    return "".join(parts)
