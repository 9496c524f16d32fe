"""Rating many segments at one chat endpoint, robustly: retries, response modes, concurrency.

Real servers refuse JSON schemas (the request falls back to JSON mode, then to plain text, and the
mode that works is remembered per endpoint and model), rate-limit or time out (bounded retries
with exponential backoff and jitter, honouring ``Retry-After``), or answer HTTP 200 with an HTML
page or broken JSON (retried, then an error naming the endpoint and the segment). Requests run
concurrently; once one segment fails for good no further request is sent, and requests waiting to
retry stop at once. Each answer is handed to a callback as soon as it arrives (the annotator
appends it to its cache), so an interrupted run keeps everything it received.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import openai

from helpers.annotation.base import Segment
from helpers.annotation.endpoint import (
    LLMAnnotationError,
    MalformedResponseError,
    mask_secrets,
    preview,
    read_completion,
    status_hint,
)
from helpers.annotation.prompt import (
    RESPONSE_MODES,
    MalformedRatingError,
    out_of_range,
    parse_rating,
    response_format_for,
)
from helpers.config import LLMParams
from helpers.progress import tqdm

__all__ = ["RESPONSE_MODE_BOOK", "Rated", "RatingClient", "RatingJob", "ResponseModeBook", "Tally"]

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class RatingJob:
    """One request to make: one sample of a segment, with its messages and cache key."""

    position: int
    sample: int
    segment: Segment
    messages: list[dict[str, str]]
    key: str


@dataclass
class Tally:
    """What rating took: requests, retries and their causes, tokens."""

    requests: int = 0
    retries: int = 0
    malformed: int = 0
    rejected: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    problems: Counter = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for name in ("requests", "retries", "malformed", "rejected", "fallbacks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.problems.update(other.problems)

    def summary(self) -> dict[str, Any]:
        """The counts a provenance record reports."""
        return {
            "n_http_requests": self.requests,
            "n_retries": self.retries,
            "n_malformed_answers": self.malformed,
            "n_rejected_answers": self.rejected,
            "n_mode_fallbacks": self.fallbacks,
            "retry_causes": dict(self.problems),
        }


@dataclass
class Rated:
    """The answer to one job: the eight raw ratings, how they were obtained, what it took."""

    raw: dict[str, float]
    mode: str
    from_prose: bool
    tally: Tally
    seconds: float


class ResponseModeBook:
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


RESPONSE_MODE_BOOK = ResponseModeBook()


class _ModeRefused(Exception):
    """The endpoint does not accept this structured-output mode."""


class _Aborted(Exception):
    """Another request of the run failed for good; stop instead of starting or retrying this one."""


class RatingClient:
    """Rates jobs at one endpoint with the settings of ``llm_params``.

    Parameters
    ----------
    llm_params
        The ``llm`` section of the parameters (model, sampling, retries, concurrency).
    client
        An ``openai`` client (see :func:`helpers.annotation.endpoint.chat_client`).
    endpoint
        The endpoint's public identity, used in messages and as the response-mode book's key.
    backoff_s
        First retry delay in seconds (doubles each retry, with jitter).
    """

    def __init__(
        self,
        llm_params: LLMParams,
        client: openai.OpenAI,
        endpoint: str,
        *,
        backoff_s: float,
        mode_book: ResponseModeBook = RESPONSE_MODE_BOOK,
    ) -> None:
        self.params = llm_params
        self.client = client
        self.endpoint = endpoint
        self.backoff_s = backoff_s
        self.mode_book = mode_book
        self.mode_key = (endpoint, llm_params.model)
        self.tally = Tally()
        self._tally_lock = threading.Lock()
        self._abort = threading.Event()

    # ------------------------------------------------------------------ many jobs
    def rate_all(
        self,
        jobs: Sequence[RatingJob],
        on_rated: Callable[[RatingJob, Rated], None],
        *,
        progress: bool = True,
        already_done: int = 0,
    ) -> None:
        """Rate every job, ``llm.max_concurrency`` at a time; ``on_rated`` sees each answer.

        The first job that fails for good stops the run: nothing new is sent, retries waiting
        for their backoff give up, and its :class:`LLMAnnotationError` is raised once the requests
        already in flight have finished (their answers still reach ``on_rated``).
        """
        self._abort.clear()
        pool = ThreadPoolExecutor(max_workers=self.params.max_concurrency, thread_name_prefix="llm")
        bar = tqdm(
            total=already_done + len(jobs),
            initial=already_done,
            desc=f"rating with {self.params.model}",
            unit="request",
            disable=not progress,
            leave=False,
        )

        def rate_and_report(job: RatingJob) -> None:
            on_rated(job, self._rate_or_abort(job))
            bar.update(1)

        futures: list[Future] = [pool.submit(rate_and_report, job) for job in jobs]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            self._abort.set()  # on failure or interruption; a no-op once every job is done
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        problems = [f.exception() for f in futures if f.done() and not f.cancelled()]
        problems = [p for p in problems if p is not None]
        if problems:
            # Jobs stopped by the abort raise _Aborted; report the failure that caused it.
            raise next((p for p in problems if not isinstance(p, _Aborted)), problems[0])

    def _rate_or_abort(self, job: RatingJob) -> Rated:
        tally = Tally()
        try:
            return self.rate(job, tally)
        except _Aborted:
            raise
        except BaseException:
            self._abort.set()  # at once, before other workers send or retry anything
            raise
        finally:
            with self._tally_lock:
                self.tally.add(tally)

    # ------------------------------------------------------------------ one job
    def rate(self, job: RatingJob, tally: Tally | None = None) -> Rated:
        """The ratings of one job, in the response mode known to work (found on first use)."""
        tally = Tally() if tally is None else tally
        began = time.perf_counter()
        known = self.mode_book.get(self.mode_key)
        if known is None:
            # The first request to an endpoint finds the mode that works; the others wait for it.
            with self.mode_book.probe_lock(self.mode_key):
                known = self.mode_book.get(self.mode_key)
                if known is None:
                    raw, mode, from_prose = self._rate_from(job, RESPONSE_MODES[0], tally, True)
                    return Rated(raw, mode, from_prose, tally, time.perf_counter() - began)
        raw, mode, from_prose = self._rate_from(job, known, tally, False)
        return Rated(raw, mode, from_prose, tally, time.perf_counter() - began)

    def _rate_from(
        self, job: RatingJob, first_mode: str, tally: Tally, probing: bool
    ) -> tuple[dict[str, float], str, bool]:
        for mode in RESPONSE_MODES[RESPONSE_MODES.index(first_mode) :]:
            try:
                raw, from_prose = self._attempts(job, mode, tally, probing=probing)
            except _ModeRefused as refusal:
                tally.fallbacks += 1
                self._log_refusal(mode, refusal)
                continue
            self.mode_book.remember(self.mode_key, mode)
            return raw, mode, from_prose
        raise AssertionError("the text mode never refuses")  # pragma: no cover

    def _attempts(
        self, job: RatingJob, mode: str, tally: Tally, *, probing: bool
    ) -> tuple[dict[str, float], bool]:
        """Up to ``llm.max_retries + 1`` requests in one mode; raises when none gives ratings."""
        allowed = self.params.max_retries + 1
        server_errors_in_a_row = 0
        problem = "no attempt made"
        retry_after: float | None = None
        request: dict[str, Any] = {
            "model": self.params.model,
            "messages": job.messages,
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
        }
        response_format = response_format_for(mode)
        if response_format is not None:
            request["response_format"] = response_format
        for attempt in range(allowed):
            if attempt:
                tally.retries += 1
                if self._abort.wait(self._delay(attempt - 1, retry_after)):
                    raise _Aborted()
            if self._abort.is_set():
                raise _Aborted()
            retry_after = None
            tally.requests += 1
            try:
                response = self.client.chat.completions.with_raw_response.create(**request)
                content, tokens = read_completion(
                    response.headers.get("content-type", ""), response.text
                )
            except openai.RateLimitError as exc:
                problem, retry_after = "HTTP 429 (rate limited)", _retry_after_seconds(exc.response)
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
                if status < 500 and status not in (408, 409):
                    raise LLMAnnotationError(
                        self._failure(job, tally.requests, detail + status_hint(status))
                    ) from None
                server_errors_in_a_row += 1
                problem = detail
                tally.problems[str(status)] += 1
                # An endpoint that keeps failing on a mode never seen working likely refuses it.
                gave_up = server_errors_in_a_row >= 2 or attempt == allowed - 1
                if probing and mode != "text" and gave_up:
                    raise _ModeRefused(detail) from None
                continue
            except (MalformedResponseError, openai.APIError) as exc:
                problem = f"malformed response ({_short(exc)})"
                tally.problems["malformed_response"] += 1
                continue
            server_errors_in_a_row = 0
            tally.prompt_tokens += tokens["prompt_tokens"]
            tally.completion_tokens += tokens["completion_tokens"]
            try:
                raw, from_prose = parse_rating(content)
            except MalformedRatingError as exc:
                problem = f"malformed answer ({exc}); the answer began {preview(content, 160)!r}"
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

    def _failure(self, job: RatingJob, requests: int, problem: str) -> str:
        text = " ".join(job.segment.text.split())
        shown = text if len(text) <= 80 else text[:77] + "..."
        return mask_secrets(
            f"the LLM could not rate segment {job.segment.index} (sample {job.sample}) "
            f"at {self.endpoint} with model {self.params.model!r} after {requests} request(s): "
            f"{problem}. Segment text: {shown!r}. Ratings completed so far are cached; "
            "re-running resumes."
        )

    def _log_refusal(self, mode: str, refusal: _ModeRefused) -> None:
        logger.info(
            "%s refused response mode %s (%s); trying the next mode",
            self.endpoint,
            mode,
            mask_secrets(str(refusal)),
        )


def _short(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(mask_secrets(str(exc)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retry_after_seconds(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
