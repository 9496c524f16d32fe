"""Test set-up: offline data (the shared reference mirror) and a data home kept between runs."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.data.atlases import Atlas

ROOT = Path(__file__).resolve().parent.parent

if not os.environ.get("ALICE_MIRROR"):
    candidate = ROOT.parent / "shared" / "reference"
    if candidate.is_dir():
        os.environ["ALICE_MIRROR"] = str(candidate)
if not os.environ.get("ALICE_DATA_HOME"):
    os.environ["ALICE_DATA_HOME"] = str(ROOT / ".pytest-data-home")
os.environ.setdefault("MPLBACKEND", "Agg")


def mirror_or_skip() -> Path:
    value = os.environ.get("ALICE_MIRROR")
    if not value or not Path(value).is_dir():
        pytest.skip("ALICE_MIRROR is not set to the reference files (CI sets it)")
    return Path(value)


@pytest.fixture(scope="session")
def mirror() -> Path:
    return mirror_or_skip()


@pytest.fixture(scope="session")
def small_params(mirror):
    """A small simulated run: 3 subjects on a 6 mm grid, the default atlas and window."""
    from helpers.config import load_params

    return load_params(
        ROOT / "params" / "quick.yml",
        {"subjects": 3, "simulation": {"resolution_mm": 6, "snr": 1.5}},
    )


@pytest.fixture(scope="session")
def small_roi(small_params):
    from helpers.pipeline import roi_timeseries

    return roi_timeseries(small_params, progress=False)


@pytest.fixture
def fresh_data_home(tmp_path, monkeypatch, mirror):
    """External files from the reference mirror, a fresh data home per test, no LLM endpoint."""
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path / "data_home"))
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    return tmp_path / "data_home"


@pytest.fixture
def toy_atlas():
    """Six ROIs in three networks, for figures and graph code that need an atlas."""
    return Atlas(
        name="toy",
        kind="spheres",
        labels=tuple(f"roi{i}" for i in range(6)),
        networks=("A", "B", "A", "C", "B", "C"),
        regions=tuple(f"roi{i}" for i in range(6)),
        coords=np.array(
            [[-40, -20, 10], [40, -20, 10], [0, 50, 0], [0, -80, 0], [20, 0, 40], [-20, 0, 40]],
            float,
        ),
        radius_mm=5.0,
    )


@pytest.fixture(autouse=True)
def close_figures():
    """Every test leaves no open matplotlib figure behind."""
    yield
    plt.close("all")
