"""What the ``llm`` annotator asks and how it reads the answer: the prompt, the schema, the parser.

This is the part of the annotator a reader of chapter 1 looks at: the instructions a chat model
receives for each segment (:func:`build_messages`), the JSON schema its answer must follow
(:data:`EMOTION_SCHEMA`, sent as :func:`response_format_for` one of three structured-output modes),
and the tolerant reading of whatever comes back (:func:`parse_rating`), validated with pydantic.
Nothing here talks to a server; the robust client is :mod:`helpers.annotation.llm_client`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from helpers.study import EMOTIONS

__all__ = [
    "CONTEXT_MODES",
    "EMOTION_SCHEMA",
    "PROMPT_SHA",
    "PROMPT_VERSION",
    "RESPONSE_MODES",
    "SYSTEM_PROMPT",
    "EmotionRating",
    "MalformedRatingError",
    "build_messages",
    "context_for",
    "out_of_range",
    "parse_rating",
    "response_format_for",
]

PROMPT_VERSION = "emotion_rating_v1"
"""Name of the prompt file (``helpers/prompts/<PROMPT_VERSION>.md``); part of every cache key."""

RESPONSE_MODES: tuple[str, ...] = ("json_schema", "json_object", "text")
"""Structured-output modes, from the strictest to the most tolerant."""

CONTEXT_MODES: tuple[str, ...] = ("previous", "cumulative", "none")
"""What the model sees before a segment: a few previous segments, the story so far, or nothing."""

_PROMPT_SECTIONS_NEEDED = frozenset({"system", "user_previous", "user_cumulative", "user_none"})


def _read_prompt_sections(version: str) -> dict[str, str]:
    """Split a prompt file into its ``## name`` sections (text before the first one is a note)."""
    text = (resources.files("helpers") / "prompts" / f"{version}.md").read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        heading = re.fullmatch(r"##\s+(\w+)\s*", line)
        if heading:
            current = heading.group(1)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    parsed = {name: "\n".join(lines).strip() for name, lines in sections.items()}
    if not _PROMPT_SECTIONS_NEEDED <= parsed.keys():
        missing = sorted(_PROMPT_SECTIONS_NEEDED - parsed.keys())
        raise RuntimeError(f"prompt {version} lacks sections {missing}")
    return parsed


PROMPT_SECTIONS: dict[str, str] = _read_prompt_sections(PROMPT_VERSION)
SYSTEM_PROMPT: str = PROMPT_SECTIONS["system"]
"""The instructions the model receives before every segment."""
PROMPT_SHA: str = hashlib.sha256(
    json.dumps(PROMPT_SECTIONS, sort_keys=True).encode("utf-8")
).hexdigest()[:16]
"""Hash of the sent text of the prompt: an edit without a new version still changes cache keys."""

EMOTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {emotion: {"type": "number", "minimum": 0, "maximum": 1} for emotion in EMOTIONS},
    "required": list(EMOTIONS),
    "additionalProperties": False,
}
"""JSON schema of one answer: the eight emotions, each a number in [0, 1]."""


def response_format_for(mode: str) -> dict[str, Any] | None:
    """The ``response_format`` request field of a structured-output mode (None for plain text)."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "emotion_ratings", "strict": True, "schema": EMOTION_SCHEMA},
        }
    if mode == "json_object":
        # OpenAI ignores the extra "schema"; llama.cpp makes it a grammar that fixes the shape.
        return {"type": "json_object", "schema": EMOTION_SCHEMA}
    if mode == "text":
        return None
    raise ValueError(f"unknown response mode {mode!r}; allowed: {', '.join(RESPONSE_MODES)}")


def context_for(texts: Sequence[str], position: int, context: str, context_size: int) -> list[str]:
    """The texts shown before segment ``position``: the previous k, all so far, or none."""
    if context not in CONTEXT_MODES:
        raise ValueError(
            f"llm.context = {context!r} is not allowed; allowed: {', '.join(CONTEXT_MODES)}"
        )
    if context == "none" or position == 0:
        return []
    if context == "cumulative":
        return list(texts[:position])
    return list(texts[max(0, position - context_size) : position]) if context_size else []


def _one_line(text: str) -> str:
    return " ".join(text.split())


def build_messages(
    segment_text: str, context_texts: Sequence[str] = (), context: str = "previous"
) -> list[dict[str, str]]:
    """The chat messages that ask for the ratings of one segment.

    With ``context="cumulative"`` the model sees the whole story so far and is asked to rate its
    last sentence, as the paper's authors did; with ``"previous"`` it sees a few preceding segments.

    Parameters
    ----------
    segment_text : str
        The segment to rate.
    context_texts : sequence of str, optional
        The text shown before it (the preceding segments, or the story so far).
    context : {"previous", "cumulative", "none"}, optional
        Which prompt template frames the context.

    Returns
    -------
    list of dict
        Two messages, ``{"role": "system", ...}`` and ``{"role": "user", ...}``.
    """
    if context not in CONTEXT_MODES:
        raise ValueError(
            f"context = {context!r} is not allowed; allowed: {', '.join(CONTEXT_MODES)}"
        )
    joined = " ".join(_one_line(t) for t in context_texts)
    if not joined or context == "none":
        template = PROMPT_SECTIONS["user_none"]
    else:
        template = PROMPT_SECTIONS[f"user_{context}"]
    user = template.replace("{context}", joined).replace("{segment}", _one_line(segment_text))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- reading answers
class EmotionRating(BaseModel):
    """One answer of the model; extra keys (e.g. an explanation) are ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    anticipation: float
    joy: float
    trust: float
    fear: float
    surprise: float
    sadness: float
    disgust: float
    anger: float


class MalformedRatingError(ValueError):
    """An answer holds no usable JSON object with the eight emotions."""


_KEY_VALUE = re.compile(
    r"[\"']?\b("
    + "|".join(EMOTIONS)
    + r")\b[\"']?\s*[:=]\s*[\"']?(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)",
    re.IGNORECASE,
)


def _emotion_dict(candidate: Any) -> dict[str, Any] | None:
    """Lower-case the keys of a decoded object; look one level down (``{"emotions": {...}}``)."""
    if not isinstance(candidate, dict):
        return None
    lowered = {str(k).strip().lower(): v for k, v in candidate.items()}
    if any(e in lowered for e in EMOTIONS):
        return lowered
    for value in lowered.values():
        inner = _emotion_dict(value)
        if inner is not None:
            return inner
    return None


def _validated(candidate: dict[str, Any]) -> dict[str, float]:
    try:
        rating = EmotionRating.model_validate(candidate)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:3]
        )
        raise MalformedRatingError(
            f"the JSON object does not match the schema ({problems})"
        ) from None
    return {emotion: float(getattr(rating, emotion)) for emotion in EMOTIONS}


def parse_rating(content: str) -> tuple[dict[str, float], bool]:
    """The eight ratings in an answer, and whether they had to be dug out of prose.

    Strict JSON is tried first; then the first JSON object in the text that names an emotion
    (code fences and chatter around it are fine); then ``emotion: number`` pairs for all eight.
    Servers that ignore ``response_format`` answer in prose, so being tolerant here saves requests.

    Parameters
    ----------
    content : str
        The model's answer.

    Returns
    -------
    ratings : dict of str to float
        The eight validated ratings, by emotion.
    salvaged : bool
        True when the ratings were not the answer's strict JSON but were found in its text.

    Raises
    ------
    MalformedRatingError
        When the answer is empty or no set of eight ratings can be found.
    """
    text = (content or "").strip()
    if not text:
        raise MalformedRatingError("the answer is empty")
    try:
        candidate = _emotion_dict(json.loads(text))
    except json.JSONDecodeError:
        candidate = None
    if candidate is not None:
        return _validated(candidate), False
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            decoded, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        candidate = _emotion_dict(decoded)
        if candidate is not None:
            return _validated(candidate), True
    pairs = {m.group(1).lower(): m.group(2) for m in _KEY_VALUE.finditer(text)}
    if set(EMOTIONS) <= pairs.keys():
        return _validated(pairs), True
    raise MalformedRatingError("no JSON object with the eight emotions was found in the answer")


def out_of_range(raw: dict[str, float]) -> dict[str, float]:
    """The ratings that fall outside [0, 1] (to clamp and count, or to reject and ask again)."""
    return {e: v for e, v in raw.items() if not 0.0 <= v <= 1.0}
