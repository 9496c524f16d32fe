"""Damaged cache files are named in one line and rebuilt, never read as if they were intact."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.data.integrity import (
    CorruptCacheError,
    cached_arrays,
    cached_json,
    checksum_path,
    load_array,
    load_arrays,
    load_json,
    save_array,
    save_arrays,
    save_json,
)


def _truncate(path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize("damage", ["truncated", "zero bytes", "no checksum and truncated"])
def test_a_damaged_npz_is_named_and_rebuilt(tmp_path, capsys, damage):
    path = tmp_path / "step" / "sub-18.npz"
    save_arrays(path, timeseries=np.arange(3000.0).reshape(1000, 3))
    if damage == "truncated":
        _truncate(path, path.stat().st_size // 2)
    elif damage == "zero bytes":
        path.write_bytes(b"")
    else:  # written by an older version: no sidecar, so the file is parsed to find the damage
        checksum_path(path).unlink()
        _truncate(path, 300)
    with pytest.raises(CorruptCacheError) as info:
        load_arrays(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    calls = []
    rebuilt = cached_arrays(path, lambda: calls.append(1) or {"timeseries": np.ones((4, 3))})
    assert calls == [1] and np.array_equal(rebuilt["timeseries"], np.ones((4, 3)))
    warning = capsys.readouterr().err.strip()
    assert (
        warning.count("\n") == 0
        and f"corrupt cache file {path}" in warning
        and "rebuilding" in warning
    )
    assert np.array_equal(
        load_arrays(path)["timeseries"], np.ones((4, 3))
    )  # the rebuilt copy is intact


def test_random_bytes_in_a_large_npy_are_caught(tmp_path):
    path = tmp_path / "features" / "X.npy"
    matrix = np.random.default_rng(0).standard_normal((2000, 1000)).astype(np.float32)  # 8 MB
    save_array(path, matrix)
    assert np.array_equal(load_array(path), matrix) and np.array_equal(
        load_array(path, mmap_mode="r"), matrix
    )
    with open(path, "r+b") as handle:  # same size, so only the checksum can tell
        handle.seek(5_000_000)
        handle.write(np.random.default_rng(1).bytes(400))
    with pytest.raises(CorruptCacheError, match="changed after it was written"):
        load_array(path, mmap_mode="r")


def test_truncated_json_is_named_and_rebuilt(tmp_path, capsys):
    path = tmp_path / "annotation.json"
    save_json(path, {"scores": list(range(100))})
    _truncate(path, 50)
    with pytest.raises(CorruptCacheError, match="annotation.json"):
        load_json(path)
    assert cached_json(path, lambda: {"scores": [1]}) == {"scores": [1]}
    assert "annotation.json" in capsys.readouterr().err
    checksum_path(path).unlink()  # without a sidecar a damaged file is still caught by parsing
    _truncate(path, 5)
    with pytest.raises(CorruptCacheError, match="unreadable as JSON"):
        load_json(path)


def test_a_corrupt_roi_cache_file_is_rebuilt_with_the_same_numbers(small_params, small_roi, capsys):
    from helpers.pipeline import roi_timeseries

    path = small_roi.cache_dir / f"{small_roi.subjects[0]}.npz"
    _truncate(path, 1000)
    again = roi_timeseries(small_params, progress=False)
    assert f"corrupt cache file {path}" in capsys.readouterr().err
    for subject in small_roi.subjects:
        assert np.array_equal(again.timeseries[subject], small_roi.timeseries[subject])
    key = (small_roi.cache_dir / "key.json").read_text()
    assert (
        "/" not in key
    )  # keyed by the dataset's identity, not its folder: a moved data home is reused
    assert json.loads(key)["source"] == small_roi.runs[0].bold.parents[2].name
