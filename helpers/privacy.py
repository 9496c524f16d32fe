"""What must never reach a file, a log or the rendered book: credentials.

An API key is read from ``OPENAI_API_KEY`` only, but a user may still put credentials into a URL
(``http://user:PASS@host/v1?api_key=...``). Everything the project writes about its parameters -
cache keys, the run manifest, the reproducibility page - passes through :func:`redact` first.
Executed notebooks hold arbitrary outputs (minified JavaScript, base64 images) where rewriting
every URL-like string would corrupt them; there the known credentials of the run
(:func:`credentials_in` the parameters) are masked as exact strings (:func:`mask_credentials`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

API_KEY_ENV = "OPENAI_API_KEY"
MASK = "***"

SENSITIVE_QUERY_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "key",
        "token",
        "access_token",
        "auth",
        "password",
        "secret",
        "sig",
        "signature",
        "x-api-key",
    }
)
"""Query parameters whose value is a credential (compared case-insensitively)."""

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_SENSITIVE_PAIR = re.compile(
    r"(?<![^?&;])(" + "|".join(re.escape(k) for k in sorted(SENSITIVE_QUERY_KEYS)) + r")=[^&#;]*",
    re.IGNORECASE,
)


def public_url(url: str) -> str:
    """``url`` without user, password, query or fragment: an endpoint's identity, safe to store.

    Raises ``ValueError`` for anything that is not an http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            "an endpoint URL must look like http://host:port/v1 or https://..., got a value with "
            f"scheme {parts.scheme or '(none)'!r}"
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _redact_url(url: str) -> str:
    """One URL with its user info and credential-like query values masked; otherwise unchanged."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        host = parts.hostname or ""
        host = host if ":" not in host else f"[{host}]"
        netloc = f"{MASK}@{host}" + (f":{port}" if port else "")
    query = _SENSITIVE_PAIR.sub(lambda m: f"{m.group(1)}={MASK}", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with credentials in URLs and the value of ``OPENAI_API_KEY`` masked."""
    text = _URL.sub(lambda m: _redact_url(m.group(0)), text)
    key = os.environ.get(API_KEY_ENV)
    if key and len(key) >= 4:
        text = text.replace(key, MASK)
    return text


def redact(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings...) with every string redacted."""
    return map_strings(value, redact_text)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _strings(item)]
    return []


MIN_SECRET_LENGTH = 4
"""Shorter values are not masked as exact strings: they would hit ordinary text."""


def credentials_in(value: Any) -> set[str]:
    """The secrets written inside URLs anywhere in a JSON-like value, plus the API key.

    A secret is a URL's password, its whole ``user:password`` part, or the value of a credential
    query parameter (:data:`SENSITIVE_QUERY_KEYS`); a user name alone is not one.
    """
    found: set[str] = set()
    for text in _strings(value):
        for match in _URL.finditer(text):
            parts = urlsplit(match.group(0))
            userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
            if ":" in userinfo:
                found.update({userinfo, userinfo.split(":", 1)[1]})
            for pair in _SENSITIVE_PAIR.finditer(parts.query):
                found.add(pair.group(0).split("=", 1)[1])
    key = os.environ.get(API_KEY_ENV)
    if key:
        found.add(key)
    return {secret for secret in found if len(secret) >= MIN_SECRET_LENGTH}


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings...) with ``change`` applied to every string."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {key: map_strings(item, change) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_strings(item, change) for item in value)
    return value


def replace_exact(value: Any, replacements: Mapping[str, str]) -> Any:
    """A copy of a JSON-like value with every occurrence of each key replaced by its value.

    Longer keys go first, so a folder inside another one keeps its own label.
    """
    if not replacements:
        return value
    ordered = sorted(replacements.items(), key=lambda item: len(item[0]), reverse=True)

    def replace(text: str) -> str:
        for old, new in ordered:
            text = text.replace(old, new)
        return text

    return map_strings(value, replace)


def mask_credentials(value: Any, secrets: set[str]) -> Any:
    """A copy of a JSON-like value with every occurrence of the given secrets replaced by ``***``."""
    return replace_exact(value, dict.fromkeys(secrets, MASK))
