"""The data layer: cache -> mirror -> download, pinned checksums, clear offline errors, atomic writes."""

import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers.data import fetch as data
from helpers.data.fetch import ChecksumMismatchError, DataUnavailableError, RemoteFile, fetch
from helpers.data.storage import atomic_path, save_results


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def local_server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_from_mirror_verifies_and_caches(home, mirror):
    path = fetch("emotional-decoding-2025/timestamps.csv")
    assert path.is_file() and str(path).startswith(str(home))
    assert path.read_bytes() == (mirror / "emotional-decoding-2025/timestamps.csv").read_bytes()


def test_checksum_mismatch_in_mirror_names_file(home, tmp_path, monkeypatch):
    fake = tmp_path / "mirror" / "ds002322" / "participants.tsv"
    fake.parent.mkdir(parents=True)
    fake.write_text("participant_id\n18\n")
    monkeypatch.setenv("ALICE_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(
        ChecksumMismatchError, match="ds002322/participants.tsv from the mirror"
    ) as info:
        fetch("ds002322/participants.tsv", download=False)
    assert "Nothing was kept" in str(info.value) and "\n" not in str(info.value)
    folder = home / "downloads" / "ds002322"
    assert not folder.is_dir() or not list(folder.iterdir())  # not even a temporary file is left


def test_every_registry_entry_is_pinned_or_declared_unpinned():
    assert len(data.REMOTE_FILES) > 60
    unpinned = sorted(k for k, f in data.REMOTE_FILES.items() if f.sha256 is None)
    assert all(
        k.endswith("_bold_preprocessed.nii.gz") for k in unpinned if k != "gutenberg/alice.txt"
    )
    for key, remote in data.REMOTE_FILES.items():
        assert remote.sha256 is None or len(remote.sha256) == 64, key
        assert remote.url.startswith("https://"), key
        if key != "gutenberg/alice.txt":
            assert remote.url.endswith("/" + key.split("/")[-1]), key
    assert data.REMOTE_FILES["ds002322/code/annotations.tsv"].url == (
        "https://s3.amazonaws.com/openneuro.org/ds002322/code/annotations.tsv"
    )


def test_registry_hashes_match_the_reference_mirror(mirror):
    for key, remote in data.REMOTE_FILES.items():
        if remote.sha256 is not None:
            assert data.sha256_of(mirror / key) == remote.sha256, key


def test_a_corrupt_cached_download_is_fetched_again(home, mirror, capsys):
    key = "emotional-decoding-2025/timestamps.csv"
    path = fetch(key)
    path.write_bytes(path.read_bytes()[:100])
    assert fetch(key).read_bytes() == (mirror / key).read_bytes()
    warning = capsys.readouterr().err
    assert key in warning and "fetching it again" in warning


def test_downloads_get_normal_permissions(home, mirror):
    path = fetch("emotional-decoding-2025/timestamps.csv")
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    from helpers.data.files import current_umask

    return current_umask()


def test_offline_without_mirror_names_file_and_variable(home, monkeypatch):
    monkeypatch.delenv("ALICE_MIRROR", raising=False)
    monkeypatch.setattr(data, "HTTP_RETRIES", 0)
    key = "ds002322/code/annotations.tsv"
    monkeypatch.setitem(
        data.REMOTE_FILES, key, RemoteFile(key, "http://127.0.0.1:9/unreachable", "0" * 64)
    )
    with pytest.raises(DataUnavailableError) as info:
        fetch(key)
    message = str(info.value)
    assert key in message and "ALICE_MIRROR" in message and "Traceback" not in message
    assert "\n" not in message


def test_mirror_naming_a_missing_folder_is_one_clear_line(home, tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_MIRROR", str(tmp_path / "no-such-folder"))
    with pytest.raises(DataUnavailableError) as info:
        fetch("ds002322/participants.tsv")
    message = str(info.value)
    assert (
        "ALICE_MIRROR=" in message and "no-such-folder" in message and "not a directory" in message
    )


def test_mirror_without_the_file(home, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ALICE_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(DataUnavailableError, match=r"mirror .*empty has no gutenberg/alice.txt"):
        fetch("gutenberg/alice.txt", download=False)


def test_download_with_pinned_checksum(home, local_server, monkeypatch):
    folder, url = local_server
    payload = b"word\tonset\nAlice\t20.1\n"
    (folder / "file.tsv").write_bytes(payload)
    key = "ds002322/code/annotations.tsv"
    monkeypatch.delenv("ALICE_MIRROR", raising=False)
    monkeypatch.setitem(
        data.REMOTE_FILES,
        key,
        RemoteFile(key, f"{url}/file.tsv", hashlib.sha256(payload).hexdigest()),
    )
    assert fetch(key).read_bytes() == payload


def test_download_with_wrong_checksum_keeps_nothing(home, local_server, monkeypatch):
    folder, url = local_server
    (folder / "file.tsv").write_bytes(b"tampered")
    key = "ds002322/code/annotations.tsv"
    monkeypatch.delenv("ALICE_MIRROR", raising=False)
    monkeypatch.setitem(data.REMOTE_FILES, key, RemoteFile(key, f"{url}/file.tsv", "1" * 64))
    monkeypatch.setattr(data, "HTTP_RETRIES", 0)
    with pytest.raises(ChecksumMismatchError, match="Nothing was kept"):
        fetch(key)
    target = home / "downloads" / key
    assert not target.exists()
    assert not list(target.parent.glob("*.part"))


def test_interrupted_atomic_write_leaves_previous_content(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_results_written_under_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_RESULTS_DIR", str(tmp_path))
    returned = save_results(
        "99_test", {"value": 1.5, "missing": float("nan"), "nested": [float("inf"), 2]}
    )
    assert returned is None  # the last line of a chapter: a path would be rendered in the page
    path = tmp_path / "99_test.json"
    assert '"value": 1.5' in path.read_text()
    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}")) == {
        "value": 1.5,
        "missing": None,
        "nested": [None, 2],
    }
