"""binder/data_requirement.json (repo2data) names every file the data layer pins, where it comes from.

An executable-paper service downloads the data before it builds the book; if the description
forgets a file, the book stops on a missing file there (or downloads it when it should not). Each
entry names the files it provides by their place in the mirror (``ALICE_MIRROR``), and its source
must be the one the registry downloads from.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from helpers.data.fetch import BUCKET_URL, REMOTE_FILES

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = json.loads((ROOT / "binder" / "data_requirement.json").read_text())


def mirror_keys(requirement: dict) -> dict[str, str]:
    """Mirror key of every file the requirement names -> the entry that provides it."""
    keys = {}
    for name, entry in requirement.items():
        folder = re.fullmatch(r"<mirror>/([^/<>]+)/<(path|name)>", entry["mirror"])
        assert folder, f"{name}: 'mirror' must read <mirror>/<folder>/<path or name>"
        files = entry["files"]
        for file in files if isinstance(files, list) else files.keys():
            keys[f"{folder.group(1)}/{file}"] = name
    return keys


def unnamed_files(requirement: dict) -> list[str]:
    """Registry files (pinned or checked by size) that the requirement does not name."""
    return sorted(set(REMOTE_FILES) - set(mirror_keys(requirement)))


def test_every_entry_is_a_repo2data_source() -> None:
    for name, entry in REQUIREMENT.items():
        for field in ("src", "dst", "projectName"):
            assert isinstance(entry.get(field), str) and entry[field], f"{name} lacks {field}"
        assert entry["dst"] == "./data", f"{name}: the data go to ./data (data/ on the service)"
    names = [entry["projectName"] for entry in REQUIREMENT.values()]
    # repo2data skips a folder it has filled before, so two entries may not share one.
    assert len(names) == len(set(names)), names


def test_the_requirement_names_every_file_the_registry_pins_and_nothing_else() -> None:
    assert not unnamed_files(REQUIREMENT), (
        f"binder/data_requirement.json does not name {unnamed_files(REQUIREMENT)}"
    )
    extra = sorted(set(mirror_keys(REQUIREMENT)) - set(REMOTE_FILES))
    assert not extra, (
        f"binder/data_requirement.json names files the data layer never reads: {extra}"
    )
    assert any("derivatives/" in key for key in mirror_keys(REQUIREMENT))


def test_a_forgotten_file_is_caught() -> None:
    forgetful = copy.deepcopy(REQUIREMENT)
    forgetful["ds002322"]["files"].remove("code/annotations.tsv")
    del forgetful["emotional-decoding-2025"]["files"]["godvectors.csv"]
    assert unnamed_files(forgetful) == [
        "ds002322/code/annotations.tsv",
        "emotional-decoding-2025/godvectors.csv",
    ]


def test_sources_are_the_ones_the_data_layer_downloads_from() -> None:
    openneuro = REQUIREMENT["ds002322"]
    bucket = BUCKET_URL.removeprefix("https://s3.amazonaws.com/").rstrip("/")
    assert openneuro["src"] == f"s3://{bucket}/ds002322"
    for file in openneuro["files"]:
        assert REMOTE_FILES[f"ds002322/{file}"].url == f"{BUCKET_URL}ds002322/{file}"

    authors = REQUIREMENT["emotional-decoding-2025"]
    repository = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)\.git", authors["src"])
    assert repository, "the authors' repository is cloned with datalad (a .git address)"
    raw = f"https://raw.githubusercontent.com/{repository.group(1)}/{authors['commit']}/"
    for name, path in authors["files"].items():
        assert REMOTE_FILES[f"emotional-decoding-2025/{name}"].url == raw + path

    gutenberg = REQUIREMENT["gutenberg"]
    for name, downloaded in gutenberg["files"].items():
        url = REMOTE_FILES[f"gutenberg/{name}"].url
        assert url == gutenberg["src"] and url.endswith("/" + downloaded)


@pytest.mark.parametrize("entry", sorted(REQUIREMENT))
def test_each_entry_says_what_it_is(entry: str) -> None:
    assert len(REQUIREMENT[entry].get("description", "")) > 20
