"""The sections of a parameter set, one pydantic model each, and the names they allow.

:class:`helpers.config.Params` assembles them; each section validates its own keys so that a typo
or an impossible value stops the run with one line naming the key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpers.registry import model_names

ATLASES = ("seitzman300", "schaefer400", "dosenbach160")
MODELS = model_names()
"""The models a parameter file may name, from :mod:`helpers.registry`."""
FEATURE_SETS = ("roi", "roi_window", "dfc", "dfc_networks")
CV_SCHEMES = ("random", "loso", "loso_blocked")


def check_model_names(value: list[str]) -> list[str]:
    """A non-empty list of known model names, or a ValueError naming the first unknown one."""
    allowed = model_names()
    unknown = [m for m in value if m not in allowed]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; allowed: {', '.join(allowed)}")
    if not value:
        raise ValueError(f"give at least one model; allowed: {', '.join(allowed)}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class SimulationParams(_Section):
    """Knobs of the embedded simulated dataset (ignored for real data).

    ``effect`` says where the code sits (amplitude, connectivity, both, or nowhere: a null
    dataset); ``account`` says which regions carry it: ``locationist`` (the default: each emotion
    its own module, no ROI shared between emotions) or ``constructionist`` (one pool of ROIs in
    domain-general networks carries every emotion, each with its own pattern of weights).
    ``grid`` says where the images are written: ``mni152`` (nilearn's MNI152 mask at
    ``resolution_mm``) or ``spm_derivatives``, the real SPM8 derivatives' own grid (79 x 95 x 68
    voxels of 2 mm, so ``resolution_mm: 2``), to rehearse the real run's image sizes.
    """

    effect: Literal["connectivity", "amplitude", "both", "none"] = "connectivity"
    account: Literal["locationist", "constructionist"] = "locationist"
    snr: float = Field(3.0, ge=0.0, le=100.0)
    seed: int = 0
    grid: Literal["mni152", "spm_derivatives"] = "mni152"
    resolution_mm: Literal[2, 3, 4, 5, 6] = 4
    module_size: int = Field(6, ge=2, le=30)
    rois_per_emotion: int = Field(4, ge=1, le=50)

    @model_validator(mode="after")
    def _grid_has_this_resolution(self) -> SimulationParams:
        if self.grid == "spm_derivatives" and self.resolution_mm != 2:
            raise ValueError(
                f"simulation.grid: spm_derivatives is the SPM derivatives' 2 mm grid "
                f"(79 x 95 x 68 voxels), not {self.resolution_mm} mm: set "
                "simulation.resolution_mm: 2, or use grid: mni152 for 2-6 mm"
            )
        return self


class PreprocessingParams(_Section):
    """Options handed to the nilearn masker that turns BOLD images into ROI time series."""

    detrend: bool = True
    standardize: Literal["zscore_sample", "zscore", "psc", "none"] = "zscore_sample"
    high_pass: float | None = Field(0.008, ge=0.0, le=0.25)
    low_pass: float | None = Field(None, ge=0.0, le=0.25)
    smoothing_fwhm: float | None = Field(None, ge=0.0, le=20.0)
    sphere_radius_mm: float | None = Field(None, gt=0.0, le=20.0)
    confounds: Literal["none", "global_signal"] = "none"

    @model_validator(mode="after")
    def _band_is_ordered(self) -> PreprocessingParams:
        if (
            self.high_pass is not None
            and self.low_pass is not None
            and self.low_pass <= self.high_pass
        ):
            raise ValueError(
                f"preprocessing.low_pass ({self.low_pass}) must be above "
                f"preprocessing.high_pass ({self.high_pass})"
            )
        return self


class LLMParams(_Section):
    """An OpenAI-compatible chat endpoint. The key is read from OPENAI_API_KEY, never from here."""

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    server: Literal["remote", "local"] = "remote"
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    n_samples: int = Field(1, ge=1, le=20)
    max_concurrency: int = Field(4, ge=1, le=64)
    max_retries: int = Field(4, ge=0, le=20)
    timeout_s: float = Field(60.0, gt=0.0)
    context: Literal["previous", "cumulative", "none"] = "previous"
    context_size: int = Field(3, ge=0, le=200)
    out_of_range: Literal["clamp", "reject"] = "clamp"
    max_clamped_share: float = Field(0.05, ge=0.0, le=1.0)
    max_tokens: int = Field(256, ge=16, le=8192)
    backoff_s: float = Field(1.0, ge=0.0, le=60.0)
    max_segments: int | None = Field(None, ge=1)
    local_model: str | None = None
    local_n_ctx: int = Field(2048, ge=256, le=32768)
    local_startup_timeout_s: float = Field(180.0, gt=0.0)


class AnnotationParams(_Section):
    """How the story is cut into segments and scored on the eight emotions."""

    annotator: Literal["reference", "lexicon", "llm"] = "reference"
    segmentation: Literal["sentences", "paper"] = "sentences"
    lexicon_smoothing: int = Field(3, ge=1, le=50)
    hrf: Literal["spm", "glover"] = "spm"
    compare: list[Literal["reference", "lexicon", "llm"]] = ["reference", "lexicon", "llm"]


class WindowParams(_Section):
    """Sliding windows for dynamic functional connectivity."""

    length: int = Field(12, ge=3)
    step: int = Field(1, ge=1)
    shape: Literal["rectangular", "tapered"] = "rectangular"
    taper_sigma: float = Field(3.0, gt=0.0, le=100.0)
    anchors: Literal["tr", "paper"] = "tr"
    target: Literal["mean", "centre"] = "mean"

    @field_validator("length", mode="before")
    @classmethod
    def _length_correlates(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value < 3:
            raise ValueError(
                f"a window of {value} TR is too short: a correlation over 2 volumes is always "
                "+1 or -1; use at least 3 TR (the paper uses 12)"
            )
        return value

    @field_validator("step", mode="before")
    @classmethod
    def _step_positive(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"window.step must be at least 1 TR, got {value}")
        return value


class CVParams(_Section):
    """Details of the cross-validation schemes (see ``helpers.decoding.splits`` and ``helpers.decoding.models``).

    ``subjects_per_fold`` subjects are held out together; ``loso_blocked`` then has
    ``ceil(n_subjects / subjects_per_fold) * n_blocks`` folds with ``pairing: all`` (every subject
    tested on every block once) or ``ceil(n_subjects / subjects_per_fold)`` with ``pairing: rotation``.
    ``random_splits`` folds of the paper's random split are run (1 = its single 90/10 split).
    ``feature_scaling``: ``center`` centres features on each training fold (kernels then come from one
    Gram per feature set); ``standard`` also divides by the training standard deviation (one Gram per
    fold: exact StandardScaler, slower for 44,850 edges).
    ``refit_null_draws``: the null draws of the models without a shortcut (lasso, SVR, random
    forest, least squares), each one a full refit: 0 (the default) marks them descriptive (scores,
    no p-value); n > 0 tests them on the same design with n draws, p-values no smaller than
    1 / (n + 1). Kernel ridge, ridge and CPM always take every one of ``n_permutations``.
    """

    n_blocks: int = Field(5, ge=2, le=50)
    test_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    inner_splits: int = Field(3, ge=2, le=10)
    hrf_span_s: float = Field(16.0, ge=0.0, le=60.0)
    subjects_per_fold: int = Field(4, ge=1, le=26)
    pairing: Literal["all", "rotation"] = "all"
    random_splits: int = Field(1, ge=1, le=10)
    feature_scaling: Literal["standard", "center"] = "center"
    refit_null_draws: int = Field(0, ge=0, le=100_000)
    scheduler: str | None = Field(
        None,
        pattern=r"^(local|(tcp|tls|ucx|inproc)://\S+)$",
        description="send the outer folds to Dask: 'local' (a cluster of this machine's cores) "
        "or a scheduler address tcp://host:8786",
    )


class ExplainParams(_Section):
    """Graph explanations of the models.

    ``window_stride``: explanations use every k-th window of each subject (neighbouring windows
    overlap almost entirely). ``folds``: ``rotation`` tests each subject on one story block,
    ``all`` on every block (blocked LOSO only). ``n_repeats``: shuffles per permutation block.
    ``n_null_draws``: null target draws for the interpretation indices and random lesions of the
    same size per named lesion (at least 39 for a two-sided test to reach 0.05; the held-out
    patterns of kernel ridge and CPM get every draw from one fit). ``n_label_shuffles``: shuffles
    of network labels for the entropy null. ``feature_scaling``: scaling of the explained models (``cv`` follows
    ``cv_options.feature_scaling``); ``center`` keeps DFC patterns in Fisher-z units.
    """

    top_edge_fraction: float = Field(0.05, gt=0.0, le=1.0)
    n_repeats: int = Field(5, ge=1, le=200)
    n_null_draws: int = Field(200, ge=1, le=10_000)
    lesions: list[str] = ["amygdala", "Salience", "DefaultMode"]
    window_stride: int = Field(4, ge=1, le=50)
    folds: Literal["rotation", "all"] = "rotation"
    n_label_shuffles: int = Field(1000, ge=0, le=100_000)
    feature_scaling: Literal["standard", "center", "cv"] = "center"


class CalibrationParams(_Section):
    """Many small simulated datasets, at the ROI level, to measure the book's own tests.

    Each dataset is simulated with ``simulation.seed`` = ``first_seed`` + k on a cheaper design than
    the main run (``atlas``, ``subjects``, ``window_step``) so a dataset costs seconds; ``pairing``
    is the main run's ``all`` by default: with ``rotation`` (one block per subject group, few folds)
    the permutation tests were measured more anti-conservative than with ``all``, so calibrate the
    design the book uses (README, "Calibrating the book's own tests").
    ``datasets`` null and ``datasets`` planted datasets run in the book; the command line (``python
    -m book_runner calibrate``) runs as many as asked. ``snr_grid`` is the sensitivity chapter's
    power curve (connectivity coding). ``results_file``: where the calibration chapter looks for the
    command's full result (relative to the repository root), shown beside the in-book run when it
    was made with the same design.
    """

    datasets: int = Field(5, ge=1, le=10_000)
    first_seed: int = 1000
    atlas: Literal["seitzman300", "schaefer400", "dosenbach160"] = "dosenbach160"
    subjects: int = Field(6, ge=2, le=26)
    window_step: int = Field(4, ge=1, le=24)
    pairing: Literal["all", "rotation"] = "all"
    n_permutations: int = Field(200, ge=20, le=100_000)
    models: list[str] = ["ridge"]
    snr: float = Field(3.0, ge=0.0, le=100.0)
    snr_grid: list[float] = [0.0, 1.0, 2.0, 3.0, 4.0]
    results_file: str = "_build/calibration.json"

    @field_validator("models")
    @classmethod
    def _calibration_models_known(cls, value: list[str]) -> list[str]:
        return check_model_names(value)


class SweepParams(_Section):
    """Defaults for sensitivity sweeps.

    ``max_workers`` and ``scheduler`` drive ``python -m book_runner sweep`` (local parallel runs,
    or a Dask scheduler address). The other keys are the sensitivity chapter's direct grid: ``grid``
    maps dotted parameter keys (``window.length``, ``window.shape``, ``atlas``...) to the values to
    try (cartesian product), ``combinations`` adds single parameter sets to it, ``fixed`` holds
    dotted overrides applied to every combination (a coarser window step keeps the chapter fast),
    and every combination is scored with each of ``models`` under each of ``cv``, DFC against
    ``roi_features``.
    """

    max_workers: int = Field(2, ge=1, le=256)
    scheduler: str | None = None
    grid: dict[str, list[Any]] = {"window.length": [6, 12, 24]}
    combinations: list[dict[str, Any]] = [{"window.length": 12, "window.shape": "tapered"}]
    fixed: dict[str, Any] = {"window.step": 4, "cv_options.pairing": "rotation"}
    models: list[str] = ["cpm", "ridge"]
    cv: list[Literal["random", "loso", "loso_blocked"]] = ["loso_blocked", "loso", "random"]
    roi_features: Literal["roi", "roi_window"] = "roi_window"

    @field_validator("grid")
    @classmethod
    def _grid_lists(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, options in value.items():
            if not options:
                raise ValueError(f"sweep.grid[{key!r}] is empty; give at least one value to try")
        return value

    @field_validator("models")
    @classmethod
    def _sweep_models_known(cls, value: list[str]) -> list[str]:
        return check_model_names(value)
