"""The calibration machinery: intervals with known answers, and the command line on one dataset."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ROOT

from book_runner.cli import main
from helpers.calibration import binomial_interval, summarise


def test_clopper_pearson_interval_known_values() -> None:
    low, high = binomial_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1684, abs=1e-4)
    low, high = binomial_interval(5, 100)
    assert low == pytest.approx(0.0164, abs=1e-4) and high == pytest.approx(0.1128, abs=1e-4)


def test_summary_separates_null_from_planted_datasets() -> None:
    records = pd.DataFrame(
        {
            "test": ["t"] * 6,
            "effect": ["none"] * 4 + ["connectivity"] * 2,
            "seed": [1, 2, 3, 4, 1, 2],
            "unit": ["mean"] * 6,
            "p_value": [0.01, 0.5, 0.7, 0.9, 0.001, 0.2],
        }
    )
    [row] = summarise(records).to_dict("records")
    assert row["n_datasets"] == 4 and row["false_positive_rate"] == 0.25 and row["power"] == 0.5
    assert row["ci_low"] < 0.25 < row["ci_high"]
    assert pd.isna(row["verdict_rate"])  # tests without a verdict


def test_verdict_rate_counts_decided_null_datasets() -> None:
    records = pd.DataFrame(
        {
            "test": ["index"] * 5,
            "effect": ["none"] * 4 + ["connectivity"],
            "seed": [1, 2, 3, 4, 1],
            "unit": ["index"] * 5,
            "p_value": [0.01, 0.04, 0.5, 0.9, 0.01],
            "favours": ["locationist", "inconclusive", "inconclusive", "inconclusive", "x"],
        }
    )
    [row] = summarise(records).to_dict("records")
    assert row["false_positive_rate"] == 0.5 and row["verdict_rate"] == 0.25


def test_calibrate_command_writes_the_summary(tmp_path, mirror) -> None:
    out = tmp_path / "calibration.json"
    assert (
        main(
            [
                "calibrate",
                "--params",
                str(ROOT / "params" / "quick.yml"),
                "--datasets",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    written = json.loads(out.read_text())
    tests = {row["test"]: row for row in written["tests"]}
    assert "DFC vs ROI joint test (ridge)" in tests and "per-emotion p (ridge on dfc)" in tests
    for index in ("network_entropy", "mean_jaccard", "shared_core", "lono_concentration"):
        row = tests[f"interpretation: {index} (ridge)"]
        assert 0.0 <= row["verdict_rate"] <= row["false_positive_rate"] <= 1.0
    assert {row["effect"] for row in written["p_values"]} == {"none", "connectivity"}
    assert all(0 < row["p_value"] <= 1 for row in written["p_values"])


def test_calibrate_command_reads_overrides_and_rejects_bad_ones(tmp_path, capsys) -> None:
    from book_runner.calibrate import main as calibrate_main

    out = str(tmp_path / "c.json")
    assert calibrate_main(["--datasets", "1", "--out", out, "--set", "[1, 2]"]) == 1
    assert "--set" in capsys.readouterr().err
    bad = '{"calibration": {"pairing": "sideways"}}'
    assert calibrate_main(["--datasets", "1", "--out", out, "--set", bad]) == 1
    assert "pairing" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1 (got 0)"),
        (["--workers", "-3"], "--workers must be at least 1 (got -3)"),
        (["--datasets", "0"], "--datasets must be at least 1 (got 0)"),
    ],
)
def test_calibrate_refuses_bad_counts_in_one_line(tmp_path, capsys, arguments, message) -> None:
    from book_runner.calibrate import main as calibrate_main

    out = tmp_path / "c.json"
    assert calibrate_main(["--datasets", "1", "--out", str(out), *arguments]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {message}" or line.startswith(f"error: {message};")
    assert not out.exists() and not (tmp_path / "c.records").exists()


def test_calibrate_refuses_an_out_that_is_a_folder_before_computing(tmp_path, capsys) -> None:
    from book_runner.calibrate import main as calibrate_main

    assert calibrate_main(["--datasets", "200", "--out", str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: --out {tmp_path} is a folder; name a JSON file")
    assert list(tmp_path.iterdir()) == []


def test_calibrate_names_an_unreachable_scheduler(tmp_path, capsys, mirror) -> None:
    pytest.importorskip("dask.distributed")
    import socket

    from book_runner.calibrate import main as calibrate_main

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    arguments = ["--datasets", "1", "--out", str(tmp_path / "c.json"), "--scheduler", address]
    assert calibrate_main([*arguments, "--connect-timeout", "1"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot reach the Dask scheduler at {address}")
    assert not (tmp_path / "c.json").exists()


def test_a_second_calibrate_into_a_busy_out_is_refused(tmp_path, capsys) -> None:
    from book_runner.calibrate import main as calibrate_main
    from helpers.calibration_records import DatasetRecords, Identity, records_folder
    from helpers.config import load_params

    out = tmp_path / "c.json"
    params = load_params(ROOT / "params" / "quick.yml")
    with DatasetRecords.open(records_folder(out), Identity.of(params)):  # a run in progress
        code = calibrate_main(
            ["--params", str(ROOT / "params" / "quick.yml"), "--datasets", "9", "--out", str(out)]
        )
    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: another calibration is writing into ")
    assert list(records_folder(out).iterdir()) == [records_folder(out) / "identity.json"]


def test_identity_prints_the_digests_that_key_the_records(capsys) -> None:
    from book_runner.calibrate import main as calibrate_main
    from helpers.calibration_records import Identity
    from helpers.config import load_params

    quick = str(ROOT / "params" / "quick.yml")
    assert calibrate_main(["--params", quick, "--identity"]) == 0
    identity = Identity.of(load_params(quick))
    assert capsys.readouterr().out.strip() == f"{identity.design_digest}-{identity.code_digest}"
    assert (
        calibrate_main(["--params", quick, "--identity", "--set", '{"window": {"length": 9}}']) == 0
    )
    assert capsys.readouterr().out.split("-")[0] != identity.design_digest
    with pytest.raises(SystemExit):  # without --identity, --datasets and --out are needed
        calibrate_main(["--params", quick])
