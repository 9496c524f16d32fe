"""The data layer: every external file comes through :func:`fetch`, built on ``pooch``.

Every file the project reads is listed in ``registry.txt`` (pooch's registry format: key, sha256,
URL). Look-up order: the cache in the data home (``<ALICE_DATA_HOME>/downloads/<key>``, used as is
when its checksum matches, so a read-only data home works), then a local mirror (``ALICE_MIRROR``,
laid out like the keys), then an HTTPS download. Mirror copies and downloads go through pooch,
which writes to a temporary file, checks the pinned sha256 and only then renames it into the cache.
An offline machine with nothing mirrored gets one line naming the file and the variable to set.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pooch
import requests

from helpers.data.derivatives import derivative_relpath, derivative_sizes
from helpers.data.files import apply_umask_permissions, file_lock
from helpers.data.storage import get_data_home

MIRROR_ENV = "ALICE_MIRROR"
REGISTRY_FILE = Path(__file__).with_name("registry.txt")
DOWNLOADS_DIRNAME = "downloads"
BUCKET_URL = "https://s3.amazonaws.com/openneuro.org/"
"""Registry keys under ``ds002322/`` are fetched from here (the public OpenNeuro bucket)."""
HTTP_RETRIES = 2
MIRROR_LAYOUT = (
    "<mirror>/ds002322/..., <mirror>/emotional-decoding-2025/..., <mirror>/gutenberg/alice.txt"
)

# pooch announces every download on stderr with absolute paths; the chapters must not show them.
pooch.get_logger().setLevel(logging.WARNING)


class DataUnavailableError(RuntimeError):
    """A file could not be found in the cache, the mirror or online."""


class ChecksumMismatchError(RuntimeError):
    """A file's content differs from the pinned checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """An external file: its key (path in the cache and the mirror), URL and pinned sha256."""

    key: str
    url: str
    sha256: str | None
    link_from_mirror: bool = False  # large files are linked from a mirror instead of copied


def load_registry(path: Path = REGISTRY_FILE) -> dict[str, RemoteFile]:
    """The registry file as :class:`RemoteFile` entries (``none`` marks a file without a pin), plus
    the preprocessed BOLD images of every subject in ``derivative_sizes.tsv``."""
    reader = pooch.create(path=get_data_home(create=False) / DOWNLOADS_DIRNAME, base_url=BUCKET_URL)
    reader.load_registry(path)
    files = {}
    for key, known_hash in reader.registry.items():
        pinned = None if known_hash in ("none", None) else known_hash.split(":")[-1]
        files[key] = RemoteFile(
            key,
            reader.get_url(key),
            pinned,
            link_from_mirror=pinned is None and key.endswith(".nii.gz"),
        )
    for subject in derivative_sizes():  # unpinned, checked by size; linked from a mirror
        key = f"ds002322/{derivative_relpath(subject)}"
        files[key] = RemoteFile(key, BUCKET_URL + key, None, link_from_mirror=True)
    return files


REMOTE_FILES: dict[str, RemoteFile] = load_registry()


def get_mirror() -> Path | None:
    """The local mirror directory named by ``ALICE_MIRROR``, if any."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        return None
    mirror = Path(value).expanduser()
    if not mirror.is_dir():
        raise DataUnavailableError(
            f"{MIRROR_ENV}={value} is not a directory; point it at a folder laid out as {MIRROR_LAYOUT}, "
            f"or unset {MIRROR_ENV}"
        )
    return mirror


def sha256_of(path: Path) -> str:
    """The sha256 of a file, as pinned in the registry."""
    return pooch.file_hash(str(path), alg="sha256")


def cached_path(key: str) -> Path:
    """Where the cache keeps the external file ``key``."""
    return get_data_home(create=False) / DOWNLOADS_DIRNAME / key


class _NotInMirror(Exception):
    """Raised inside the downloader when the mirror lacks a file and downloads are off."""


class MirrorDownloader:
    """A pooch downloader that takes a file from the local mirror, or else over HTTPS.

    Pooch hands it a temporary path next to the cached file; whatever it writes there is
    checked against the pinned sha256 before pooch renames it into the cache. Large unpinned
    files (BOLD images) are linked from the mirror rather than copied.
    """

    def __init__(self, remote: RemoteFile, mirror: Path | None, download: bool) -> None:
        self.remote = remote
        self.mirror = mirror
        self.download = download
        self.origin = ""

    def in_mirror(self) -> Path | None:
        if self.mirror is None:
            return None
        candidate = self.mirror / self.remote.key
        return candidate if candidate.is_file() else None

    def __call__(
        self, url: str, output_file: str, pup: Any, check_only: bool = False
    ) -> bool | None:
        source = self.in_mirror()
        if check_only:
            return source is not None or self.download
        if source is not None:
            self.origin = f"the mirror {self.mirror}"
            if self.remote.link_from_mirror:
                os.unlink(output_file)
                os.symlink(source.resolve(), output_file)
            else:
                shutil.copyfile(source, output_file)
            return None
        if not self.download:
            raise _NotInMirror()
        self.origin = url
        show_bar = os.environ.get("TQDM_DISABLE") != "1" and sys.stderr.isatty()
        http = pooch.HTTPDownloader(
            progressbar=show_bar, timeout=60, headers={"User-Agent": "alice-emotions/0.1"}
        )
        return http(url, output_file, pup)


def _unavailable(remote: RemoteFile, mirror: Path | None, reason: str) -> DataUnavailableError:
    where = f"mirror {mirror} has no {remote.key}" if mirror else f"{MIRROR_ENV} is not set"
    return DataUnavailableError(
        f"cannot get {remote.key}: not in the cache ({cached_path(remote.key)}), {where}, and {reason}. "
        f"On an offline machine set {MIRROR_ENV} to a folder holding {remote.key} "
        "(e.g. ALICE_MIRROR=../shared/reference)."
    )


def fetch(key: str, *, download: bool = True) -> Path:
    """Return a local path to the external file ``key`` (e.g. ``'ds002322/code/annotations.tsv'``).

    Looks in the cache, then the mirror, then downloads over HTTPS; what is copied or downloaded is
    checked against the registry's sha256 before it enters the cache. A cached copy that no longer
    matches is named in a warning and fetched again. Raises :class:`DataUnavailableError` naming the
    file and ``ALICE_MIRROR`` when nothing works, :class:`ChecksumMismatchError` when the only copy
    available has other content.
    """
    if key not in REMOTE_FILES:
        raise KeyError(f"unknown external file {key!r}; known: {', '.join(sorted(REMOTE_FILES))}")
    remote = REMOTE_FILES[key]
    cached = cached_path(key)
    if _valid_in_cache(remote, cached):
        return cached  # nothing written: a read-only data home keeps working
    with contextlib.ExitStack() as stack:
        try:  # one process fetches a file at a time: two runs on one data home share it
            stack.enter_context(file_lock(cached, what=key, remove=True))
        except PermissionError:
            raise _not_writable(key) from None
        if _valid_in_cache(remote, cached, warn=False):  # fetched while this one waited
            return cached
        return _fetch_into_cache(key, remote, download)


def _valid_in_cache(remote: RemoteFile, cached: Path, warn: bool = True) -> bool:
    """Whether the cache holds ``remote`` with its pinned content; a mismatch is named once."""
    if not cached.is_file():
        return False
    if remote.sha256 is None or sha256_of(cached) == remote.sha256:
        return True
    if warn:
        print(
            f"[alice] warning: the cached {remote.key} ({cached}) does not match its pinned "
            "sha256; fetching it again",
            file=sys.stderr,
            flush=True,
        )
    return False


def _not_writable(key: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"cannot get {key}: it is not in the cache and the data home {get_data_home()} is not "
        f"writable; set ALICE_DATA_HOME to a writable folder, or fill this one once"
    )


def _fetch_into_cache(key: str, remote: RemoteFile, download: bool) -> Path:
    """Copy ``remote`` from the mirror or download it into the cache, checked against its sha256."""
    mirror = get_mirror()
    downloader = MirrorDownloader(remote, mirror, download)
    store = pooch.create(
        path=get_data_home() / DOWNLOADS_DIRNAME,
        base_url=BUCKET_URL,
        registry={key: None if remote.sha256 is None else f"sha256:{remote.sha256}"},
        urls={key: remote.url},
        retry_if_failed=0 if downloader.in_mirror() else HTTP_RETRIES,
    )
    try:
        path = Path(store.fetch(key, downloader=downloader))
    except _NotInMirror:
        raise _unavailable(remote, mirror, "downloads are disabled") from None
    except ValueError as exc:  # pooch's checksum mismatch
        origin = downloader.origin or remote.url
        hint = (
            f"replace the mirror copy with the original from {remote.url}"
            if mirror and origin.startswith("the mirror")
            else "the server sent different content"
        )
        raise ChecksumMismatchError(
            f"{key} from {origin} does not match its pinned sha256 {remote.sha256} "
            f"({str(exc).split('but got ')[-1].split('.')[0]} instead); {hint}. Nothing was kept."
        ) from None
    except PermissionError:
        raise _not_writable(key) from None
    except (requests.exceptions.RequestException, OSError) as exc:
        raise _unavailable(
            remote, mirror, f"the download from {remote.url} failed ({type(exc).__name__})"
        ) from None
    if not path.is_symlink():
        apply_umask_permissions(path)  # pooch's temporary files are private (0600)
    return path
