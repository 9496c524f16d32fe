"""The JSONL cache of LLM ratings: one line per completed request, so nothing is paid for twice.

A request's key hashes everything that changes its answer (endpoint, model, prompt version and
text, context, temperature, sample index, segment and context text), so one file serves every
run: an interrupted run resumes where it stopped and a re-run sends nothing. An endpoint enters
keys and records by its identity (:func:`endpoint_id`): its public URL
(:func:`helpers.privacy.public_url`: no user, password, query or fragment), so no credential a
user put into ``llm.base_url`` is ever written.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.annotation.local_server import PACKAGED_MODEL_FILE
from helpers.annotation.prompt import PROMPT_SHA, PROMPT_VERSION
from helpers.config import LLMParams
from helpers.data.storage import get_data_home
from helpers.privacy import public_url

__all__ = [
    "CACHE_FILE_NAME",
    "DEFAULT_OPENAI_URL",
    "RatingCache",
    "base_url_of",
    "default_cache_dir",
    "endpoint_id",
    "request_key",
]

CACHE_FILE_NAME = "llm_ratings.jsonl"
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"


def base_url_of(llm_params: LLMParams) -> str:
    """The configured endpoint: ``llm.base_url``, else ``OPENAI_BASE_URL``, else OpenAI."""
    return llm_params.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL


def endpoint_id(llm_params: LLMParams) -> str:
    """What identifies the endpoint in cache keys: the public URL, or the local model file."""
    if llm_params.server == "local":
        name = Path(llm_params.local_model).name if llm_params.local_model else PACKAGED_MODEL_FILE
        return f"llama.cpp-local:{name}"
    try:
        return public_url(base_url_of(llm_params))
    except ValueError as exc:
        raise ValueError(f"llm.base_url (or OPENAI_BASE_URL): {exc}") from None


def request_key(
    endpoint: str,
    llm: LLMParams,
    sample: int,
    segment_text: str,
    context_texts: Sequence[str],
) -> str:
    """The cache key of one request: everything that changes the answer, hashed.

    Parameters
    ----------
    endpoint : the server's public identity (:func:`endpoint_id`).
    llm : the annotation's LLM settings; its model, context mode, context size and temperature
        enter the key (the context size only for the ``previous`` context).
    sample : which repeated rating of the segment this is.
    segment_text, context_texts : the words rated and the context sent with them.

    Returns
    -------
    A SHA-256 hex digest.
    """
    model, context, context_size = llm.model, llm.context, llm.context_size
    temperature = llm.temperature
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

    Appending (rather than rewriting a table) keeps every answer an interrupted run received. A
    line cut short by an interruption is skipped on reading; later lines for the same key win.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CACHE_FILE_NAME
        self._lock = threading.Lock()
        self._tail_checked = False

    def load(self) -> dict[str, dict[str, Any]]:
        """Every complete record, by key."""
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
        """Write one record as a line and flush it (safe from several threads)."""
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
