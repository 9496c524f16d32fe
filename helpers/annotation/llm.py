"""The ``llm`` annotator: an OpenAI-compatible chat model rates each segment on the eight emotions.

Works against OpenAI and the servers people run themselves (vLLM, Ollama, llama.cpp) through the
official ``openai`` client. Servers differ in how they honour structured output, so the request
falls back from a JSON schema, to JSON mode carrying the schema, to plain text from which the first
JSON object is extracted; the mode that works is remembered per endpoint. Every completed request is
appended to a JSONL cache, so an interrupted run resumes where it stopped and a re-run sends
nothing.
The API key is read from ``OPENAI_API_KEY`` only and is never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError
from helpers.progress import tqdm

from helpers.annotation.base import Annotation, Segment
from helpers.study import EMOTIONS
from helpers.config import LLMParams
from helpers.data.storage import get_data_home

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- prompt and schema
PROMPT_VERSION = "emotion_rating_v1"
"""Name of the prompt file (``helpers/prompts/<PROMPT_VERSION>.md``); part of every cache key."""

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
LOCAL_KEY_PLACEHOLDER = "not-needed"
RESPONSE_MODES: tuple[str, ...] = ("json_schema", "json_object", "text")
"""Structured-output modes, from the strictest to the most tolerant."""
MAX_BACKOFF_S = 60.0
CACHE_FILE_NAME = "llm_ratings.jsonl"


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
    needed = {"system", "user_previous", "user_cumulative", "user_none"}
    if not needed <= parsed.keys():
        raise RuntimeError(f"prompt {version} lacks sections {sorted(needed - parsed.keys())}")
    return parsed


PROMPT_SECTIONS: dict[str, str] = _read_prompt_sections(PROMPT_VERSION)
SYSTEM_PROMPT: str = PROMPT_SECTIONS["system"]
"""The instructions the model receives before every segment."""
PROMPT_SHA: str = hashlib.sha256(
    json.dumps(PROMPT_SECTIONS, sort_keys=True).encode("utf-8")
).hexdigest()[:16]

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
    if context == "none" or position == 0:
        return []
    if context == "cumulative":
        return list(texts[:position])
    if context == "previous":
        return list(texts[max(0, position - context_size) : position]) if context_size else []
    raise ValueError(
        f"llm.context = {context!r} is not allowed; allowed: previous, cumulative, none"
    )


def build_messages(
    segment_text: str, context_texts: Sequence[str] = (), context: str = "previous"
) -> list[dict[str, str]]:
    """The chat messages that ask for the ratings of one segment.

    With ``context="cumulative"`` the model sees the whole story so far and is asked to rate its
    last sentence, as the paper's authors did; with ``"previous"`` it sees a few preceding segments.
    """
    segment_text = " ".join(segment_text.split())
    joined = " ".join(" ".join(t.split()) for t in context_texts)
    if not joined:
        template = PROMPT_SECTIONS["user_none"]
    elif context == "cumulative":
        template = PROMPT_SECTIONS["user_cumulative"]
    elif context == "previous":
        template = PROMPT_SECTIONS["user_previous"]
    else:
        raise ValueError(
            f"context = {context!r} is not allowed; allowed: previous, cumulative, none"
        )
    user = template.replace("{context}", joined).replace("{segment}", segment_text)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- parsing answers
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
    nested = [v for v in lowered.values() if isinstance(v, dict)]
    for value in nested:
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
    """The ratings that fall outside [0, 1]."""
    return {e: v for e, v in raw.items() if not 0.0 <= v <= 1.0}


# --------------------------------------------------------------------------- endpoints and keys
def public_endpoint(url: str) -> str:
    """The endpoint URL without user, password, query or fragment, safe to store and print."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            "llm.base_url must look like http://host:port/v1 or https://..., got a value with "
            f"scheme "
            f"{parts.scheme or '(none)'!r}"
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def endpoint_id(llm_params: LLMParams) -> str:
    """What identifies the endpoint in cache keys: the public URL, or the local model file."""
    if llm_params.server == "local":
        from helpers.annotation.local_server import PACKAGED_MODEL_FILE

        name = Path(llm_params.local_model).name if llm_params.local_model else PACKAGED_MODEL_FILE
        return f"llama.cpp-local:{name}"
    url = llm_params.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL
    return public_endpoint(url)


def _secret() -> str | None:
    key = os.environ.get("OPENAI_API_KEY")
    return key if key and len(key) >= 4 else None


def scrub(text: str) -> str:
    """``text`` with the API key (if any appears in it) replaced by ``***``."""
    secret = _secret()
    return text.replace(secret, "***") if secret else text


# --------------------------------------------------------------------------- cache
def request_key(
    endpoint: str,
    model: str,
    context: str,
    context_size: int,
    temperature: float,
    sample: int,
    segment_text: str,
    context_texts: Sequence[str],
) -> str:
    """The cache key of one request: everything that changes the answer, hashed."""
    payload = {
        "endpoint": endpoint,
        "model": model,
        "prompt_version": PROMPT_VERSION,
        "prompt_sha": PROMPT_SHA,
        "context": context,
        "context_size": context_size if context == "previous" else None,
        "temperature": round(float(temperature), 6),
        "sample": int(sample),
        "segment": " ".join(segment_text.split()),
        "context_text": [" ".join(t.split()) for t in context_texts],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """``<data home>/cache/llm``: shared by all runs, since keys already hold every setting."""
    return get_data_home() / "cache" / "llm"


class RatingCache:
    """Append-only JSONL file: one line per completed request, flushed as soon as it is written.

    A line cut short by an interruption is skipped on reading; later lines for the same key win.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CACHE_FILE_NAME
        self._lock = threading.Lock()
        self._tail_checked = False

    def load(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return records
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if (
                    isinstance(record, dict)
                    and "key" in record
                    and isinstance(record.get("raw"), dict)
                ):
                    records[record["key"]] = record
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                if not self._tail_checked:
                    self._tail_checked = True
                    if handle.seek(0, os.SEEK_END) > 0:
                        handle.seek(-1, os.SEEK_END)
                        if handle.read(1) != b"\n":
                            handle.write(b"\n")  # close a line an interruption left unfinished
                handle.write(line.encode("utf-8"))
                handle.flush()


# --------------------------------------------------------------------------- response modes
class _ResponseModeBook:
    """Which structured-output mode works at each (endpoint, model), shared within the process."""

    def __init__(self) -> None:
        self._modes: dict[tuple[str, str], str] = {}
        self._probe_locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        with self._guard:
            return self._modes.get(key)

    def remember(self, key: tuple[str, str], mode: str) -> None:
        with self._guard:
            self._modes[key] = mode

    def forget(self, key: tuple[str, str]) -> None:
        with self._guard:
            self._modes.pop(key, None)

    def clear(self) -> None:
        """Forget every endpoint (e.g. when a server at the same address was replaced)."""
        with self._guard:
            self._modes.clear()

    def probe_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._probe_locks.setdefault(key, threading.Lock())


RESPONSE_MODE_BOOK = _ResponseModeBook()


class _ModeRefused(Exception):
    """The endpoint does not accept this structured-output mode."""


class LLMAnnotationError(RuntimeError):
    """The endpoint could not rate a segment; the message names the segment and the last problem."""


class _Aborted(Exception):
    """Another request of the run failed for good; stop instead of starting or retrying this one."""


# --------------------------------------------------------------------------- the annotator
@dataclass(frozen=True)
class _Job:
    position: int
    sample: int
    segment: Segment
    messages: list[dict[str, str]]
    key: str


@dataclass
class _Tally:
    requests: int = 0
    retries: int = 0
    malformed: int = 0
    rejected: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    problems: Counter = field(default_factory=Counter)


def select_segments(llm_params: LLMParams, segments: Sequence[Segment]) -> list[Segment]:
    """The segments this run rates: all, or the first ``llm.max_segments``."""
    chosen = list(segments)
    if not chosen:
        raise ValueError("no segments to annotate; segment the story first")
    if llm_params.max_segments is not None:
        chosen = chosen[: llm_params.max_segments]
    return chosen


def plan_jobs(llm_params: LLMParams, segments: Sequence[Segment]) -> list[_Job]:
    """One job per (sample, segment), each with its messages and cache key."""
    endpoint = endpoint_id(llm_params)
    texts = [s.text for s in segments]
    jobs = []
    for sample in range(llm_params.n_samples):
        for position, segment in enumerate(segments):
            context_texts = context_for(
                texts, position, llm_params.context, llm_params.context_size
            )
            jobs.append(
                _Job(
                    position=position,
                    sample=sample,
                    segment=segment,
                    messages=build_messages(segment.text, context_texts, llm_params.context),
                    key=request_key(
                        endpoint,
                        llm_params.model,
                        llm_params.context,
                        llm_params.context_size,
                        llm_params.temperature,
                        sample,
                        segment.text,
                        context_texts,
                    ),
                )
            )
    return jobs


def _usable(record: dict[str, Any] | None, policy: str) -> bool:
    if record is None:
        return False
    raw = record["raw"]
    if not all(isinstance(raw.get(e), (int, float)) for e in EMOTIONS):
        return False
    return policy == "clamp" or not out_of_range(raw)


def has_llm_results(
    llm_params: LLMParams, segments: Sequence[Segment], cache_dir: str | Path | None = None
) -> bool:
    """Whether the cache already holds every rating this run needs (no network call)."""
    jobs = plan_jobs(llm_params, select_segments(llm_params, segments))
    records = RatingCache(cache_dir or default_cache_dir()).load()
    return all(_usable(records.get(job.key), llm_params.out_of_range) for job in jobs)


class LLMAnnotator:
    """Rates segments with a chat model; see the module docstring for the guarantees.

    Parameters
    ----------
    llm_params
        The ``llm`` section of the parameters.
    cache_dir
        Folder of the JSONL cache (default ``<data home>/cache/llm``).
    progress
        Show a progress bar while requests run.
    backoff_s
        First retry delay in seconds (doubles each retry, with jitter); default ``llm.backoff_s``.
    """

    name = "llm"

    def __init__(
        self,
        llm_params: LLMParams,
        cache_dir: str | Path | None = None,
        *,
        progress: bool = True,
        backoff_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.params = llm_params
        self.endpoint = endpoint_id(llm_params)
        self.cache = RatingCache(cache_dir or default_cache_dir())
        self.progress = progress
        self.backoff_s = llm_params.backoff_s if backoff_s is None else float(backoff_s)
        self._sleep = sleep
        self._mode_key = (self.endpoint, llm_params.model)
        self.samples: np.ndarray | None = None
        self.last_run: dict[str, Any] = {}
        self._abort = threading.Event()

    # ------------------------------------------------------------------ public
    def annotate(self, segments: list[Segment]) -> Annotation:
        """Scores of each segment (mean over samples), requesting only what the cache lacks."""
        chosen = select_segments(self.params, segments)
        jobs = plan_jobs(self.params, chosen)
        records = self.cache.load()
        self._seed_mode_from(records)
        done = {
            j.key: records[j.key]
            for j in jobs
            if _usable(records.get(j.key), self.params.out_of_range)
        }
        cache_hits = len({j.key for j in jobs} & done.keys())
        # identical requests (same text, context and sample) are sent once
        missing = list({j.key: j for j in jobs if j.key not in done}.values())
        tally = _Tally()
        began = time.perf_counter()
        if missing:
            with self._base_url() as base_url:
                client = self._client(base_url)
                try:
                    self._run(
                        client,
                        missing,
                        done,
                        tally,
                        already=cache_hits,
                        total=cache_hits + len(missing),
                    )
                finally:
                    client.close()
        seconds = time.perf_counter() - began
        return self._assemble(chosen, jobs, done, tally, cache_hits, len(missing), seconds)

    def sample_scores(self) -> np.ndarray:
        """Every sample's ratings, shape (n_samples, n_segments, 8), out-of-range policy applied."""
        if self.samples is None:
            raise RuntimeError("call annotate() first")
        return self.samples.copy()

    # ------------------------------------------------------------------ running requests
    @contextmanager
    def _base_url(self) -> Iterator[str]:
        if self.params.server == "local":
            from helpers.annotation.local_server import LocalLLMServer

            with LocalLLMServer(
                self.params.local_model,
                n_ctx=self.params.local_n_ctx,
                model_alias=self.params.model,
                startup_timeout_s=self.params.local_startup_timeout_s,
            ) as server:
                logger.info("local llama.cpp server ready at %s", server.base_url)
                yield server.base_url
            return
        yield self.params.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL

    def _client(self, base_url: str) -> Any:
        from openai import OpenAI

        if self.params.server == "local":
            api_key = LOCAL_KEY_PLACEHOLDER  # never send a real key to a local server
        else:
            api_key = _secret()
            if api_key is None:
                if self.endpoint == public_endpoint(DEFAULT_OPENAI_URL):
                    raise LLMAnnotationError(
                        "OPENAI_API_KEY is not set: export it in the shell that runs the book, or "
                        "point "
                        "llm.base_url (or OPENAI_BASE_URL) at a local OpenAI-compatible server"
                    )
                api_key = LOCAL_KEY_PLACEHOLDER
        return OpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=self.params.timeout_s
        )

    def _run(
        self,
        client: Any,
        missing: list[_Job],
        done: dict[str, dict[str, Any]],
        tally: _Tally,
        *,
        already: int,
        total: int,
    ) -> None:
        self._abort.clear()
        pool = ThreadPoolExecutor(max_workers=self.params.max_concurrency, thread_name_prefix="llm")
        bar = tqdm(
            total=total,
            initial=already,
            desc=f"rating with {self.params.model}",
            unit="request",
            disable=not self.progress,
            leave=False,
        )
        futures: dict[Future, _Job] = {
            pool.submit(self._rate_and_cache, client, job): job for job in missing
        }
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    record, job_tally = future.result()
                    done[record["key"]] = record
                    _merge(tally, job_tally)
                    bar.update(1)
        except BaseException:
            self._abort.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for future in futures:  # requests that completed meanwhile are cached; count them too
                if future.done() and not future.cancelled() and future.exception() is None:
                    record, job_tally = future.result()
                    if record["key"] not in done:
                        done[record["key"]] = record
                        _merge(tally, job_tally)
            self.last_run = _tally_summary(tally)
            raise
        finally:
            bar.close()
            pool.shutdown(wait=True, cancel_futures=True)

    def _rate_and_cache(self, client: Any, job: _Job) -> tuple[dict[str, Any], _Tally]:
        if self._abort.is_set():
            raise _Aborted()
        tally = _Tally()
        began = time.perf_counter()
        raw, mode, from_prose = self._rate(client, job, tally)
        record = {
            "key": job.key,
            "endpoint": self.endpoint,
            "model": self.params.model,
            "prompt_version": PROMPT_VERSION,
            "context": self.params.context,
            "context_size": self.params.context_size,
            "temperature": self.params.temperature,
            "sample": job.sample,
            "segment_index": job.segment.index,
            "segment_start": job.segment.text[:60],
            "mode": mode,
            "raw": raw,
            "parsed_from_prose": from_prose,
            "prompt_tokens": tally.prompt_tokens,
            "completion_tokens": tally.completion_tokens,
            "seconds": round(time.perf_counter() - began, 3),
            "written": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.cache.append(record)
        return record, tally

    def _rate(self, client: Any, job: _Job, tally: _Tally) -> tuple[dict[str, float], str, bool]:
        known = RESPONSE_MODE_BOOK.get(self._mode_key)
        if known is None:
            # The first request to an endpoint finds the mode that works; the others wait for it.
            with RESPONSE_MODE_BOOK.probe_lock(self._mode_key):
                known = RESPONSE_MODE_BOOK.get(self._mode_key)
                if known is None:
                    return self._rate_from(client, job, RESPONSE_MODES[0], tally, probing=True)
        return self._rate_from(client, job, known, tally, probing=False)

    def _rate_from(
        self, client: Any, job: _Job, first_mode: str, tally: _Tally, *, probing: bool
    ) -> tuple[dict[str, float], str, bool]:
        for mode in RESPONSE_MODES[RESPONSE_MODES.index(first_mode) :]:
            try:
                raw, from_prose = self._attempts(client, job, mode, tally, probing=probing)
            except _ModeRefused as refusal:
                tally.fallbacks += 1
                logger.info(
                    "%s refused response mode %s (%s); trying the next mode",
                    self.endpoint,
                    mode,
                    scrub(str(refusal)),
                )
                continue
            RESPONSE_MODE_BOOK.remember(self._mode_key, mode)
            return raw, mode, from_prose
        raise AssertionError("the text mode never refuses")  # pragma: no cover

    def _attempts(
        self, client: Any, job: _Job, mode: str, tally: _Tally, *, probing: bool
    ) -> tuple[dict[str, float], bool]:
        import openai

        allowed = self.params.max_retries + 1
        server_errors_in_a_row = 0
        problem = "no attempt made"
        retry_after: float | None = None
        kwargs: dict[str, Any] = {
            "model": self.params.model,
            "messages": job.messages,
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
        }
        response_format = response_format_for(mode)
        if response_format is not None:
            kwargs["response_format"] = response_format
        for attempt in range(allowed):
            if attempt:
                if self._abort.is_set():
                    raise _Aborted()
                tally.retries += 1
                self._sleep(self._delay(attempt - 1, retry_after))
            retry_after = None
            tally.requests += 1
            try:
                response = client.chat.completions.create(**kwargs)
            except openai.RateLimitError as exc:
                problem = "HTTP 429 (rate limited)"
                retry_after = _retry_after_seconds(exc.response)
                tally.problems["429"] += 1
                continue
            except openai.APITimeoutError:
                problem = f"no answer within llm.timeout_s = {self.params.timeout_s} s"
                tally.problems["timeout"] += 1
                continue
            except openai.APIConnectionError as exc:
                problem = f"could not connect ({exc.__class__.__name__}: {_short(exc)})"
                tally.problems["connection"] += 1
                continue
            except openai.APIStatusError as exc:
                status = exc.status_code
                detail = f"HTTP {status}: {_short(exc)}"
                if status in (400, 422):
                    if mode != "text":
                        raise _ModeRefused(detail) from None
                    raise LLMAnnotationError(self._failure(job, tally.requests, detail)) from None
                if status >= 500 or status in (408, 409):
                    server_errors_in_a_row += 1
                    problem = detail
                    tally.problems[str(status)] += 1
                    # An endpoint that keeps failing on a mode never seen working likely refuses it.
                    if (
                        probing
                        and mode != "text"
                        and (server_errors_in_a_row >= 2 or attempt == allowed - 1)
                    ):
                        raise _ModeRefused(detail) from None
                    continue
                raise LLMAnnotationError(
                    self._failure(job, tally.requests, detail + _status_hint(status))
                ) from None
            server_errors_in_a_row = 0
            usage = getattr(response, "usage", None)
            if usage is not None:
                tally.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
                tally.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
            content = response.choices[0].message.content if response.choices else ""
            try:
                raw, from_prose = parse_rating(content or "")
            except MalformedRatingError as exc:
                problem = f"malformed answer ({exc}); the answer began {(content or '')[:160]!r}"
                tally.malformed += 1
                continue
            outside = out_of_range(raw)
            if outside and self.params.out_of_range == "reject":
                problem = f"ratings outside [0, 1] rejected (llm.out_of_range = reject): {outside}"
                tally.rejected += 1
                continue
            return raw, from_prose
        raise LLMAnnotationError(self._failure(job, tally.requests, problem))

    def _delay(self, retry_number: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After is respected (capped)."""
        delay = min(self.backoff_s * 2.0**retry_number, MAX_BACKOFF_S) * random.uniform(0.5, 1.5)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_BACKOFF_S))
        return delay

    def _failure(self, job: _Job, requests: int, problem: str) -> str:
        text = " ".join(job.segment.text.split())
        preview = text if len(text) <= 80 else text[:77] + "..."
        return scrub(
            f"the LLM could not rate segment {job.segment.index} (sample {job.sample}) "
            f"at {self.endpoint} "
            f"with model {self.params.model!r} after {requests} request(s): {problem}. "
            f"Segment text: {preview!r}. Ratings completed so far are cached; re-running resumes."
        )

    # ------------------------------------------------------------------ results
    def _seed_mode_from(self, records: dict[str, dict[str, Any]]) -> None:
        if RESPONSE_MODE_BOOK.get(self._mode_key) is not None:
            return
        for record in reversed(list(records.values())):
            if record.get("endpoint") == self.endpoint and record.get("model") == self.params.model:
                if record.get("mode") in RESPONSE_MODES:
                    RESPONSE_MODE_BOOK.remember(self._mode_key, record["mode"])
                return

    def _assemble(
        self,
        chosen: list[Segment],
        jobs: list[_Job],
        done: dict[str, dict[str, Any]],
        tally: _Tally,
        cache_hits: int,
        n_requested: int,
        seconds: float,
    ) -> Annotation:
        raw = np.empty((self.params.n_samples, len(chosen), len(EMOTIONS)), dtype=float)
        modes: Counter = Counter()
        from_prose = 0
        prompt_tokens = completion_tokens = 0
        for job in jobs:
            record = done[job.key]
            raw[job.sample, job.position] = [record["raw"][e] for e in EMOTIONS]
            modes[record.get("mode", "unknown")] += 1
            from_prose += bool(record.get("parsed_from_prose"))
            prompt_tokens += int(record.get("prompt_tokens") or 0)
            completion_tokens += int(record.get("completion_tokens") or 0)
        outside = (raw < 0) | (raw > 1)
        self.samples = np.clip(raw, 0.0, 1.0)
        scores = pd.DataFrame(
            self.samples.mean(axis=0),
            index=pd.Index([s.index for s in chosen], name="segment"),
            columns=list(EMOTIONS),
        )
        summary = _tally_summary(tally)
        self.last_run = summary
        provenance: dict[str, Any] = {
            "annotator": self.name,
            "model": self.params.model,
            "endpoint": self.endpoint,
            "server": self.params.server,
            "prompt_version": PROMPT_VERSION,
            "prompt_sha": PROMPT_SHA,
            "response_mode": modes.most_common(1)[0][0],
            "response_modes": dict(modes),
            "context": self.params.context,
            "context_size": self.params.context_size,
            "temperature": self.params.temperature,
            "n_samples": self.params.n_samples,
            "n_segments": len(chosen),
            "out_of_range": self.params.out_of_range,
            "n_clamped_values": int(outside.sum()),
            "clamped_by_emotion": {e: int(n) for e, n in zip(EMOTIONS, outside.sum(axis=(0, 1)))},
            "n_parsed_from_prose": int(from_prose),
            "cache_hits": int(cache_hits),
            "n_requested": int(n_requested),
            "prompt_tokens": int(prompt_tokens),
            "completion_tokens": int(completion_tokens),
            "seconds": round(seconds, 3),
            "cache_file": str(self.cache.path),
            **summary,
            "samples": self.samples.round(6).tolist(),
        }
        return Annotation(scores=scores, provenance=provenance)


def _merge(total: _Tally, part: _Tally) -> None:
    total.requests += part.requests
    total.retries += part.retries
    total.malformed += part.malformed
    total.rejected += part.rejected
    total.fallbacks += part.fallbacks
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    total.problems.update(part.problems)


def _tally_summary(tally: _Tally) -> dict[str, Any]:
    return {
        "n_http_requests": tally.requests,
        "n_retries": tally.retries,
        "n_malformed_answers": tally.malformed,
        "n_rejected_answers": tally.rejected,
        "n_mode_fallbacks": tally.fallbacks,
        "retry_causes": dict(tally.problems),
    }


def _short(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(scrub(str(exc)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _status_hint(status: int) -> str:
    if status == 401:
        return " (the endpoint rejected the key: check OPENAI_API_KEY in the environment)"
    if status == 403:
        return " (the key has no access to this model or endpoint)"
    if status == 404:
        return " (unknown model or wrong path: check llm.model and that llm.base_url ends with /v1)"
    return ""


def _retry_after_seconds(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
