"""The results comparison names every difference between two folders and passes only identical ones."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "compare_results.py"
_spec = importlib.util.spec_from_file_location("compare_results", SCRIPT)
compare_results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_results)

RESULTS = {
    "r": {"joy": 0.25, "fear": -0.125},
    "verdict": "inconclusive",
    "n_draws": 200,
    "significant": False,
    "interval": [0.01, 0.2],
    "missing": None,
    "nested": [{"edges": [1, 2, 3]}],
}


def _write(folder, name, payload):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


def _differences(before, after, **options):
    return list(compare_results.compare_values(before, after, **options))


def test_identical_and_nearly_identical_values_agree():
    assert _differences(RESULTS, json.loads(json.dumps(RESULTS))) == []
    shifted = {**RESULTS, "r": {"joy": 0.25 + 5e-7, "fear": -0.125}, "n_draws": 200.0}
    assert _differences(RESULTS, shifted) == []
    assert _differences({"big": 1e9}, {"big": 1e9 * (1 + 5e-7)}) == []  # relative tolerance
    assert _differences({"x": float("nan")}, {"x": float("nan")}) == []


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ({**RESULTS, "r": {"joy": 0.2501, "fear": -0.125}}, "r.joy: 0.25 != 0.2501"),
        ({**RESULTS, "verdict": "locationist"}, "verdict: 'inconclusive' != 'locationist'"),
        ({**RESULTS, "significant": 0}, "significant: boolean False != number 0"),
        ({**RESULTS, "missing": 0.0}, "missing: null None != number 0.0"),
        ({**RESULTS, "interval": [0.01]}, "interval: 2 items != 1 items"),
        ({**RESULTS, "nested": [{"edges": [1, 2, 4]}]}, "nested[0].edges[2]: 3 != 4"),
        ({k: v for k, v in RESULTS.items() if k != "n_draws"}, "n_draws: only in the first"),
        ({**RESULTS, "extra": 1}, "extra: only in the second"),
        ({**RESULTS, "interval": "0.01-0.2"}, "interval: list"),
        ({**RESULTS, "verdict": "Inconclusive"}, "verdict: 'inconclusive' != 'Inconclusive'"),
    ],
)
def test_each_kind_of_difference_is_named(after, expected):
    differences = _differences(RESULTS, after)
    assert len(differences) == 1 and differences[0].startswith(expected), differences


def test_a_number_off_by_more_than_the_tolerance_is_caught_both_ways():
    assert _differences({"x": 1.0}, {"x": 1.0 + 3e-6}) == ["x: 1.0 != 1.000003"]
    assert _differences({"x": 0.0}, {"x": 2e-6}) != []
    assert _differences({"x": 1.0}, {"x": 1.0 + 3e-6}, tolerance=1e-5) == []


def test_ignored_keys_are_skipped_at_any_depth():
    before = {"seconds": 12.0, "chapter": {"seconds": 3.0, "r": 0.5}}
    after = {"seconds": 99.0, "chapter": {"seconds": 4.0, "r": 0.5}}
    assert len(_differences(before, after)) == 2
    assert _differences(before, after, ignore_keys=["sec*"]) == []


def test_folders_are_compared_recursively_by_relative_path(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    for folder in (before, after):
        _write(folder, "01_annotation.json", RESULTS)
        _write(folder, "sweeps/a.json", {"r": 0.5})
    _write(before, "manifest.json", {"seconds": 1})
    _write(after, "manifest.json", {"seconds": 2})
    _write(after, "sweeps/b.json", {"r": 0.1})
    _write(after, "sweeps/a.json", {"r": 0.6})
    differences = compare_results.compare_folders(before, after)
    assert differences == [
        "manifest.json: seconds: 1 != 2",
        "sweeps/a.json: r: 0.5 != 0.6",
        f"sweeps/b.json: only in {after}",
    ]
    excluded = compare_results.compare_folders(before, after, exclude=["manifest.json", "b.json"])
    assert excluded == ["sweeps/a.json: r: 0.5 != 0.6"]


def test_the_command_line_exits_1_on_a_difference_and_0_when_identical(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    _write(before, "03_features.json", RESULTS)
    _write(after, "03_features.json", {**RESULTS, "n_draws": 201})

    def run(*args):
        return subprocess.run(
            [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True
        )

    changed = run(before, after)
    assert changed.returncode == 1
    assert "03_features.json: n_draws: 200 != 201" in changed.stdout
    _write(after, "03_features.json", RESULTS)
    same = run(before, after)
    assert same.returncode == 0 and same.stdout == "" and "identical: 1 file" in same.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    assert compare_results.main([str(tmp_path / "nowhere"), str(tmp_path)]) == 2
    empty_a, empty_b = tmp_path / "a", tmp_path / "b"
    empty_a.mkdir(), empty_b.mkdir()
    with pytest.raises(FileNotFoundError, match="no results JSON"):
        compare_results.compare_folders(empty_a, empty_b)
    (empty_a / "x.json").write_text("{not json")
    (empty_b / "x.json").write_text("{}")
    with pytest.raises(ValueError, match="x.json is not valid JSON"):
        compare_results.compare_folders(empty_a, empty_b)
