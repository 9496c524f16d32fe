"""Talking to one OpenAI-compatible chat endpoint: how to connect, and how to read a reply.

The key comes from ``OPENAI_API_KEY`` only; credentials a user put into ``llm.base_url`` are used
for the connection but masked in every log record of the HTTP stack (httpx logs full URLs).
Replies are read here (:func:`read_completion`) rather than by the ``openai`` client, which hands
back an HTML page as a plain string and raises a bare ``JSONDecodeError`` on broken JSON.
"""

from __future__ import annotations

import json
import logging
import os
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

import openai

from helpers.annotation.rating_cache import DEFAULT_OPENAI_URL
from helpers.privacy import API_KEY_ENV, MASK, SENSITIVE_QUERY_KEYS, public_url, redact_text

__all__ = [
    "LLMAnnotationError",
    "MalformedResponseError",
    "api_key_from_environment",
    "chat_client",
    "mask_secrets",
    "read_completion",
    "status_hint",
]

NO_CREDENTIAL = "none"
"""What the client sends where no key is needed (a local server): the openai client needs a value,
and the only real key is read from ``OPENAI_API_KEY``."""
_HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "openai", "openai._base_client")
"""Loggers of the HTTP stack; httpx logs every request's full URL at INFO level."""


class LLMAnnotationError(RuntimeError):
    """The endpoint could not rate a segment; the message names the segment and the last problem."""


class MalformedResponseError(ValueError):
    """An HTTP 200 whose body is not a chat completion (an HTML page, broken JSON, no choices)."""


_URL_SECRETS: set[str] = set()
"""Passwords and credential query values of the endpoints this process connected to."""


def _remember_url_secrets(url: str) -> None:
    """Note the credentials inside ``url``, so they are masked even where a server echoes them."""
    parts = urlsplit(url.strip())
    found = [parts.password or ""] + [
        value
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() in SENSITIVE_QUERY_KEYS
    ]
    # as written in the URL (percent-encoded) and as decoded, since either form may be echoed
    found += [quote(secret, safe="") for secret in found] + [unquote(secret) for secret in found]
    _URL_SECRETS.update(secret for secret in found if len(secret) >= 4)


def mask_secrets(text: str) -> str:
    """``text`` with URL credentials, the API key and any known endpoint credential masked."""
    text = redact_text(text)
    for secret in sorted(_URL_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def api_key_from_environment() -> str | None:
    """``OPENAI_API_KEY``, the only place a key is read from (None when unset or too short)."""
    key = os.environ.get(API_KEY_ENV)
    return key if key and len(key) >= 4 else None


class _RedactingFilter(logging.Filter):
    """Masks URL credentials and the API key in the records of a logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = mask_secrets(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_REDACTING_FILTER = _RedactingFilter()


def _redact_http_logs() -> None:
    """Attach the redacting filter to the HTTP stack's loggers (idempotent)."""
    for name in _HTTP_LOGGERS:
        target = logging.getLogger(name)
        if _REDACTING_FILTER not in target.filters:
            target.addFilter(_REDACTING_FILTER)


def chat_client(base_url: str, *, timeout_s: float, local: bool = False) -> openai.OpenAI:
    """An ``openai`` client for ``base_url`` that retries nothing itself (the caller does).

    A query in ``base_url`` (``...?api-version=1``) is sent with every request instead of being
    glued in front of the path; user info is left to the HTTP stack (basic auth). A real key is
    never sent to a local server; a self-hosted endpoint without ``OPENAI_API_KEY`` gets a
    placeholder.
    """
    if local:
        api_key = NO_CREDENTIAL
    else:
        api_key = api_key_from_environment()
        if api_key is None:
            if public_url(base_url) == public_url(DEFAULT_OPENAI_URL):
                raise LLMAnnotationError(
                    "OPENAI_API_KEY is not set: export it in the shell that runs the book, or "
                    "point llm.base_url (or OPENAI_BASE_URL) at a local OpenAI-compatible server"
                )
            api_key = NO_CREDENTIAL
    parts = urlsplit(base_url.strip())
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    _remember_url_secrets(base_url)
    _redact_http_logs()
    return openai.OpenAI(
        base_url=urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        api_key=api_key,
        default_query=query or None,
        max_retries=0,
        timeout=timeout_s,
    )


def preview(text: str, limit: int = 120) -> str:
    """``text`` on one line, credentials masked, cut to ``limit`` characters: safe to show."""
    flat = " ".join(mask_secrets(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def read_completion(content_type: str, body: str) -> tuple[str, dict[str, int]]:
    """The answer text and token usage of a chat-completions response body.

    Raises :class:`MalformedResponseError` saying what arrived instead (an HTML login page from a
    proxy, broken JSON, JSON without ``choices``). A reply without text content gives ``""``,
    which the rating parser reports as an empty answer.
    """
    kind = content_type.split(";")[0].strip() or "untyped"
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        raise MalformedResponseError(
            f"HTTP 200 with a {kind} body that is not JSON, so not a chat completion (it began "
            f"{preview(body)!r}); check that llm.base_url is the API's address, ending in /v1"
        ) from None
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices:
        raise MalformedResponseError(
            f"HTTP 200 with JSON that is not a chat completion (no 'choices'; it began "
            f"{preview(body)!r})"
        )
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    if not isinstance(message, dict):
        raise MalformedResponseError(
            "HTTP 200 with a chat completion whose first choice has no message"
        )
    content = message.get("content")
    usage = payload.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    tokens = {
        name: int(usage[name]) if isinstance(usage.get(name), (int, float)) else 0
        for name in ("prompt_tokens", "completion_tokens")
    }
    return (content if isinstance(content, str) else ""), tokens


def status_hint(status: int) -> str:
    """What an HTTP error status usually means for this annotator, as a parenthesis."""
    if status == 401:
        return " (the endpoint rejected the key: check OPENAI_API_KEY in the environment)"
    if status == 403:
        return " (the key has no access to this model or endpoint)"
    if status == 404:
        return " (unknown model or wrong path: check llm.model and that llm.base_url ends with /v1)"
    return ""
