"""The calibration loses nothing: interrupted (Ctrl-C, then kill -9) with two workers, it leaves
no process behind and the same command resumes to exactly the result of an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT

from helpers.calibration_verdicts import WORLDS
from helpers.config import load_params

# A dataset costs a few seconds with these null draws; the design is the quick book's otherwise.
TINY = {
    "calibration": {"n_permutations": 20},
    "explain": {"n_null_draws": 20, "n_label_shuffles": 20},
}
QUICK = str(ROOT / "params" / "quick.yml")
SEED = load_params(Path(QUICK)).calibration.first_seed
"""The first dataset's seed (one dataset per kind in the re-run test)."""


def _command(out: Path, workers: int = 2, datasets: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "book_runner",
        "calibrate",
        "--params",
        QUICK,
        "--datasets",
        str(datasets),
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--set",
        json.dumps(TINY),
    ]


def _recorded(out: Path) -> set[str]:
    folder = out.parent / f"{out.stem}.records"
    return {p.name for p in folder.glob("*-*.json")} if folder.is_dir() else set()


def _start_and_wait(out: Path, at_least: int) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """Start a two-worker calibration; return once ``at_least`` more datasets are recorded."""
    before = len(_recorded(out))
    process = subprocess.Popen(
        _command(out),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # our own group: the test can always clean up after itself
        # a shell that starts pytest in the background makes it ignore SIGINT, and children
        # inherit that: restore the default so Ctrl-C reaches the command as from a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        workers = psutil.Process(process.pid).children(recursive=True) or workers
        if len(_recorded(out)) >= before + at_least and len(workers) >= 2:
            return process, workers
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"the calibration did not record a dataset in time: {process.communicate()}")


def _without_run(path: Path) -> dict:
    document = json.loads(path.read_text())
    assert document["run"]["finished"] and document["run"]["seconds"] >= 0
    document.pop("run")
    return document


def test_interrupted_and_killed_calibration_resumes_to_the_uninterrupted_result(
    tmp_path: Path, mirror
) -> None:
    out = tmp_path / "resumed" / "calibration.json"
    process, workers = _start_and_wait(out, at_least=1)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: to the command and its workers
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted:" in stderr.strip().splitlines()[-1]
    assert "the same command resumes" in stderr
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers left running after Ctrl-C: {alive}"

    kept = _recorded(out)
    process, workers = _start_and_wait(out, at_least=1)
    assert len(workers) >= 2
    process.kill()  # SIGKILL: no handler runs in the command
    process.communicate(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers outlived their killed parent: {alive}"
    assert kept < _recorded(out), "records of the first run must be kept, and new ones added"
    assert not out.exists(), "the result file appears only when every dataset is done"

    resumed = subprocess.run(_command(out), cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(out.read_text())
    assert document["run"]["reused"] >= 2 and document["run"]["computed"] <= 2

    reference = tmp_path / "uninterrupted" / "calibration.json"
    straight = subprocess.run(
        _command(reference, workers=1), cwd=ROOT, capture_output=True, text=True
    )
    assert straight.returncode == 0, straight.stderr
    assert _without_run(out) == _without_run(reference)
    names = _recorded(out)
    assert len([n for n in names if not n.startswith("verdicts_")]) == 4
    assert len([n for n in names if n.startswith("verdicts_")]) == 2 * len(WORLDS)


def test_a_finished_calibration_rerun_computes_nothing_and_keeps_its_result(
    tmp_path: Path, mirror
) -> None:
    out = tmp_path / "calibration.json"
    first = subprocess.run(
        _command(out, workers=1, datasets=1), cwd=ROOT, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        _command(out, workers=1, datasets=1), cwd=ROOT, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert "2 already recorded" in again.stderr and "0 to compute" in again.stderr
    # the verdict table's worlds are recorded too, and reused
    names = _recorded(out)
    assert {f"verdicts_{w}-{SEED}.json" for w in WORLDS} <= names, names
    assert "3 verdict-table datasets" in again.stderr
    assert "3 already recorded, 0 to compute" in again.stderr
    document = json.loads(out.read_text())
    assert document["run"] == {**document["run"], "computed": 0, "reused": 2}
    # a damaged record is recomputed, not trusted
    damaged = next((tmp_path / "calibration.records").glob("none-*.json"))
    damaged.write_text(damaged.read_text()[:40])
    third = subprocess.run(
        _command(out, workers=1, datasets=1), cwd=ROOT, capture_output=True, text=True
    )
    assert third.returncode == 0, third.stderr
    assert json.loads(out.read_text())["run"]["computed"] == 1
    document.pop("run")
    assert _without_run(out) == document


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_an_unwritable_out_folder_is_refused_before_anything_runs(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && touch {folder}/x"],
        capture_output=True,
        text=True,
    )
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"this machine cannot make a read-only bind mount: {probe.stderr.strip()}")
    command = _command(folder / "calibration.json", workers=1, datasets=1)
    began = time.monotonic()
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f'{mount} && exec "$0" "$@"', *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot create the records folder ")
    assert "Read-only file system" in line and "writable folder" in line
    assert time.monotonic() - began < 30  # refused at once, not after the computation


@pytest.mark.slow
def test_a_dask_cluster_resumes_a_local_run_to_the_same_result(tmp_path: Path, mirror) -> None:
    distributed = pytest.importorskip("dask.distributed")
    from book_runner.calibrate import main as calibrate_main

    out = tmp_path / "calibration.json"
    local = _command(out, workers=1, datasets=1)[4:]
    assert calibrate_main(local) == 0
    reference = _without_run(out)
    next((tmp_path / "calibration.records").glob("connectivity-*.json")).unlink()
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert calibrate_main([*local, "--scheduler", cluster.scheduler_address]) == 0
    document = json.loads(out.read_text())
    assert (document["run"]["computed"], document["run"]["reused"]) == (1, 1)
    assert _without_run(out) == reference
