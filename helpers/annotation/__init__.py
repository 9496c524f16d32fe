"""Annotators that score story segments on Plutchik's eight emotions.

:func:`annotate` is the one entry point the chapters use: it picks the annotator named by
``annotation.annotator`` (``reference``, ``lexicon`` or ``llm``), gives it the segments of the
chosen segmentation placed on the audio, and caches the result in a folder keyed by everything
that can change it, so a re-run reads the table instead of scoring again.

The returned :class:`Annotation` has one row per segment: the eight emotion columns, plus
``onset``/``offset`` (seconds of the audio) and ``text``. :func:`emotion_scores` and
:func:`segment_times` pick those parts out.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

import numpy as np
import pandas as pd

from helpers.annotation.base import Annotation, Segment
from helpers.annotation.rating_cache import endpoint_id
from helpers.data.stimulus import load_segments
from helpers.data.storage import (
    CorruptCacheError,
    atomic_write_json,
    digest_of,
    discard_corrupt,
    step_dir,
)
from helpers.study import EMOTIONS

__all__ = [
    "ANNOTATORS",
    "Annotation",
    "IncompleteAnnotationError",
    "Segment",
    "annotate",
    "annotation_cache_key",
    "annotation_segments",
    "emotion_scores",
    "llm_available",
    "make_annotator",
    "require_every_segment",
    "segment_times",
]

ANNOTATORS = ("reference", "lexicon", "llm")
CACHE_VERSION = 1
"""Bump when the way annotations are computed changes, so old cached tables are not reused."""

_ANNOTATION_FILE = "annotation.json"
_LLM_SETTINGS_NOT_IN_RESULT = frozenset(
    {"max_concurrency", "max_retries", "timeout_s", "backoff_s", "local_startup_timeout_s"}
)
"""LLM settings that change how fast or how robustly answers arrive, not what they are."""


def _annotator_name(params: Any, name: str | None) -> str:
    chosen = params.annotation.annotator if name is None else name
    if chosen not in ANNOTATORS:
        raise ValueError(f"unknown annotator {chosen!r}; allowed: {', '.join(ANNOTATORS)}")
    return chosen


def effective_segmentation(params: Any, name: str | None = None) -> str:
    """The segmentation an annotator works on: the published labels exist only for the paper's."""
    return (
        "paper" if _annotator_name(params, name) == "reference" else params.annotation.segmentation
    )


def annotation_segments(params: Any, name: str | None = None):
    """Segments (with audio times) and alignment report for the chosen annotator."""
    return load_segments(effective_segmentation(params, name))


def make_annotator(
    params: Any, name: str | None = None, cache_dir: str | os.PathLike | None = None
):
    """The annotator named by ``annotation.annotator`` (or ``name``), configured from ``params``.

    Each annotator is imported only when asked for: the ``llm`` one loads the ``openai`` client
    (over a second), which the offline annotators never need.
    """
    chosen = _annotator_name(params, name)
    # Deferred imports: see the docstring.
    if chosen == "reference":
        from helpers.annotation.reference import ReferenceAnnotator

        return ReferenceAnnotator()
    if chosen == "lexicon":
        from helpers.annotation.lexicon import LexiconAnnotator

        return LexiconAnnotator(smoothing=params.annotation.lexicon_smoothing)
    from helpers.annotation.llm import LLMAnnotator

    return LLMAnnotator(params.llm, cache_dir=cache_dir)


def annotation_cache_key(params: Any, name: str | None, segments: list[Segment]) -> dict[str, Any]:
    """Everything that changes an annotation: annotator, its settings and the segments themselves.

    The key is written next to the cached table (``key.json``), so an LLM endpoint enters it by
    its identity (public URL, or the local model), never with credentials from ``llm.base_url``.
    """
    chosen = _annotator_name(params, name)
    key: dict[str, Any] = {
        "version": CACHE_VERSION,
        "annotator": chosen,
        "segmentation": effective_segmentation(params, chosen),
        "segments": digest_of([[s.text, round(s.onset, 4), round(s.offset, 4)] for s in segments]),
    }
    if chosen == "lexicon":
        key["lexicon_smoothing"] = params.annotation.lexicon_smoothing
    if chosen == "llm":
        settings = params.llm.model_dump(mode="json", exclude={"base_url"})
        key["llm"] = {k: v for k, v in settings.items() if k not in _LLM_SETTINGS_NOT_IN_RESULT}
        key["llm"]["endpoint"] = endpoint_id(params.llm)
    return key


def _cache_folder(params: Any, name: str | None, segments: list[Segment]):
    return step_dir("annotation", annotation_cache_key(params, name, segments))


def llm_available(params: Any) -> bool:
    """True when an ``llm`` annotation can be shown: it is cached (as a table or as every request
    it needs), or an endpoint is configured (``llm.base_url``, ``OPENAI_BASE_URL`` or
    ``OPENAI_API_KEY``; for ``llm.server: local``, the llama.cpp server package is installed).
    Makes no network request.
    """
    segments, _ = annotation_segments(params, "llm")
    if (_cache_folder(params, "llm", segments) / _ANNOTATION_FILE).is_file():
        return True
    try:  # deferred: loads the openai client, which an offline run may not need
        from helpers.annotation.llm import has_llm_results
    except ImportError:
        return False
    if has_llm_results(params.llm, segments):
        return True
    if params.llm.server == "local":
        return importlib.util.find_spec("llama_cpp") is not None
    return bool(
        params.llm.base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")
    )


def _with_segment_columns(annotation: Annotation, segments: list[Segment]) -> Annotation:
    """Add onset, offset and text to an annotator's scores, unless it set its own times.

    Rows are matched to segments by segment index; an annotator may score only the first
    segments (``llm.max_segments``), and the table then covers those.
    """
    scores = annotation.scores.copy()
    by_index = {s.index: s for s in segments}
    unknown = [i for i in scores.index if i not in by_index]
    if unknown or scores.index.has_duplicates:
        raise ValueError(
            f"the annotator returned rows for segments {unknown[:5] or 'twice the same'} that do "
            f"not match the {len(segments)} segments it was given; one row per segment index needed"
        )
    rows = [by_index[i] for i in scores.index]
    for column, values in (
        ("onset", [s.onset for s in rows]),
        ("offset", [s.offset for s in rows]),
        ("text", [s.text for s in rows]),
    ):
        if column not in scores.columns:
            scores[column] = values
    scores.index = pd.Index([s.index for s in rows], name="segment")
    return Annotation(scores=scores, provenance=dict(annotation.provenance))


def _save(folder, annotation: Annotation) -> None:
    provenance = json.loads(json.dumps(annotation.provenance, default=str))
    payload = {"scores": annotation.scores.to_dict(orient="split"), "provenance": provenance}
    atomic_write_json(folder / _ANNOTATION_FILE, payload)


def _load(folder) -> Annotation | None:
    """The cached annotation, or ``None`` when there is none or it is damaged (then named and
    removed, so the annotation is made again: an LLM's answers still come from its own cache)."""
    path = folder / _ANNOTATION_FILE
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        split = payload["scores"]
        scores = pd.DataFrame(split["data"], columns=split["columns"])
        scores.index = pd.Index(split["index"], name="segment")
        provenance = dict(payload["provenance"])
        missing = [e for e in EMOTIONS if e not in scores.columns]
        if missing or scores.empty:
            raise ValueError(f"no scores for {', '.join(missing) or 'any segment'}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        reason = f"unreadable annotation: {type(exc).__name__}: {exc}"
        discard_corrupt(CorruptCacheError(path, reason[:200]))
        return None
    return Annotation(scores=scores, provenance=provenance)


def annotate(params: Any, name: str | None = None, *, use_cache: bool = True) -> Annotation:
    """Score the story with the chosen annotator; cached under the data home, keyed by parameters.

    ``name`` overrides ``annotation.annotator`` (the chapter runs several annotators side by side).

    Parameters
    ----------
    params : Params
        The run's parameters (``params.annotation`` chooses the annotator and segmentation).
    name : str, optional
        An annotator to use instead of ``params.annotation.annotator``.
    use_cache : bool, optional
        Reuse a cached annotation when there is one; False always scores afresh (and re-caches).

    Returns
    -------
    Annotation
        ``scores`` (n_segments rows: the 8 emotions plus ``onset``/``offset`` in s of the audio)
        and ``provenance`` (annotator, segmentation, alignment report).
    """
    segments, report = annotation_segments(params, name)
    folder = _cache_folder(params, name, segments)
    if use_cache:
        cached = _load(folder)
        if cached is not None:
            return cached
    annotator = make_annotator(params, name)
    annotation = _with_segment_columns(annotator.annotate(segments), segments)
    annotation.provenance.setdefault("annotator", _annotator_name(params, name))
    annotation.provenance["segmentation"] = effective_segmentation(params, name)
    annotation.provenance["alignment"] = report.as_dict()
    _save(folder, annotation)
    return annotation


class IncompleteAnnotationError(ValueError):
    """An annotation leaves segments unrated, so targets built from it would be zero there."""


def require_every_segment(params: Any, annotation: Annotation) -> None:
    """Refuse an annotation that does not rate every segment of the story.

    Regression targets hold each segment's scores over its stretch of the audio; a segment without
    scores would silently become zero targets. A partial ``llm`` run (``llm.max_segments``) is
    still fine for comparing annotators on the segments it rated, as chapter 1 does.
    """
    segments, _ = annotation_segments(params)
    rated = set(annotation.scores.index)
    missing = [s.index for s in segments if s.index not in rated]
    if not missing:
        return
    name = annotation.provenance.get("annotator", params.annotation.annotator)
    if name == "llm" and params.llm.max_segments is not None:
        fix = (
            f"remove llm.max_segments (now {params.llm.max_segments}) or set it to at least "
            f"{len(segments)}; a partial llm run can only be compared with other annotators"
        )
    else:
        fix = "annotate every segment before building targets"
    raise IncompleteAnnotationError(
        f"the {name} annotation rates {len(segments) - len(missing)} of {len(segments)} segments "
        f"(none from segment {missing[0]} on), so regression targets would be zero there: {fix}"
    )


def emotion_scores(annotation: Annotation) -> pd.DataFrame:
    """The segments x 8 emotions table of an annotation, as floats.

    Parameters
    ----------
    annotation : Annotation
        An annotation whose ``scores`` have the 8 :data:`EMOTIONS` columns.

    Returns
    -------
    pandas.DataFrame
        (n_segments, 8) float scores, columns in the order of :data:`EMOTIONS`.
    """
    return annotation.scores[list(EMOTIONS)].astype(float)


def segment_times(annotation: Annotation) -> tuple[np.ndarray, np.ndarray]:
    """Onset and offset (s of the audio) of each annotated segment.

    Parameters
    ----------
    annotation : Annotation
        An annotation whose ``scores`` have ``onset`` and ``offset`` columns.

    Returns
    -------
    onsets, offsets : numpy.ndarray
        (n_segments,) each, in seconds of the audio.
    """
    for column in ("onset", "offset"):
        if column not in annotation.scores.columns:
            raise ValueError(
                f"the annotation has no {column!r} column; produce it with helpers.annotation.annotate"
            )
    return (
        annotation.scores["onset"].to_numpy(dtype=float),
        annotation.scores["offset"].to_numpy(dtype=float),
    )
