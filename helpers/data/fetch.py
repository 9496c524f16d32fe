"""The data layer: every external file comes through :func:`fetch`.

Order of look-up: the cache in the data home, then a local mirror (``ALICE_MIRROR``), then an
HTTPS download with a pinned sha256. An offline machine with nothing mirrored gets one clear error
naming the file and the variable to set.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers.progress import tqdm

from helpers.data.storage import atomic_path, get_data_home

MIRROR_ENV = "ALICE_MIRROR"

OPENNEURO_BUCKET = "https://s3.amazonaws.com/openneuro.org/ds002322"
AUTHORS_REPO = (
    "https://raw.githubusercontent.com/HansDahleKvadsheim/Emotional-Decoding/"
    "e616463d5074242a0a123360779f395e1d6cfb7e"
)


class DataUnavailableError(RuntimeError):
    """A file could not be found in the cache, the mirror or online."""


class ChecksumMismatchError(RuntimeError):
    """A file's content differs from the pinned checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """A small external file: where it lives online and what its content must hash to."""

    key: str  # relative path, also its place in the cache and the mirror
    url: str
    sha256: str | None


REMOTE_FILES: dict[str, RemoteFile] = {
    f.key: f
    for f in [
        RemoteFile(
            "ds002322/code/annotations.tsv",
            f"{OPENNEURO_BUCKET}/code/annotations.tsv",
            "6e25b0d85a1457a75c608f2a298dbef97172f83270eb35a82b43c92229d0e46c",
        ),
        RemoteFile(
            "ds002322/participants.tsv",
            f"{OPENNEURO_BUCKET}/participants.tsv",
            "87a12545c4d687d386eb4b2a43ee2c776c2c89cc7559fc56e99fcf06cf3862c1",
        ),
        RemoteFile(
            "emotional-decoding-2025/alice.txt",
            f"{AUTHORS_REPO}/src/sentiment_analysis/alice.txt",
            "7c05161142cfaab1a3b02bbe7c72938edac661bc1734d68e80235b3bb6786c66",
        ),
        RemoteFile(
            "emotional-decoding-2025/godvectors.csv",
            f"{AUTHORS_REPO}/data/labels/godvectors.csv",
            "d33fe8c901a31b1ed50b260448e23f5f855efc66b80efe212bc4a8aa918cbc83",
        ),
        RemoteFile(
            "emotional-decoding-2025/godvectors_RollingTripleAverages.csv",
            f"{AUTHORS_REPO}/data/labels/godvectors_RollingTripleAverages.csv",
            "1c2189a6bb3a403b8227125c46cb294f978af4416c5b00685eef0dad57ce8944",
        ),
        RemoteFile(
            "emotional-decoding-2025/timestamps.csv",
            f"{AUTHORS_REPO}/data/timestamps/timestamps.csv",
            "9c7978412a97c8b2613a4dbe9c2776975d2542a63cd7fbb178693c4b178ecc86",
        ),
        RemoteFile(
            "emotional-decoding-2025/expanded_timestamps.csv",
            f"{AUTHORS_REPO}/data/timestamps/expanded_timestamps.csv",
            "e13cf29fc222020464f9eca1b0d056060d1819e196a803c5d70a8ba8d5ece4ec",
        ),
        RemoteFile(
            "emotional-decoding-2025/Schaefer2018_400Parcels_7Networks_order_FSLMNI152_3mm.nii",
            f"{AUTHORS_REPO}/fMRI_processing/Schaefer2018_400Parcels_7Networks_order_FSLMNI152_3mm.nii",
            "ae864a3e1d6c23ff729de908683117e47ffa67703fd2e6ad27e3ebe73adcec5c",
        ),
        # The whole book. Online we take Project Gutenberg's current edition of ebook #11; a mirror
        # may hold the Millennium Fulcrum 2.9 text instead. Both differ only in quote marks and
        # front matter, which the stimulus parser tolerates, so this file is not checksum-pinned.
        RemoteFile("gutenberg/alice.txt", "https://www.gutenberg.org/cache/epub/11/pg11.txt", None),
    ]
}


def get_mirror() -> Path | None:
    """The local mirror directory named by ``ALICE_MIRROR``, if any."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        return None
    mirror = Path(value).expanduser()
    if not mirror.is_dir():
        raise DataUnavailableError(
            f"{MIRROR_ENV}={value} is not a directory; point it at a folder laid out as "
            "<mirror>/ds002322/..., <mirror>/emotional-decoding-2025/..., <mirror>/gutenberg/alice.txt"
        )
    return mirror


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, remote: RemoteFile, origin: str) -> None:
    if remote.sha256 is None:
        return
    actual = sha256_of(path)
    if actual != remote.sha256:
        raise ChecksumMismatchError(
            f"{remote.key} from {origin} ({path}) has sha256 {actual}, expected {remote.sha256}. "
            "The file is corrupt or a different version: delete it and fetch again, or replace the "
            f"mirror copy with the original from {remote.url}"
        )


def fetch(key: str, *, download: bool = True) -> Path:
    """Return a local path to the external file ``key`` (e.g. ``'ds002322/code/annotations.tsv'``).

    Looks in the cache, then the mirror (copied into the cache after its checksum is verified), then
    downloads over HTTPS. Raises :class:`DataUnavailableError` naming the file and ``ALICE_MIRROR``
    when none of these works.
    """
    if key not in REMOTE_FILES:
        raise KeyError(f"unknown external file {key!r}; known: {', '.join(sorted(REMOTE_FILES))}")
    remote = REMOTE_FILES[key]
    cached = get_data_home() / "downloads" / key
    if cached.exists():
        _check(cached, remote, "the cache")
        return cached

    mirror = get_mirror()
    if mirror is not None and (mirror / key).is_file():
        source = mirror / key
        _check(source, remote, f"the mirror {mirror}")
        with atomic_path(cached) as tmp:
            shutil.copyfile(source, tmp)
        return cached

    reason = "downloads disabled"
    if download:
        try:
            download_file(remote.url, cached, expected_sha256=remote.sha256, label=key)
            return cached
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = f"download from {remote.url} failed: {exc}"
    where = f"mirror {mirror} has no {key}" if mirror else f"{MIRROR_ENV} is not set"
    raise DataUnavailableError(
        f"cannot get {key}: not in the cache ({cached}), {where}, and {reason}. "
        f"On an offline machine set {MIRROR_ENV} to a folder holding {key} "
        "(e.g. ALICE_MIRROR=../shared/reference)."
    )


def download_file(
    url: str,
    target: Path,
    *,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
    label: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Stream ``url`` to ``target`` with a progress bar, verifying size and checksum before renaming."""
    request = urllib.request.Request(url, headers={"User-Agent": "alice-emotions/0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as response, atomic_path(target) as tmp:
        total = int(response.headers.get("Content-Length") or 0) or expected_size
        digest = hashlib.sha256()
        with open(tmp, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc=label or target.name, leave=False
        ) as bar:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        size = tmp.stat().st_size
        if expected_size is not None and size != expected_size:
            raise DataUnavailableError(
                f"{label or url}: downloaded {size} bytes, expected {expected_size}; the transfer was "
                "cut. Run again to retry (nothing was kept)."
            )
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            raise ChecksumMismatchError(
                f"{label or url}: downloaded file has sha256 {digest.hexdigest()}, expected "
                f"{expected_sha256}; the server sent different content. Nothing was kept."
            )
    return target
