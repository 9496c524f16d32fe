"""One typed parameter set drives every chapter.

A YAML file under ``params/`` is validated into :class:`Params`. Unknown keys and bad values stop
the run with a single line naming the key, the value and what is allowed, so a typo in a parameter
file never silently falls back to a default.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from helpers.cv_limits import blocked_folds_fit, purge_gap, window_start_count
from helpers.parameter_files import (
    OVERRIDES_EXAMPLE,
    ParameterError,
    deep_merge,
    describe_validation_error,
    parse_overrides,
    read_yaml_mapping,
    read_yaml_with_base,
)
from helpers.study import (
    DS002322_SUBJECTS,
    DS002322_SUBJECTS_WITH_DERIVATIVES,
    N_VOLUMES,
    NO_DERIVATIVES,
)

__all__ = [
    "ATLASES",
    "CV_SCHEMES",
    "FEATURE_SETS",
    "MODELS",
    "OVERRIDES_EXAMPLE",
    "ParameterError",
    "Params",
    "check_model_names",
    "check_window_fits_cross_validation",
    "deep_merge",
    "load_params",
    "normalise_subject_id",
    "params_from_dict",
    "parse_overrides",
    "read_yaml_mapping",
]


ATLASES = ("seitzman300", "schaefer400", "dosenbach160")
MODELS = (
    "linear",
    "ridge",
    "lasso",
    "elastic_net",
    "kernel_ridge_linear",
    "kernel_ridge_rbf",
    "svr_rbf",
    "svr_linear",
    "random_forest",
    "cpm",
    "ridge_screened",
)
FEATURE_SETS = ("roi", "roi_window", "dfc", "dfc_networks")
CV_SCHEMES = ("random", "loso", "loso_blocked")


def check_model_names(value: list[str]) -> list[str]:
    """A non-empty list of known model names, or a ValueError naming the first unknown one."""
    unknown = [m for m in value if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; allowed: {', '.join(MODELS)}")
    if not value:
        raise ValueError(f"give at least one model; allowed: {', '.join(MODELS)}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class SimulationParams(_Section):
    """Knobs of the embedded simulated dataset (ignored for real data)."""

    effect: Literal["connectivity", "amplitude", "both", "none"] = "connectivity"
    snr: float = Field(3.0, ge=0.0, le=100.0)
    seed: int = 0
    resolution_mm: Literal[3, 4, 5, 6] = 4
    module_size: int = Field(6, ge=2, le=30)
    rois_per_emotion: int = Field(4, ge=1, le=50)


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

    length: int = Field(12, ge=2)
    step: int = Field(1, ge=1)
    shape: Literal["rectangular", "tapered"] = "rectangular"
    taper_sigma: float = Field(3.0, gt=0.0, le=100.0)
    anchors: Literal["tr", "paper"] = "tr"
    target: Literal["mean", "centre"] = "mean"

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
    """

    n_blocks: int = Field(5, ge=2, le=50)
    test_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    inner_splits: int = Field(3, ge=2, le=10)
    hrf_span_s: float = Field(16.0, ge=0.0, le=60.0)
    subjects_per_fold: int = Field(4, ge=1, le=26)
    pairing: Literal["all", "rotation"] = "all"
    random_splits: int = Field(1, ge=1, le=10)
    feature_scaling: Literal["standard", "center"] = "center"


class ExplainParams(_Section):
    """Graph explanations of the models.

    ``window_stride``: explanations use every k-th window of each subject (neighbouring windows
    overlap almost entirely). ``folds``: ``rotation`` tests each subject on one story block,
    ``all`` on every block (blocked LOSO only). ``n_repeats``: shuffles per permutation block, null
    target draws and random lesions. ``n_label_shuffles``: shuffles of network labels for the
    entropy null. ``feature_scaling``: scaling of the explained models (``cv`` follows
    ``cv_options.feature_scaling``); ``center`` keeps DFC patterns in Fisher-z units.
    """

    top_edge_fraction: float = Field(0.05, gt=0.0, le=1.0)
    n_repeats: int = Field(5, ge=1, le=200)
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
    the permutation tests were measured anti-conservative (7.5% false positives per emotion for the
    oracle at alpha 0.05, against 4.5% with ``all``), so calibrate the design the book uses.
    ``datasets`` null and ``datasets`` planted datasets run in the book; the command line (``python
    -m helpers.book calibrate``) runs as many as asked. ``snr_grid`` is the sensitivity chapter's
    power curve (connectivity coding).
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

    @field_validator("models")
    @classmethod
    def _calibration_models_known(cls, value: list[str]) -> list[str]:
        return check_model_names(value)


class SweepParams(_Section):
    """Defaults for sensitivity sweeps.

    ``max_workers`` and ``scheduler`` drive ``python -m helpers.book sweep`` (local parallel runs,
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


class Params(_Section):
    """Everything a run of the book depends on."""

    dataset: Literal["simulated", "ds002322"] = "simulated"
    subjects: int | list[str] = 8
    bids_root: str | None = None
    atlas: Literal["seitzman300", "schaefer400", "dosenbach160"] = "seitzman300"
    seed: int = 0
    simulation: SimulationParams = SimulationParams()
    preprocessing: PreprocessingParams = PreprocessingParams()
    annotation: AnnotationParams = AnnotationParams()
    llm: LLMParams = LLMParams()
    window: WindowParams = WindowParams()
    features: list[Literal["roi", "roi_window", "dfc", "dfc_networks"]] = [
        "roi",
        "roi_window",
        "dfc",
    ]
    models: list[str] = ["ridge", "kernel_ridge_rbf", "svr_rbf"]
    cv: Literal["random", "loso", "loso_blocked"] = "loso_blocked"
    cv_options: CVParams = CVParams()
    n_permutations: int = Field(100, ge=0, le=100_000)
    null_method: Literal["circular_shift", "phase_randomization"] = "circular_shift"
    explain: ExplainParams = ExplainParams()
    sweep: SweepParams = SweepParams()
    calibration: CalibrationParams = CalibrationParams()

    @field_validator("subjects", mode="before")
    @classmethod
    def _subjects_valid(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, list)):
            # pydantic turns ValueError (not TypeError) into a validation error naming the key
            raise ValueError(
                f"give a subject count or a list of IDs like ['sub-18', 22], got {value!r}"
            )  # noqa: TRY004
        if isinstance(value, int):
            if not 1 <= value <= 26:
                raise ValueError(f"a subject count must be between 1 and 26, got {value}")
            return value
        if not value:
            raise ValueError("the subject list is empty; give at least one subject ID")
        normalised = [normalise_subject_id(s) for s in value]
        if len(set(normalised)) != len(normalised):
            raise ValueError(f"the subject list repeats an ID: {value}")
        return normalised

    @field_validator("models")
    @classmethod
    def _models_known(cls, value: list[str]) -> list[str]:
        return check_model_names(value)

    @field_validator("features")
    @classmethod
    def _features_given(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"give at least one feature set; allowed: {', '.join(FEATURE_SETS)}")
        return value

    @model_validator(mode="after")
    def _subjects_exist(self) -> Params:
        if isinstance(self.subjects, int):
            pool = self._subject_pool()
            if self.subjects > len(pool):
                raise ValueError(
                    f"subjects = {self.subjects} asks for more subjects than {self.dataset} has "
                    f"({len(pool)}); use a number up to {len(pool)}"
                )
            return self
        unknown = [s for s in self.subjects if s not in DS002322_SUBJECTS]
        if unknown:
            what = (
                "ds002322"
                if self.dataset == "ds002322"
                else "ds002322 (the simulated dataset uses its IDs)"
            )
            raise ValueError(
                f"subjects: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in {what}; "
                f"allowed: {', '.join(DS002322_SUBJECTS)}"
            )
        if self.dataset == "ds002322":
            without = [s for s in self.subjects if s in NO_DERIVATIVES]
            if without:
                raise ValueError(
                    f"subjects: {', '.join(without)} {'has' if len(without) == 1 else 'have'} no "
                    f"preprocessed BOLD in ds002322; remove {'it' if len(without) == 1 else 'them'} "
                    f"(without derivatives: {', '.join(NO_DERIVATIVES)})"
                )
        return self

    @model_validator(mode="after")
    def _window_fits_run(self) -> Params:
        window = self.window
        if window.length >= N_VOLUMES:
            raise ValueError(
                f"window.length = {window.length} TR is not shorter than the run "
                f"({N_VOLUMES} volumes); use a window between 2 and {N_VOLUMES - 1} TR"
            )
        return self

    def _subject_pool(self) -> tuple[str, ...]:
        return (
            DS002322_SUBJECTS if self.dataset == "simulated" else DS002322_SUBJECTS_WITH_DERIVATIVES
        )

    # ------------------------------------------------------------------ helpers
    def subject_ids(self) -> list[str]:
        """The subjects of this run as BIDS IDs (``'sub-18'``...)."""
        if isinstance(self.subjects, list):
            return list(self.subjects)
        return list(self._subject_pool()[: self.subjects])

    def section(self, *names: str) -> dict[str, Any]:
        """The named top-level keys as a plain dict, e.g. to key a cache folder."""
        dumped = self.model_dump(mode="json")
        return {name: dumped[name] for name in names}

    def digest(self, *names: str) -> str:
        """A short stable hash of the named keys (all keys when none are named)."""
        payload = self.section(*names) if names else self.model_dump(mode="json")
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_window_fits_cross_validation(params: Params, source: str = "parameters") -> None:
    """Raise :class:`ParameterError` naming ``window.length`` when blocked CV cannot be run.

    Every book run evaluates the honest blocked scheme, so a parameter file must leave each story
    block training windows beyond the purge gap. (Sensitivity grids skip this check on purpose: a
    combination that cannot be tested becomes a "not testable" row of the chapter's table.)
    """
    window, options = params.window, params.cv_options
    gap = purge_gap(window.length, options.hrf_span_s)
    if blocked_folds_fit(window.length, window.step, window.anchors, options.n_blocks, gap):
        return
    longest = next(
        (
            length
            for length in range(window.length - 1, 1, -1)
            if blocked_folds_fit(
                length,
                window.step,
                window.anchors,
                options.n_blocks,
                purge_gap(length, options.hrf_span_s),
            )
        ),
        None,
    )
    advice = f"use window.length of at most {longest} TR" if longest else "use a shorter window"
    starts = window_start_count(window.length, window.step, window.anchors)
    raise ParameterError(
        f"{source}: window.length = {window.length} TR (step {window.step}) leaves {starts} window "
        f"start(s) per subject: too few for cross-validation in cv_options.n_blocks = "
        f"{options.n_blocks} story blocks with a purge gap of {gap} TR (window + "
        f"{gap - window.length} TR of cv_options.hrf_span_s) on each side of a test block; "
        f"{advice}, another number of blocks or a shorter hrf_span_s"
    )


def normalise_subject_id(value: Any) -> str:
    """``18``, ``'18'`` and ``'sub-18'`` all mean ``'sub-18'``."""
    text = str(value).strip()
    text = text.removeprefix("sub-")
    if not text.isdigit():
        raise ValueError(f"subject ID {value!r} is not of the form 'sub-NN' or NN")
    return f"sub-{int(text):02d}"


def params_from_dict(raw: dict[str, Any], source: str = "parameters") -> Params:
    """Validate a dict into :class:`Params`, raising :class:`ParameterError` with one clear line."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParameterError(
            f"{source}: expected a mapping of keys to values, got {type(raw).__name__}"
        )
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ParameterError(f"{source}: {describe_validation_error(first)}{suffix}") from None


def load_params(path: str | Path, overrides: Mapping[str, Any] | str | None = None) -> Params:
    """Read and validate a YAML parameter file, optionally with nested ``overrides`` applied.

    A file may name another with ``base: other.yml`` (relative to itself) and override some keys.
    ``overrides`` is a mapping or its JSON/YAML text (see :func:`parse_overrides`). Beyond the
    schema, the window must leave room for blocked cross-validation
    (:func:`check_window_fits_cross_validation`).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            f"parameter file {path} does not exist; pick one of params/*.yml or give a full path"
        )
    changes = parse_overrides(overrides)
    raw = read_yaml_with_base(path)
    if changes:
        raw = deep_merge(raw, changes)
    params = params_from_dict(raw, source=str(path))
    check_window_fits_cross_validation(params, source=str(path))
    return params
