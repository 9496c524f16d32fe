"""The ``llm`` annotator: an OpenAI-compatible chat model rates each segment on the eight emotions.

It ties three parts together: the prompt and the parser (:mod:`helpers.annotation.prompt`), the
robust client that gets answers out of real servers (:mod:`helpers.annotation.llm_client`, over
:mod:`helpers.annotation.endpoint`), and the JSONL cache of every completed request
(:mod:`helpers.annotation.rating_cache`), so an interrupted run resumes where it stopped and a
re-run sends nothing. Works against OpenAI and the servers people run themselves (vLLM, Ollama,
llama.cpp; ``llm.server: local`` starts the packaged one). The API key is read from
``OPENAI_API_KEY`` only and is never written anywhere; endpoints are recorded by public URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.annotation.base import Annotation, Segment
from helpers.annotation.endpoint import LLMAnnotationError, chat_client
from helpers.annotation.llm_client import RESPONSE_MODE_BOOK, Rated, RatingClient, RatingJob, Tally
from helpers.annotation.local_server import LocalLLMServer
from helpers.annotation.prompt import (
    PROMPT_SHA,
    PROMPT_VERSION,
    RESPONSE_MODES,
    build_messages,
    context_for,
    out_of_range,
)
from helpers.annotation.rating_cache import (
    RatingCache,
    base_url_of,
    default_cache_dir,
    endpoint_id,
    request_key,
)
from helpers.config import LLMParams
from helpers.study import EMOTIONS

__all__ = ["LLMAnnotationError", "LLMAnnotator", "has_llm_results", "plan_jobs", "select_segments"]

logger = logging.getLogger(__name__)


def select_segments(llm_params: LLMParams, segments: Sequence[Segment]) -> list[Segment]:
    """The segments this run rates: all, or the first ``llm.max_segments``."""
    chosen = list(segments)
    if not chosen:
        raise ValueError("no segments to annotate; segment the story first")
    if llm_params.max_segments is not None:
        chosen = chosen[: llm_params.max_segments]
    return chosen


def plan_jobs(llm_params: LLMParams, segments: Sequence[Segment]) -> list[RatingJob]:
    """One job per (sample, segment), each with its messages and cache key."""
    endpoint = endpoint_id(llm_params)
    texts = [s.text for s in segments]
    jobs = []
    for sample in range(llm_params.n_samples):
        for position, segment in enumerate(segments):
            context_texts = context_for(
                texts, position, llm_params.context, llm_params.context_size
            )
            key = request_key(endpoint, llm_params, sample, segment.text, context_texts)
            messages = build_messages(segment.text, context_texts, llm_params.context)
            jobs.append(RatingJob(position, sample, segment, messages, key))
    return jobs


def _check_clamped_share(outside: np.ndarray, llm_params: LLMParams) -> None:
    """Stop when more than ``llm.max_clamped_share`` of the ratings fell outside [0, 1].

    Clamping a few stray values is harmless; clamping most of them turns every target into 0 or 1
    and the later chapters would decode constants. The answers stay in the cache, so a re-run with
    another setting costs no request.
    """
    share = float(outside.mean()) if outside.size else 0.0
    if share <= llm_params.max_clamped_share:
        return
    raise LLMAnnotationError(
        f"{int(outside.sum())} of {outside.size} ratings ({share:.0%}) from {llm_params.model} were "
        f"outside [0, 1] and would be clamped (llm.out_of_range: {llm_params.out_of_range}; at most "
        f"llm.max_clamped_share = {llm_params.max_clamped_share:g} is accepted): the model does not "
        "follow the prompt's scale. Use llm.out_of_range: reject to ask again, another model, or "
        "raise llm.max_clamped_share to accept them"
    )


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
    """Rates segments with a chat model, requesting only what the cache lacks.

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
    ) -> None:
        self.params = llm_params
        self.endpoint = endpoint_id(llm_params)
        self.cache = RatingCache(cache_dir or default_cache_dir())
        self.progress = progress
        self.backoff_s = llm_params.backoff_s if backoff_s is None else float(backoff_s)
        self.samples: np.ndarray | None = None
        self.last_run: dict[str, Any] = {}

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
        tally = Tally()
        began = time.perf_counter()
        if missing:
            tally = self._request(missing, done, cache_hits)
        seconds = time.perf_counter() - began
        return self._assemble(chosen, jobs, done, tally, cache_hits, len(missing), seconds)

    def sample_scores(self) -> np.ndarray:
        """Every sample's ratings, shape (n_samples, n_segments, 8), out-of-range policy applied."""
        if self.samples is None:
            raise RuntimeError("call annotate() first")
        return self.samples.copy()

    # ------------------------------------------------------------------ requests
    def _request(
        self, missing: list[RatingJob], done: dict[str, dict[str, Any]], cache_hits: int
    ) -> Tally:
        """Rate the missing jobs, caching each answer as it arrives; the run's tally."""
        lock = threading.Lock()

        def keep(job: RatingJob, rated: Rated) -> None:
            record = self._record(job, rated)
            self.cache.append(record)
            with lock:
                done[job.key] = record

        with self._base_url() as base_url:
            client = chat_client(
                base_url, timeout_s=self.params.timeout_s, local=self.params.server == "local"
            )
            rater = RatingClient(self.params, client, self.endpoint, backoff_s=self.backoff_s)
            try:
                rater.rate_all(missing, keep, progress=self.progress, already_done=cache_hits)
            finally:
                client.close()
                self.last_run = rater.tally.summary()
        return rater.tally

    @contextmanager
    def _base_url(self) -> Iterator[str]:
        """The address to send requests to; for ``llm.server: local``, a server started for it."""
        if self.params.server != "local":
            yield base_url_of(self.params)
            return
        with LocalLLMServer(
            self.params.local_model,
            n_ctx=self.params.local_n_ctx,
            model_alias=self.params.model,
            startup_timeout_s=self.params.local_startup_timeout_s,
        ) as server:
            logger.info("local llama.cpp server ready at %s", server.base_url)
            try:
                yield server.base_url
            except LLMAnnotationError as error:
                ended = server.exit_description()
                if ended is None:
                    raise
                hint = (
                    " (a llama-cpp-python build for another CPU: reinstall it with "
                    "`bash tests/setup_local_llm.sh`)"
                    if ended in {"signal 4", "signal 11"}
                    else ""
                )
                raise LLMAnnotationError(
                    f"{error} The local llama.cpp server itself stopped with {ended}{hint}; "
                    f"its last lines:\n{server.log_tail(5)}"
                ) from None

    def _record(self, job: RatingJob, rated: Rated) -> dict[str, Any]:
        """The cache line of one answer: the key, the raw ratings and how they were obtained."""
        return {
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
            "mode": rated.mode,
            "raw": rated.raw,
            "parsed_from_prose": rated.from_prose,
            "prompt_tokens": rated.tally.prompt_tokens,
            "completion_tokens": rated.tally.completion_tokens,
            "seconds": round(rated.seconds, 3),
            "written": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _seed_mode_from(self, records: dict[str, dict[str, Any]]) -> None:
        """Start from the response mode the cache shows working here, without probing again."""
        mode_key = (self.endpoint, self.params.model)
        if RESPONSE_MODE_BOOK.get(mode_key) is not None:
            return
        for record in reversed(list(records.values())):
            if record.get("endpoint") == self.endpoint and record.get("model") == self.params.model:
                if record.get("mode") in RESPONSE_MODES:
                    RESPONSE_MODE_BOOK.remember(mode_key, record["mode"])
                return

    # ------------------------------------------------------------------ results
    def _assemble(
        self,
        chosen: list[Segment],
        jobs: list[RatingJob],
        done: dict[str, dict[str, Any]],
        tally: Tally,
        cache_hits: int,
        n_requested: int,
        seconds: float,
    ) -> Annotation:
        raw = np.empty((self.params.n_samples, len(chosen), len(EMOTIONS)), dtype=float)
        modes: Counter = Counter()
        from_prose = prompt_tokens = completion_tokens = 0
        for job in jobs:
            record = done[job.key]
            raw[job.sample, job.position] = [record["raw"][e] for e in EMOTIONS]
            modes[record.get("mode", "unknown")] += 1
            from_prose += bool(record.get("parsed_from_prose"))
            prompt_tokens += int(record.get("prompt_tokens") or 0)
            completion_tokens += int(record.get("completion_tokens") or 0)
        outside = (raw < 0) | (raw > 1)
        _check_clamped_share(outside, self.params)
        self.samples = np.clip(raw, 0.0, 1.0)
        scores = pd.DataFrame(
            self.samples.mean(axis=0),
            index=pd.Index([s.index for s in chosen], name="segment"),
            columns=list(EMOTIONS),
        )
        summary = tally.summary()
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
