"""Sweeps: grid expansion, a tiny sweep of a trivial chapter run locally and on a Dask cluster
(with a planted failure and a resume), and the direct sensitivity scores on known-answer data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from book_runner.sweep import DONE_FILE, ERROR_FILE, gather, load_sweep, run_sweep
from helpers.config import load_params
from helpers.decoding.sensitivity import sensitivity_scores
from helpers.decoding.stats import VerdictLabels, verdict
from helpers.parameter_grid import SweepError, combination_id, expand_dotted, expand_grid
from helpers.parameter_sections import SweepParams
from helpers.study import EMOTIONS, N_VOLUMES

ROOT = Path(__file__).resolve().parent.parent

TRIVIAL_CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A trivial chapter

```{code-cell} ipython3
:tags: [parameters]

params_file = "params/default.yml"
overrides = {}
```

```{code-cell} ipython3
from helpers.config import load_params
from helpers.data.storage import save_results

params = load_params(params_file, overrides)
if params.window.length == 7:
    raise RuntimeError("planted failure for a 7-TR window")
save_results("01_trivial", {"scores": [
    {"model": "ridge", "features": name, "cv": params.cv, "emotion": "mean",
     "r": params.window.length / 100 + (0.5 if name == "dfc" else 0.0)}
    for name in params.features
]})
```
"""


# ------------------------------------------------------------------------------- the grid
def test_expand_dotted_nests_keys_and_rejects_ambiguity():
    assert expand_dotted({"window.length": 6, "window.shape": "tapered", "atlas": "x"}) == {
        "window": {"length": 6, "shape": "tapered"},
        "atlas": "x",
    }
    assert expand_dotted({"window": {"step": 2}, "window.length": 6}) == {
        "window": {"step": 2, "length": 6}
    }
    with pytest.raises(SweepError, match="window"):
        expand_dotted({"window": 3, "window.length": 6})
    with pytest.raises(SweepError, match="empty part"):
        expand_dotted({"window..length": 6})


def test_expand_grid_is_the_cartesian_product_plus_explicit_combinations():
    grid = {"window.length": [6, 12, 24], "features": [["roi", "dfc"], ["dfc"]]}
    combos = expand_grid(
        grid,
        [
            {"window.length": 48, "window.shape": "tapered"},
            {"window.length": 6, "features": ["dfc"]},
        ],
    )
    assert len(combos) == 3 * 2 + 1  # the repeated explicit combination is dropped
    assert combos[0] == {"window.length": 6, "features": ["roi", "dfc"]}
    assert combos[1] == {"window.length": 6, "features": ["dfc"]}  # last key varies fastest
    assert combos[-1] == {"window.length": 48, "window.shape": "tapered"}
    assert expand_grid({}) == [{}]
    with pytest.raises(SweepError, match="list of values"):
        expand_grid({"window.length": 6})
    with pytest.raises(SweepError, match="empty list"):
        expand_grid({"window.length": []})


def test_combination_id_is_readable_and_depends_on_values_only():
    a = combination_id({"window.length": 6, "features": ["roi", "dfc"]})
    assert a.startswith("length-6_features-roi+dfc_")
    assert a == combination_id({"window.length": 6, "features": ["roi", "dfc"]})
    assert a != combination_id({"window.length": 12, "features": ["roi", "dfc"]})
    assert combination_id({"window.length": 6, "features": ["roi", "dfc"]}) != combination_id(
        {"features": ["roi", "dfc"], "window.length": 7}
    )


def test_shipped_sweep_files_are_valid(tmp_path):
    import yaml

    for path in sorted((ROOT / "params" / "sweeps").glob("*.yml")):
        for chapter in yaml.safe_load(path.read_text())[
            "chapters"
        ]:  # the chapters need not exist yet
            (tmp_path / f"{chapter}.md").write_text(TRIVIAL_CHAPTER)
        plan = load_sweep(path, notebook_dir=tmp_path).plan()
        assert plan, path
        assert len({c.id for c in plan}) == len(plan)
    cluster = load_sweep(
        ROOT / "params" / "sweeps" / "sensitivity_cluster.yml", notebook_dir=tmp_path
    ).plan()
    lengths = {c.values["window.length"] for c in cluster}
    assert min(lengths) == 6 and max(lengths) == 60 and len(cluster) == 216


def _write_sweep(folder: Path, text: str) -> Path:
    path = folder / "sweep.yml"
    path.write_text(text)
    return path


def test_bad_sweep_files_give_clear_errors(tmp_path):
    base = ROOT / "params" / "quick.yml"
    with pytest.raises(SweepError, match="unknown key 'gird'"):
        load_sweep(
            _write_sweep(tmp_path, f"base: {base}\nchapters: [02_preprocessing]\ngird: {{}}\n")
        )
    with pytest.raises(SweepError, match="base parameter file"):
        load_sweep(_write_sweep(tmp_path, "base: nowhere.yml\nchapters: [02_preprocessing]\n"))
    with pytest.raises(SweepError, match="chapter '09_missing'"):
        load_sweep(_write_sweep(tmp_path, f"base: {base}\nchapters: [09_missing]\n"))
    spec = load_sweep(
        _write_sweep(
            tmp_path,
            f"base: {base}\nchapters: [02_preprocessing]\n"
            "grid: {{window.length: [12, 1000]}}\n".replace("{{", "{").replace("}}", "}"),
        )
    )
    with pytest.raises(SweepError, match=r'combination \{"window.length":1000\}.*window.length'):
        spec.plan()


# ------------------------------------------------------------------------- a tiny sweep
@pytest.fixture()
def tiny_sweep(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_trivial.md").write_text(TRIVIAL_CHAPTER)
    path = _write_sweep(
        tmp_path,
        (
            f"base: {ROOT / 'params' / 'quick.yml'}\n"
            "chapters: [01_trivial]\n"
            "grid:\n  window.length: [6, 7, 12]\n  features: [[roi_window, dfc]]\n"
            "gather: {chapter: 01_trivial, records: scores}\n"
        ),
    )
    return load_sweep(path, notebook_dir=notebooks)


def _by_value(table: pd.DataFrame) -> pd.DataFrame:
    return (
        table.drop(columns="combination")
        .sort_values(["window.length", "features"])
        .reset_index(drop=True)
    )


def test_tiny_sweep_local_failure_resume_and_dask(tiny_sweep, tmp_path):
    out = tmp_path / "local"
    report = run_sweep(tiny_sweep, out, max_workers=2, progress=False)
    plan = {c.values["window.length"]: c.id for c in tiny_sweep.plan()}

    # the planted failure is reported with the chapter and the cell's error; the others are kept
    assert sorted(report.done) == sorted([plan[6], plan[12]])
    assert list(report.failed) == [plan[7]]
    assert "01_trivial" in report.failed[plan[7]] and "planted failure" in report.failed[plan[7]]
    error = json.loads((out / plan[7] / ERROR_FILE).read_text())
    assert error["chapter"] == "01_trivial" and "RuntimeError" in error["message"]
    assert json.loads((out / "failures.json").read_text()) == report.failed

    # each combination has its own folder, overrides, executed notebook and results
    for length in (6, 12):
        folder = out / plan[length]
        assert json.loads((folder / "overrides.json").read_text())["window"]["length"] == length
        assert (folder / "notebooks" / "01_trivial.ipynb").is_file()
        assert (folder / DONE_FILE).is_file()

    # the tidy table: one row per (combination, record), swept values as columns
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 4 and set(table["window.length"]) == {6, 12}
    assert {"combination", "swept_features", "model", "features", "cv", "emotion", "r"} <= set(
        table.columns
    )
    assert set(table["swept_features"]) == {"roi_window+dfc"}
    for _, row in table.iterrows():
        assert row["r"] == pytest.approx(
            row["window.length"] / 100 + (0.5 if row["features"] == "dfc" else 0)
        )

    # an interrupted sweep resumes: finished combinations are skipped, unfinished ones run again;
    # folder names depend on the values only, so a narrowed grid still finds the finished ones
    (out / plan[12] / DONE_FILE).unlink()
    (out / plan[12] / "results" / "01_trivial.json").write_text("{half written")
    tiny_sweep.grid["window.length"] = [6, 12]
    resumed = run_sweep(tiny_sweep, out, max_workers=2, progress=False)
    assert resumed.skipped == [plan[6]] and resumed.done == [plan[12]] and not resumed.failed
    pd.testing.assert_frame_equal(_by_value(pd.read_csv(out / "results.csv")), _by_value(table))

    # the same sweep on a Dask cluster gives the same table
    distributed = pytest.importorskip("dask.distributed")
    with socket.socket() as probe:  # a loopback interface is all LocalCluster needs
        probe.bind(("127.0.0.1", 0))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        on_dask = run_sweep(
            tiny_sweep, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert sorted(on_dask.done) == sorted([plan[6], plan[12]]) and not on_dask.failed
    assert {json.loads((tmp_path / "dask" / plan[6] / DONE_FILE).read_text())["id"]} == {plan[6]}
    pd.testing.assert_frame_equal(_by_value(gather(tmp_path / "dask")), _by_value(table))


def test_gather_needs_a_sweep_folder(tmp_path):
    with pytest.raises(SweepError, match="not a sweep folder"):
        gather(tmp_path)


# ------------------------------------------------------------------- direct sensitivity
def _coded_data(effect: str, n_subjects: int = 6, seed: int = 0):
    """ROI signals where emotion e drives the coupling (or the level) of ROIs 2e and 2e+1."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((N_VOLUMES + 80, len(EMOTIONS)))
    kernel = np.exp(-0.5 * (np.arange(-40, 41) / 10.0) ** 2)
    smooth = np.stack(
        [np.convolve(raw[:, k], kernel, mode="same") for k in range(len(EMOTIONS))], 1
    )[40:-40]
    emotions = (smooth - smooth.min(0)) / (smooth.max(0) - smooth.min(0))
    n_rois = 2 * len(EMOTIONS) + 4
    series = {}
    for s in range(n_subjects):
        x = rng.standard_normal((N_VOLUMES, n_rois))
        for e in range(len(EMOTIONS)):
            if effect == "connectivity":
                shared = 2.0 * np.sqrt(emotions[:, e]) * rng.standard_normal(N_VOLUMES)
                x[:, 2 * e] += shared
                x[:, 2 * e + 1] += shared
            else:
                x[:, 2 * e] += 1.5 * (emotions[:, e] - emotions[:, e].mean()) / emotions[:, e].std()
        series[f"sub-{s + 1:02d}"] = x.astype(np.float32)
    atlas = SimpleNamespace(labels=[f"roi{k}" for k in range(n_rois)], networks=["net"] * n_rois)
    roi = SimpleNamespace(timeseries=series, atlas=atlas, stimulus_onset=0.0, runs=[])
    return roi, pd.DataFrame(emotions, columns=list(EMOTIONS))


@pytest.mark.parametrize(
    "effect, expected", [("connectivity", "DFC > ROI"), ("amplitude", "ROI > DFC")]
)
def test_sensitivity_scores_recover_the_planted_coding(monkeypatch, effect, expected):
    roi, targets = _coded_data(effect)
    calls = []
    monkeypatch.setattr(
        "helpers.decoding.sensitivity.roi_timeseries",
        lambda params, progress=True: calls.append(1) or roi,
    )
    monkeypatch.setattr("helpers.decoding.sensitivity.run_targets", lambda params, roi: targets)
    params = load_params(ROOT / "params" / "quick.yml", {"subjects": 6})
    sweep = SweepParams(
        grid={"window.length": [16, 200]},
        combinations=[{"window.length": 16, "window.shape": "tapered"}],
        fixed={"window.step": 6},
        models=["cpm"],
        cv=["loso_blocked", "loso"],
    )
    table = sensitivity_scores(params, sweep, n_permutations=100, progress=False)
    assert len(table) == 6 and len(calls) == 1  # ROI signals are loaded once for the whole grid
    assert set(table.query("cv == 'loso'")["verdict"]) <= {"lesson (leaky split)", "not testable"}
    table = table.query("cv == 'loso_blocked'")
    assert list(table["window.shape"]) == ["rectangular", "rectangular", "tapered"]
    assert {"r_dfc", "r_roi", "delta_r", "ci_low", "ci_high", "p_value", "verdict"} <= set(
        table.columns
    )
    for _, row in table[table["window.length"] == 16].iterrows():
        assert row["verdict"] == expected and row["p_value"] < 0.05, row.to_dict()
        assert row["ci_low"] <= row["delta_r"] <= row["ci_high"]
        assert row["delta_r"] == pytest.approx(row["r_dfc"] - row["r_roi"])
        assert row["n_subjects"] == 6


def test_sensitivity_scores_mark_untestable_combinations_and_reject_looped_keys(monkeypatch):
    roi, targets = _coded_data("connectivity", n_subjects=3)
    monkeypatch.setattr(
        "helpers.decoding.sensitivity.roi_timeseries", lambda params, progress=True: roi
    )
    monkeypatch.setattr("helpers.decoding.sensitivity.run_targets", lambda params, roi: targets)
    params = load_params(ROOT / "params" / "quick.yml", {"subjects": 3})
    sweep = SweepParams(
        grid={"window.length": [150]},
        combinations=[],
        fixed={"window.step": 10, "cv_options.n_blocks": 5, "cv_options.subjects_per_fold": 1},
        models=["ridge"],
        cv=["loso_blocked"],
    )
    table = sensitivity_scores(params, sweep, progress=False)
    assert table.loc[0, "verdict"] == "not testable" and "purge gap" in table.loc[0, "error"]
    with pytest.raises(SweepError, match="'models'"):
        sensitivity_scores(params, SweepParams(grid={"models": [["ridge"]]}), progress=False)


def test_one_verdict_rule_that_can_abstain():
    labels = VerdictLabels("DFC > ROI", "ROI > DFC", "no difference")
    assert verdict(0.1, 0.01, labels) == "DFC > ROI"
    assert verdict(-0.1, 0.01, labels) == "ROI > DFC"
    assert verdict(0.1, 0.2, labels) == "no difference"  # not significant
    assert verdict(0.1, 0.01, labels, interval=(-0.01, 0.2)) == "no difference"  # covers 0
    assert verdict(0.1, 0.01, labels, interval=(0.01, 0.2)) == "DFC > ROI"
    assert verdict(0.1, None, labels) == "no difference"  # no test, no verdict


def test_a_killed_sweep_leaves_no_combination_or_kernel_running(tmp_path):
    psutil = pytest.importorskip("psutil")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    waits = "import time\ntime.sleep(120)\nfrom helpers.config import load_params"
    (notebooks / "01_trivial.md").write_text(
        TRIVIAL_CHAPTER.replace("from helpers.config import load_params", waits)
    )
    path = _write_sweep(
        tmp_path,
        f"base: {ROOT / 'params' / 'quick.yml'}\nchapters: [01_trivial]\n"
        "grid:\n  window.length: [6, 12]\ngather: {chapter: 01_trivial, records: scores}\n",
    )
    code = (
        "from pathlib import Path\n"
        "from book_runner.sweep.runner import run_sweep\n"
        "from book_runner.sweep.spec import load_sweep\n"
        f"spec = load_sweep(Path({str(path)!r}), notebook_dir=Path({str(notebooks)!r}))\n"
        f"run_sweep(spec, Path({str(tmp_path / 'out')!r}), max_workers=2, progress=False)\n"
    )
    sweep = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    try:
        deadline, kernels, descendants = time.monotonic() + 180, [], []
        while time.monotonic() < deadline and len(kernels) < 2:
            descendants = psutil.Process(sweep.pid).children(recursive=True)
            kernels = [p for p in descendants if "ipykernel" in " ".join(p.cmdline())]
            time.sleep(0.3)
        assert len(kernels) == 2, "both combinations should be running their chapter"
        sweep.kill()  # SIGKILL: no handler of the sweep runs
        sweep.wait(timeout=30)
        _, alive = psutil.wait_procs(descendants, timeout=20)
        assert not alive, f"left running after the sweep was killed: {alive}"
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
