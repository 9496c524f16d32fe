"""The full calibration shown in chapter 8: only a file of this book's design and code is current."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from helpers.calibration_records import Identity, calibration_document
from helpers.calibration_results import full_calibration, shown_path
from helpers.config import load_params

QUICK = ROOT / "params" / "quick.yml"


def _records(n: int) -> pd.DataFrame:
    rows = [
        {
            "test": "per-emotion p (ridge on dfc)",
            "effect": effect,
            "seed": seed,
            "unit": "joy",
            "p_value": 0.01 if (effect != "none" or seed % 20 == 0) else 0.5,
        }
        for effect in ("none", "connectivity")
        for seed in range(n)
    ]
    return pd.DataFrame(rows)


def _write(path: Path, params, identity: Identity | None = None, n: int = 200) -> dict:
    document = calibration_document(
        _records(n),
        params,
        list(range(n)),
        identity or Identity.of(params),
        "abc1234",
        run={"finished": "2026-12-01T03:00:00+00:00", "seconds": 900.0},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return document


def test_a_file_of_this_design_is_shown_with_its_provenance(tmp_path) -> None:
    params = load_params(QUICK)
    _write(tmp_path / "_build" / "calibration.json", params)
    full = full_calibration(params, root=tmp_path)
    assert full.current and full.shown_path == "_build/calibration.json"
    [row] = full.table.to_dict("records")
    assert row["n_datasets"] == 200 and row["false_positive_rate"] == 0.05 and row["power"] == 1.0
    assert full.provenance == {
        "commit": "abc1234",
        "design_digest": Identity.of(params).design_digest,
        "code_digest": Identity.of(params).code_digest,
        "datasets": 200,
        "finished": "2026-12-01T03:00:00+00:00",
    }
    for words in ("200 null and 200 planted", "commit abc1234", "finished 2026-12-01"):
        assert words in full.message
    document = json.loads((tmp_path / "_build" / "calibration.json").read_text())
    document["commit"] = "0123456789abcdef0123456789abcdef01234567+uncommitted"
    (tmp_path / "_build" / "calibration.json").write_text(json.dumps(document))
    assert "commit 0123456789ab+uncommitted," in full_calibration(params, root=tmp_path).message


def test_a_missing_file_is_said_so(tmp_path) -> None:
    full = full_calibration(load_params(QUICK), root=tmp_path)
    assert full.status == "missing" and full.table is None
    assert "_build/calibration.json does not exist" in full.message
    assert "--datasets 200 --out _build/calibration.json" in full.message


def test_another_design_or_other_code_is_named_and_not_shown(tmp_path) -> None:
    params = load_params(QUICK)
    out = tmp_path / "c.json"
    _write(out, load_params(QUICK, {"calibration": {"pairing": "rotation"}}))
    full = full_calibration(params, out, root=tmp_path)
    assert full.status == "mismatched" and full.table is None
    assert "c.json" in full.message and "another design" in full.message
    assert full.provenance["commit"] == "abc1234"
    _write(out, params, Identity(Identity.of(params).design_digest, "0ldc0de"))
    full = full_calibration(params, out, root=tmp_path)
    assert full.status == "stale" and full.table is None and "0ldc0de" in full.message
    # the in-book number of datasets is not part of the design
    more = load_params(QUICK, {"calibration": {"datasets": 20}})
    _write(out, more)
    assert full_calibration(params, out, root=tmp_path).current


@pytest.mark.parametrize("text", ["", "{", "[]", '{"tests": [{"test": "t"}]}', '{"tests": 3}'])
def test_a_damaged_file_is_named_not_shown(tmp_path, text) -> None:
    (tmp_path / "c.json").write_text(text)
    full = full_calibration(load_params(QUICK), "c.json", root=tmp_path)
    assert full.status == "unreadable" and full.table is None
    assert full.message.startswith("The full calibration c.json cannot be read (")


def test_a_path_outside_the_repository_shows_no_machine_folders(tmp_path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    assert shown_path(tmp_path / "elsewhere" / "big.json", root) == "big.json"
    assert shown_path(Path("_build/c.json"), root) == "_build/c.json"
    full = full_calibration(load_params(QUICK), tmp_path / "elsewhere" / "big.json", root=root)
    assert str(tmp_path) not in full.message
