"""The identity of a calibration and its per-dataset records, without computing a dataset."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from helpers.calibration import JobExecution, run_datasets
from helpers.calibration_records import (
    FORMAT,
    CalibrationRecordsError,
    DatasetRecords,
    Identity,
    check_out_path,
    code_digest,
    design_digest,
    records_folder,
)
from helpers.config import load_params

QUICK = ROOT / "params" / "quick.yml"


def test_the_design_digest_ignores_how_many_datasets_and_follows_the_design() -> None:
    base = design_digest(load_params(QUICK))
    for same in (
        {"calibration": {"datasets": 50, "first_seed": 7, "results_file": "x.json"}},
        {"simulation": {"effect": "none", "seed": 3}},
        {"sweep": {"grid": {"window.length": [8]}}},
        {"cv_options": {"scheduler": "local"}},
        {"llm": {"model": "other"}},  # the reference labels are the targets
    ):
        assert design_digest(load_params(QUICK, same)) == base, same
    for other in (
        {"calibration": {"n_permutations": 300}},
        {"calibration": {"pairing": "rotation"}},
        {"window": {"length": 10}},
        {"null_method": "circular_shift"},
        {"annotation": {"annotator": "lexicon"}},
    ):
        assert design_digest(load_params(QUICK, other)) != base, other
    assert design_digest(load_params(ROOT / "params" / "default.yml")) != base  # other folds


def test_the_code_digest_follows_the_science_sources_only(tmp_path) -> None:
    (tmp_path / "decoding").mkdir()
    (tmp_path / "decoding" / "cv.py").write_text("x = 1\n")
    (tmp_path / "plotting").mkdir()
    (tmp_path / "plotting" / "theme.py").write_text("figure = 1\n")
    before = code_digest(tmp_path)
    (tmp_path / "plotting" / "theme.py").write_text("figure = 2\n")
    assert code_digest(tmp_path) == before
    (tmp_path / "decoding" / "cv.py").write_text("x = 2\n")
    assert code_digest(tmp_path) != before


def test_records_are_kept_refused_for_another_identity_and_locked(tmp_path) -> None:
    folder = records_folder(tmp_path / "calibration.json")
    assert folder == tmp_path / "calibration.records"
    identity = Identity("design-a", "code-a")
    with DatasetRecords.open(folder, identity) as store:
        store.save("none", 1000, [{"test": "t", "p_value": 0.25}])
        assert store.recorded([("none", 1000), ("none", 1001)]) == {
            ("none", 1000): [{"test": "t", "p_value": 0.25}]
        }
        with pytest.raises(CalibrationRecordsError, match="another calibration is writing"):
            with DatasetRecords.open(folder, identity):
                pass
    for other, named in (
        (Identity("design-b", "code-a"), "design digest design-a .this run: design-b"),
        (Identity("design-a", "c"), "code digest code-a .this run: c"),
    ):
        with pytest.raises(CalibrationRecordsError, match=f"another calibration .*{named}"):
            with DatasetRecords.open(folder, other):
                pass
    (folder / "none-1001.json").write_text('{"effect": "none", "reco')  # killed mid-write elsewhere
    with DatasetRecords.open(folder, identity) as store:
        assert list(store.recorded([("none", 1000), ("none", 1001)])) == [("none", 1000)]
    assert not (folder / "none-1001.json").exists()


def test_an_existing_out_of_another_design_is_named_not_overwritten(tmp_path) -> None:
    identity = Identity("design-a", "code-a")
    out = tmp_path / "calibration.json"
    check_out_path(out, identity)  # nothing there: fine
    out.write_text(
        json.dumps({"format": FORMAT, "design_digest": "design-a", "code_digest": "code-a"})
    )
    check_out_path(out, identity)  # the same design: resumed and rewritten
    out.write_text(
        json.dumps({"format": FORMAT, "design_digest": "design-z", "code_digest": "code-a"})
    )
    with pytest.raises(
        CalibrationRecordsError,
        match="another design or code .design digest design-z .this run: design-a",
    ):
        check_out_path(out, identity)
    out.write_text("not json")
    with pytest.raises(CalibrationRecordsError, match="is not a calibration result"):
        check_out_path(out, identity)
    (tmp_path / "file").write_text("")
    with pytest.raises(CalibrationRecordsError, match="is a file, not a folder"):
        check_out_path(tmp_path / "file" / "c.json", identity)


class _DoneExecutor:
    """Returns futures already finished: as_completed yields them in no promised order."""

    def __init__(self) -> None:
        self.submitted: list[tuple] = []

    def submit(self, fn, *args):
        import concurrent.futures as cf

        future: cf.Future = cf.Future()
        self.submitted.append(args[1:])
        future.set_result([{"test": "t", "effect": args[1], "seed": args[2], "p_value": 0.5}])
        return future


def test_run_datasets_skips_what_is_done_and_reports_in_a_fixed_order(monkeypatch) -> None:
    import helpers.calibration as calibration

    monkeypatch.setattr(
        calibration,
        "dataset_tests",
        lambda params, effect, seed: [
            {"test": "t", "effect": effect, "seed": seed, "p_value": 0.5}
        ],
    )
    executor = _DoneExecutor()
    seen = []
    done = {("none", 1): [{"test": "t", "effect": "none", "seed": 1, "p_value": 0.9}]}
    execution = JobExecution(
        executor, False, done, on_done=lambda effect, seed, rows: seen.append((effect, seed))
    )
    records = run_datasets(None, [1, 2], execution=execution)
    assert ("none", 1) not in executor.submitted and sorted(seen) == sorted(executor.submitted)
    assert list(zip(records.effect, records.seed)) == [
        ("none", 1),
        ("none", 2),
        ("connectivity", 1),
        ("connectivity", 2),
    ]
    assert records.p_value.iloc[0] == 0.9
