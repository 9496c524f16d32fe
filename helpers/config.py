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

from pydantic import Field, ValidationError, field_validator, model_validator

from helpers.cv_limits import blocked_folds_fit, purge_gap, subject_groups_count, window_start_count
from helpers.parameter_files import (
    OVERRIDES_EXAMPLE,
    ParameterError,
    deep_merge,
    describe_validation_error,
    parse_overrides,
    read_yaml_mapping,
    read_yaml_with_base,
)
from helpers.parameter_grid import SweepError, expand_dotted, expand_grid
from helpers.parameter_sections import (
    ATLASES,
    CV_SCHEMES,
    FEATURE_SETS,
    MODELS,
    AnnotationParams,
    CalibrationParams,
    CVParams,
    ExplainParams,
    LLMParams,
    PreprocessingParams,
    SimulationParams,
    SweepParams,
    WindowParams,
    _Section,
    check_model_names,
)
from helpers.study import (
    DS002322_SUBJECTS,
    DS002322_SUBJECTS_WITH_DERIVATIVES,
    N_VOLUMES,
    NO_DERIVATIVES,
)

__all__ = [
    "ATLASES",
    "AnnotationParams",
    "CVParams",
    "CalibrationParams",
    "ExplainParams",
    "LLMParams",
    "PreprocessingParams",
    "SimulationParams",
    "SweepParams",
    "WindowParams",
    "CV_SCHEMES",
    "FEATURE_SETS",
    "MODELS",
    "OVERRIDES_EXAMPLE",
    "ParameterError",
    "Params",
    "check_model_names",
    "check_subject_groups",
    "check_sweep_grid",
    "check_window_fits_cross_validation",
    "deep_merge",
    "load_params",
    "normalise_subject_id",
    "params_from_dict",
    "parse_overrides",
    "read_yaml_mapping",
]


EXECUTION_ONLY_KEYS = (("cv_options", "scheduler"),)
"""Parameters that change where the work runs, never its results: kept out of digests."""


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
    null_method: Literal["phase_randomization", "circular_shift"] = "phase_randomization"
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
                f"({N_VOLUMES} volumes); use a window between 3 and {N_VOLUMES - 1} TR"
            )
        return self

    def _subject_pool(self) -> tuple[str, ...]:
        return (
            DS002322_SUBJECTS if self.dataset == "simulated" else DS002322_SUBJECTS_WITH_DERIVATIVES
        )

    # ------------------------------------------------------------------ helpers
    def subject_ids(self) -> list[str]:
        """The subjects of this run as BIDS IDs (``'sub-18'``...).

        Returns
        -------
        list of str
            The subject IDs, in the order of ``subjects`` (a list) or of the subject pool (a count).
        """
        if isinstance(self.subjects, list):
            return list(self.subjects)
        return list(self._subject_pool()[: self.subjects])

    def section(self, *names: str) -> dict[str, Any]:
        """The named top-level keys as a plain dict, e.g. to key a cache folder.

        Keys that say where the work runs, not what it computes (``cv_options.scheduler``), are
        left out: a run on a cluster has the same results, caches and digest as a local one.
        """
        dumped = self.model_dump(mode="json")
        for section, key in EXECUTION_ONLY_KEYS:
            dumped.get(section, {}).pop(key, None)
        return {name: dumped[name] for name in names or dumped}

    def digest(self, *names: str) -> str:
        """A short stable hash of the named keys (all keys when none are named)."""
        payload = self.section(*names)
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


def check_subject_groups(params: Params, source: str = "parameters") -> None:
    """Raise :class:`ParameterError` when leave-subject-out would have fewer than 2 subject groups.

    Chapter 04 always runs the blocked leave-subject-out scheme, and the calibration runs it on its
    own number of subjects, so both are checked when the parameters load instead of in chapter 04.
    """
    per_fold = params.cv_options.subjects_per_fold
    designs = (
        ("subjects", len(params.subject_ids())),
        ("calibration.subjects", params.calibration.subjects),
    )
    for key, n_subjects in designs:
        if subject_groups_count(n_subjects, per_fold) >= 2:
            continue
        fix = (
            f"use cv_options.subjects_per_fold of at most {n_subjects - 1}"
            if n_subjects >= 2
            else "use at least 2 subjects"
        )
        raise ParameterError(
            f"{source}: {key} = {n_subjects} with cv_options.subjects_per_fold = {per_fold} "
            f"leaves {subject_groups_count(n_subjects, per_fold)} subject group; leave-subject-out "
            f"needs at least 2 (one to test, one to train): {fix}"
        )


def check_sweep_grid(params: Params, source: str = "parameters") -> None:
    """Validate every parameter set of the sensitivity chapter's grid (``sweep.grid``) now.

    Each combination is the run's parameters with ``sweep.fixed`` and the combination's dotted keys
    applied, as chapter 07 builds them; a misspelt key or a bad value is named here rather than
    after six chapters. A window too long for blocked folds is not an error: the chapter reports
    it as "not testable".
    """
    sweep = params.sweep
    try:
        combinations = expand_grid(sweep.grid, sweep.combinations)
        base = deep_merge(params.model_dump(mode="json"), expand_dotted(dict(sweep.fixed)))
        for values in combinations:
            text = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "the base parameters"
            where = f"combination {text}"
            combination = params_from_dict(deep_merge(base, expand_dotted(values)), source=where)
            check_subject_groups(combination, source=where)
    except (SweepError, ParameterError) as exc:
        raise ParameterError(f"{source}: sweep.grid: {exc}") from None


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


def load_params(
    path: str | Path,
    overrides: Mapping[str, Any] | str | None = None,
    overrides_source: str = "overrides",
) -> Params:
    """Read and validate a YAML parameter file, optionally with nested ``overrides`` applied.

    A file may name another with ``base: other.yml`` (relative to itself) and override some keys.
    ``overrides`` is a mapping or its JSON/YAML text, nested or with dotted keys (see
    :func:`parse_overrides`); an error they cause is blamed on ``overrides_source`` (``--set``),
    not on the file. Beyond the schema, the window must leave room for blocked cross-validation
    (:func:`check_window_fits_cross_validation`), leave-subject-out must have two subject groups
    (:func:`check_subject_groups`) and every combination of ``sweep.grid`` must be valid
    (:func:`check_sweep_grid`).

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML parameter file.
    overrides : mapping or str, optional
        Changes applied on top of the file, as a mapping or JSON/YAML text.
    overrides_source : str, optional
        What errors caused by ``overrides`` are attributed to.

    Returns
    -------
    Params
        The validated parameters.

    Raises
    ------
    ParameterError
        When the file is missing or the merged parameters are not valid.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            f"parameter file {path} does not exist; pick one of params/*.yml or give a full path"
        )
    changes = parse_overrides(overrides, source=overrides_source)
    raw = read_yaml_with_base(path)
    try:
        params = _checked(deep_merge(raw, changes), str(path))
    except ParameterError as exc:
        if not changes:
            raise
        _checked(raw, str(path))  # the file alone fails too: the file is to blame
        reason = str(exc).removeprefix(f"{path}: ")
        raise ParameterError(f"{overrides_source} (on {path}): {reason}") from None
    return params


def _checked(raw: dict[str, Any], source: str) -> Params:
    """Validate a parameter mapping and everything a chapter will need of it."""
    params = params_from_dict(raw, source=source)
    check_window_fits_cross_validation(params, source=source)
    check_subject_groups(params, source=source)
    check_sweep_grid(params, source=source)
    return params
