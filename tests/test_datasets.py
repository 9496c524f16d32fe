"""Dataset checks: a BOLD file that is not a ds002322 run stops with a message naming it."""

import json

import nibabel as nib
import numpy as np
import pytest
from conftest import mirror_or_skip

from helpers.data.datasets import (
    DatasetError,
    derivative_relpath,
    ds002322_runs,
    sidecar_relpath,
)


def make_run(root, subject, shape=(4, 4, 4, 372), tr=2.0, sidecar_tr=2.0):
    path = root / derivative_relpath(subject)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.ones(shape, dtype=np.float32), np.eye(4))
    if len(shape) == 4:
        image.header.set_zooms((1.0, 1.0, 1.0, tr))
    nib.save(image, str(path))
    side = root / sidecar_relpath(subject)
    side.parent.mkdir(parents=True, exist_ok=True)
    side.write_text(json.dumps({"RepetitionTime": sidecar_tr}))
    return path


def test_valid_local_root(tmp_path):
    make_run(tmp_path, "sub-18")
    runs = ds002322_runs(["sub-18"], bids_root=tmp_path)
    assert runs[0].subject == "sub-18" and runs[0].repetition_time == 2.0


def test_three_dimensional_bold(tmp_path):
    make_run(tmp_path, "sub-18", shape=(4, 4, 4))
    with pytest.raises(DatasetError, match=r"sub-18: .* is 3-D .* must be 4-D"):
        ds002322_runs(["sub-18"], bids_root=tmp_path)


def test_wrong_number_of_volumes(tmp_path):
    make_run(tmp_path, "sub-22", shape=(4, 4, 4, 300))
    with pytest.raises(DatasetError, match=r"sub-22: .* has 300 volumes, expected 372"):
        ds002322_runs(["sub-22"], bids_root=tmp_path)


def test_wrong_tr(tmp_path):
    make_run(tmp_path, "sub-22", tr=2.5, sidecar_tr=2.5)
    with pytest.raises(DatasetError, match=r"sub-22: RepetitionTime 2.5 s in .*_bold.json"):
        ds002322_runs(["sub-22"], bids_root=tmp_path)


def test_header_tr_disagrees_with_sidecar(tmp_path):
    make_run(tmp_path, "sub-22", tr=2.5, sidecar_tr=2.0)
    with pytest.raises(DatasetError, match=r"sub-22: .* has TR 2.5 s in its header"):
        ds002322_runs(["sub-22"], bids_root=tmp_path)


def test_missing_subject_names_it(tmp_path):
    make_run(tmp_path, "sub-18")
    with pytest.raises(
        DatasetError, match=r"sub-23: no preprocessed BOLD .* \(available: sub-18\)"
    ):
        ds002322_runs(["sub-18", "sub-23"], bids_root=tmp_path)


def test_subject_without_derivatives(tmp_path):
    with pytest.raises(DatasetError, match="sub-38 have no preprocessed BOLD"):
        ds002322_runs(["sub-38"], bids_root=tmp_path)


def test_sidecar_repetition_time_is_named_as_the_sidecars_fault(tmp_path):
    make_run(tmp_path, "sub-22", tr=2.0, sidecar_tr=3.0)
    with pytest.raises(DatasetError) as info:
        ds002322_runs(["sub-22"], bids_root=tmp_path)
    message = str(info.value)
    assert "RepetitionTime 3.0 s in" in message and "_bold.json" in message and "sidecar" in message
    assert "header" not in message


def test_offline_real_dataset_names_file_and_variable(tmp_path, monkeypatch):
    from helpers.data import fetch as data

    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(data, "HTTP_RETRIES", 0)
    key = "ds002322/" + derivative_relpath("sub-18")
    monkeypatch.setitem(
        data.REMOTE_FILES, key, data.RemoteFile(key, "http://127.0.0.1:9/bold.nii.gz", None)
    )
    with pytest.raises(
        data.DataUnavailableError, match=r"ds002322/derivatives/sub-18/.*ALICE_MIRROR"
    ):
        ds002322_runs(["sub-18"])


def test_real_dataset_files_come_from_the_mirror_and_a_cut_copy_is_refused(tmp_path, monkeypatch):
    """A mirror holding (fake) derivatives: sidecars are copied, BOLD linked, sizes checked."""
    from helpers.data import datasets

    mirror = tmp_path / "mirror"
    reference = mirror_or_skip()
    bold = make_run(mirror / "ds002322", "sub-18")
    for relpath in (datasets.sidecar_relpath("sub-18"), datasets.events_relpath("sub-18")):
        (mirror / "ds002322" / relpath).write_bytes((reference / "ds002322" / relpath).read_bytes())
    monkeypatch.setenv("ALICE_MIRROR", str(mirror))
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path / "home"))
    size = bold.stat().st_size
    monkeypatch.setattr(
        datasets, "derivative_size", lambda rel: size if rel.endswith(".nii.gz") else None
    )
    [run] = ds002322_runs(["sub-18"])
    assert run.bold.is_symlink() and run.bold.resolve() == bold.resolve()
    assert run.stimulus_onset == pytest.approx(0.0, abs=1.0)
    monkeypatch.setattr(
        datasets, "derivative_size", lambda rel: size + 1 if rel.endswith(".nii.gz") else None
    )
    with pytest.raises(datasets.DataUnavailableError, match="cut short"):
        ds002322_runs(["sub-18"])


def test_published_derivative_sizes_are_known():
    from helpers.data.datasets import derivative_size

    assert derivative_size(derivative_relpath("sub-18")) == 287_017_264
    assert derivative_size(sidecar_relpath("sub-18")) is None


def test_every_subject_with_derivatives_has_a_registered_size_checked_image():
    from helpers.data.derivatives import derivative_sizes
    from helpers.data.fetch import REMOTE_FILES
    from helpers.study import DS002322_SUBJECTS_WITH_DERIVATIVES

    assert set(derivative_sizes()) == set(DS002322_SUBJECTS_WITH_DERIVATIVES)
    for subject in DS002322_SUBJECTS_WITH_DERIVATIVES:
        remote = REMOTE_FILES[f"ds002322/{derivative_relpath(subject)}"]
        assert remote.sha256 is None and remote.link_from_mirror
        assert remote.url.startswith("https://s3.amazonaws.com/openneuro.org/ds002322/")
