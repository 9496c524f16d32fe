"""The data layer: cache -> mirror -> download, pinned checksums, clear offline errors, atomic writes."""

import hashlib
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
    with pytest.raises(ChecksumMismatchError, match="ds002322/participants.tsv from the mirror"):
        fetch("ds002322/participants.tsv", download=False)
    assert not (home / "downloads" / "ds002322" / "participants.tsv").exists()


def test_offline_without_mirror_names_file_and_variable(home, monkeypatch):
    monkeypatch.delenv("ALICE_MIRROR", raising=False)
    key = "ds002322/code/annotations.tsv"
    monkeypatch.setitem(
        data.REMOTE_FILES, key, RemoteFile(key, "http://127.0.0.1:9/unreachable", "0" * 64)
    )
    with pytest.raises(DataUnavailableError) as info:
        fetch(key)
    message = str(info.value)
    assert key in message and "ALICE_MIRROR" in message and "Traceback" not in message


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
        data.REMOTE_FILES, key, RemoteFile(key, f"{url}/file.tsv", hashlib.sha256(payload).hexdigest())
    )
    assert fetch(key).read_bytes() == payload


def test_download_with_wrong_checksum_keeps_nothing(home, local_server, monkeypatch):
    folder, url = local_server
    (folder / "file.tsv").write_bytes(b"tampered")
    key = "ds002322/code/annotations.tsv"
    monkeypatch.delenv("ALICE_MIRROR", raising=False)
    monkeypatch.setitem(data.REMOTE_FILES, key, RemoteFile(key, f"{url}/file.tsv", "1" * 64))
    with pytest.raises(ChecksumMismatchError, match="Nothing was kept"):
        fetch(key)
    target = home / "downloads" / key
    assert not target.exists()
    assert not list(target.parent.glob("*.part"))


def test_interrupted_atomic_write_leaves_previous_content(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_results_written_under_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_RESULTS_DIR", str(tmp_path))
    path = save_results("99_test", {"value": 1.5, "missing": float("nan"), "nested": [float("inf"), 2]})
    assert path == tmp_path / "99_test.json" and '"value": 1.5' in path.read_text()
    import json

    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}")) == {
        "value": 1.5, "missing": None, "nested": [None, 2]}
