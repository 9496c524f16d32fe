"""The publishing workflow's full calibration: scheduled, resumable from a cache keyed by design
and code, run on the published book's parameters and handed to the chapters before they run."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml
from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_calibration_job_runs_200_datasets_of_the_published_books_design(workflow) -> None:
    assert workflow["on"]["schedule"][0]["cron"]
    job = workflow["jobs"]["calibration"]
    assert "pull_request" in job["if"]
    [step] = [s for s in job["steps"] if "--datasets" in s.get("run", "")]
    command = shlex.split(step["run"])
    assert _option(command, "--datasets") == "200"
    assert _option(command, "--out") == "_build/calibration.json"
    book = workflow["jobs"]["test-and-build"]
    runs = [s.get("run", "") for s in book["steps"]]
    [notebooks] = [r for r in runs if r.startswith("make notebooks")]
    assert f"PARAMS={_option(command, '--params')}" in notebooks, "calibrate the design shown"


def test_the_records_are_cached_by_design_and_code_and_kept_when_cut_short(workflow) -> None:
    job = workflow["jobs"]["calibration"]
    [key_step] = [s for s in job["steps"] if s.get("id") == "records"]
    [identity] = re.findall(r"\$\((.*?)\)", key_step["run"])
    command = shlex.split(identity)
    assert command[1:4] == ["-m", "book_runner", "calibrate"] and command[-1] == "--identity"
    calibrate = next(s["run"] for s in job["steps"] if "--datasets" in s.get("run", ""))
    assert _option(command, "--params") == _option(shlex.split(calibrate), "--params")
    restore = next(
        s
        for s in job["steps"]
        if s.get("uses", "").startswith("actions/cache/restore")
        and s["with"]["path"] == "_build/calibration.records"
    )
    save = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache/save"))
    assert save["if"] == "always()" and save["with"]["path"] == "_build/calibration.records"
    assert save["with"]["key"] == restore["with"]["key"]
    assert "github.run_id" in save["with"]["key"]  # a new entry each run: partial ones can grow
    prefix = restore["with"]["restore-keys"].strip()
    assert save["with"]["key"].startswith(prefix.removesuffix("-"))
    names = [s.get("uses", s.get("run", "")) for s in job["steps"]]
    calibrate = next(i for i, n in enumerate(names) if "--datasets" in n)
    assert names.index(restore["uses"]) < calibrate < names.index(save["uses"])


def test_the_book_fetches_the_result_before_running_the_chapters(workflow) -> None:
    book = workflow["jobs"]["test-and-build"]
    assert book["needs"] == "calibration" and "cancelled()" in book["if"]
    steps = book["steps"]
    [fetch] = [
        i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/download-artifact")
    ]
    assert steps[fetch]["with"] == {"name": "calibration", "path": "_build"}
    assert re.search(r"needs\.calibration\.result == 'success'", steps[fetch]["if"])
    notebooks = next(
        i for i, s in enumerate(steps) if s.get("run", "").startswith("make notebooks")
    )
    assert fetch < notebooks
    upload = workflow["jobs"]["calibration"]["steps"][-1]
    assert (
        upload["uses"].startswith("actions/upload-artifact")
        and upload["with"]["name"] == "calibration"
    )
