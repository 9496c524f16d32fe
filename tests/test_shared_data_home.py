"""A data home shared by several runs: real processes at once, a killed writer, a read-only copy.

Every test starts real Python processes on one data home and checks what the issue reports could
go wrong: a complete simulated dataset deleted under another run, staging folders left by a kill,
a cached data home that cannot be read without write permission, a moved data home that
re-extracts everything.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.config import SimulationParams
from helpers.data.atlases import load_atlas
from helpers.data.files import current_umask
from helpers.simulate import write_dataset

ROOT = Path(__file__).resolve().parent.parent
TINY = {"subjects": 2, "cv_options": {"subjects_per_fold": 1}, "simulation": {"resolution_mm": 6}}

# A run as a separate process: the ROI time series of the tiny parameter set, summarised.
ROI_SCRIPT = """
import json, sys
import numpy as np
from helpers.config import load_params
from helpers.pipeline import roi_timeseries
params = load_params(sys.argv[1], json.loads(sys.argv[2]))
roi = roi_timeseries(params, progress=False)
print(json.dumps({s: float(np.abs(x).sum()) for s, x in roi.timeseries.items()}))
"""


def _environment(data_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ALICE_DATA_HOME": str(data_home),
        "PYTHONPATH": str(ROOT),
        "MPLBACKEND": "Agg",
    }


def _start(data_home: Path, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", ROI_SCRIPT, str(ROOT / "params" / "quick.yml"), json.dumps(TINY)],
        env=_environment(data_home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def _finish(process: subprocess.Popen) -> dict[str, float]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``folder`` with its inode, size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory, mirror) -> Path:
    """A data home filled by two processes started at the same moment."""
    home = tmp_path_factory.mktemp("shared") / "data_home"
    first, second = _start(home), _start(home)
    results = [_finish(first), _finish(second)]
    assert results[0] == results[1]
    return home


def test_two_processes_build_one_dataset_and_never_rewrite_it(shared_home: Path) -> None:
    datasets = [p for p in (shared_home / "simulated").iterdir() if not p.name.startswith(".")]
    assert len(datasets) == 1 and (datasets[0] / "ground_truth.json").is_file()
    assert not list((shared_home / "simulated").glob(".*")), (
        "staging folders or lock files were left"
    )
    before = _snapshot(shared_home)
    write_dataset(
        datasets[0], np.zeros((372, 8)), load_atlas("seitzman300"), SimulationParams(), ["sub-18"]
    )
    assert _snapshot(shared_home) == before  # a complete dataset is returned as it is


def test_files_and_folders_get_the_permissions_of_the_umask(shared_home: Path) -> None:
    umask = current_umask()  # 022 usually: folders 0755, files 0644
    dataset = next(p for p in (shared_home / "simulated").iterdir())
    assert dataset.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    roi_files = list((shared_home / "cache" / "roi_timeseries").rglob("*.npz"))
    assert roi_files and all(
        p.stat().st_mode & 0o777 == 0o666 & ~umask for p in roi_files
    )  # not 0600


# Root ignores file modes, so for root the reader also refuses, through an audit hook, every
# Python-level write, rename, removal or lock under the read-only folder (as the kernel would).
READ_ONLY_GUARD = """
import os, sys
_frozen = os.path.realpath(sys.argv[3])
_write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

def _inside(path):
    try:
        return os.path.realpath(os.fsdecode(path)).startswith(_frozen)
    except (TypeError, ValueError):
        return False

def _guard(event, args):
    if event == "open" and args and _inside(args[0]):
        mode, flags = args[1] or "", args[2] or 0
        if any(c in mode for c in "wax+") or flags & _write_flags:
            raise PermissionError(30, "read-only data home", args[0])
    elif event in {"os.rename", "os.remove", "os.rmdir", "os.chmod", "os.utime", "os.symlink",
                   "os.link", "os.truncate", "shutil.rmtree"} and args and _inside(args[0]):
        raise PermissionError(30, "read-only data home", args[0])
    elif event == "os.mkdir" and args and _inside(args[0]) and not os.path.exists(args[0]):
        raise PermissionError(30, "read-only data home", args[0])

sys.addaudithook(_guard)
"""


def test_a_moved_read_only_data_home_is_used_as_it_is(shared_home: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved_home"
    shutil.copytree(shared_home, moved, symlinks=True)
    before = _snapshot(moved)
    for path in [*moved.rglob("*"), moved]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        reader = subprocess.run(
            [
                sys.executable,
                "-c",
                READ_ONLY_GUARD + ROI_SCRIPT,
                str(ROOT / "params" / "quick.yml"),
                json.dumps(TINY),
                str(moved),
            ],
            env=_environment(moved),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        for path in [moved, *moved.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert reader.returncode == 0, reader.stderr[-3000:]  # no re-extraction, no lock, no rewrite
    assert _snapshot(moved) == before


# Writes one small simulated dataset straight away (no annotation, no extraction).
DATASET_SCRIPT = """
import sys
import numpy as np
from helpers.config import SimulationParams
from helpers.data.atlases import load_atlas
from helpers.data.files import current_umask
from helpers.simulate import write_dataset
write_dataset(sys.argv[1], np.abs(np.sin(np.linspace(0, 20, 372)[:, None] + np.arange(8))),
              load_atlas("dosenbach160"), SimulationParams(resolution_mm=6, module_size=2), ["sub-18", "sub-22"])
"""


def test_a_writer_killed_mid_dataset_leaves_staging_that_the_next_writer_removes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "simulated" / "0123456789abcdef"
    writer = subprocess.Popen(
        [sys.executable, "-c", DATASET_SCRIPT, str(root)],
        env=_environment(tmp_path),
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not any((p / "participants.tsv").exists() for p in root.parent.glob(f".{root.name}.*")):
        assert writer.poll() is None and time.monotonic() < deadline, (
            "the writer ended before it was killed"
        )
        time.sleep(0.01)
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    assert [p for p in root.parent.glob(f".{root.name}.*") if p.is_dir()] and not root.exists()
    write_dataset(
        root,
        np.abs(np.sin(np.linspace(0, 20, 372)[:, None] + np.arange(8))),
        load_atlas("dosenbach160"),
        SimulationParams(resolution_mm=6, module_size=2),
        ["sub-18", "sub-22"],
    )
    assert (root / "ground_truth.json").is_file()
    assert sorted(p.name for p in root.parent.iterdir()) == [root.name]  # no staging, no lock file


def test_a_live_writers_staging_is_left_alone(tmp_path: Path) -> None:
    from helpers.data.files import file_lock
    from helpers.pipeline import remove_abandoned_staging

    folder = tmp_path / "simulated"
    live, dead = folder / ".aaaa.x1", folder / ".bbbb.x2"
    live.mkdir(parents=True)
    dead.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time\nfrom helpers.data.files import file_lock\n"
                f"with file_lock({str(folder / 'aaaa')!r}):\n"
                "    print('locked', flush=True)\n    time.sleep(60)"
            ),
        ],
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert remove_abandoned_staging(folder) == [dead]
        assert live.is_dir() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()
    with file_lock(folder / "aaaa"):  # released by the operating system when its holder died
        pass
    assert remove_abandoned_staging(folder) == [live] and not live.exists()


STEP_SCRIPT = """
from helpers.data.storage import step_dir
step_dir("features", {"window": 12})
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_a_really_read_only_data_home_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    """An empty data home on a read-only mount (a user namespace's bind mount, no root needed)."""
    home = tmp_path / "home"
    home.mkdir()
    mount = f"mount --bind {home} {home} && mount -o remount,bind,ro {home}"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && touch {home}/x"],
        capture_output=True,
        text=True,
    )
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"this machine cannot make a read-only bind mount: {probe.stderr.strip()}")
    done = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            f'{mount} && exec "$0" -c "$1"',
            sys.executable,
            STEP_SCRIPT,
        ],
        env=_environment(home),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("helpers.data.storage.DataHomeError: cannot write ")
    assert f"the data home {home} is not writable (Read-only file system)" in last
    assert "set ALICE_DATA_HOME to a writable folder" in last


def test_a_data_home_that_names_a_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    from helpers.data.storage import DataHomeError, get_data_home

    not_a_folder = tmp_path / "home.txt"
    not_a_folder.write_text("")
    monkeypatch.setenv("ALICE_DATA_HOME", str(not_a_folder))
    with pytest.raises(DataHomeError, match="names a file, not a folder"):
        get_data_home()
