"""The JSONL cache of LLM ratings: one line per completed request, so nothing is paid for twice.

A request's key hashes everything that changes its answer (public endpoint, model, prompt version
and text, context, temperature, sample index, segment and context text), so one file serves every
run: an interrupted run resumes where it stopped and a re-run sends nothing. Endpoints enter keys
and records through :func:`helpers.privacy.public_url` only, never with their credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.annotation.prompt import PROMPT_SHA, PROMPT_VERSION
from helpers.data.storage import get_data_home

__all__ = ["CACHE_FILE_NAME", "RatingCache", "default_cache_dir", "request_key"]

CACHE_FILE_NAME = "llm_ratings.jsonl"


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
