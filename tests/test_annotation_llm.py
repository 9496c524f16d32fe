"""The ``llm`` annotator against real HTTP servers on 127.0.0.1 speaking the chat-completions format.

Each server is a small stdlib ThreadingHTTPServer whose behaviour a test chooses: well-behaved, one
that ignores ``response_format`` and wraps JSON in prose, one that refuses ``json_schema`` with HTTP
500 like llama.cpp, one that fails a few times first, one that answers out-of-range values...
The servers count what they receive, so the tests can prove what was (not) requested again.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import numpy as np
import pytest

from helpers.annotation.base import Segment
from helpers.annotation.endpoint import NO_CREDENTIAL
from helpers.annotation.llm import LLMAnnotationError, LLMAnnotator, has_llm_results
from helpers.annotation.llm_client import RESPONSE_MODE_BOOK
from helpers.annotation.prompt import (
    EMOTION_SCHEMA,
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    MalformedRatingError,
    build_messages,
    context_for,
    parse_rating,
)
from helpers.annotation.rating_cache import endpoint_id, request_key
from helpers.config import LLMParams
from helpers.study import EMOTIONS

SECRET = "sk-" + "test-DO-NOT-LEAK-7f3a9c21"  # built at run time so secret scanners skip this file


# --------------------------------------------------------------------------- a scriptable server
@dataclass
class Reply:
    """What the fake server sends back for one request."""

    status: int = 200
    content: str | None = None
    error: str = "server error"
    delay_s: float = 0.0
    body: bytes | None = None  # sent as is instead of a chat completion (HTML, broken JSON...)
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def ratings_for(passage_number: int, sample_shift: float = 0.0) -> dict[str, float]:
    """Known answer for passage ``n``: joy = n/100, fear = 1 - n/100, the rest fixed."""
    values = {e: round(0.05 * (k + 1) + sample_shift, 4) for k, e in enumerate(EMOTIONS)}
    values["joy"] = passage_number / 100
    values["fear"] = 1 - passage_number / 100
    return values


def passage_number(body: dict[str, Any]) -> int:
    """The number of the passage being rated: the last ``number N`` in the user message."""
    user = body["messages"][-1]["content"]
    return int(re.findall(r"number (\d+)", user)[-1])


def good_reply(body: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps(ratings_for(passage_number(body))))


class ChatServer:
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint driven by ``behaviour(n, body)``."""

    def __init__(self, behaviour: Callable[[int, dict[str, Any]], Reply]) -> None:
        self.behaviour = behaviour
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    number = len(server.bodies)
                    server.bodies.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.paths.append(self.path)
                reply = server.behaviour(number, body)
                with server._lock:
                    server.replies.append(reply)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status == 200:
                    payload = {
                        "id": f"chatcmpl-{number}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "m"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": reply.content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 100,
                            "completion_tokens": 40,
                            "total_tokens": 140,
                        },
                    }
                else:
                    payload = {
                        "error": {"message": reply.error, "type": "error", "code": reply.status}
                    }
                data = json.dumps(payload).encode() if reply.body is None else reply.body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def passages_answered(self) -> list[int]:
        return [passage_number(b) for b, r in zip(self.bodies, self.replies) if r.status == 200]

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh mode book and an API key in the environment, for every test."""
    RESPONSE_MODE_BOOK.clear()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    yield
    RESPONSE_MODE_BOOK.clear()


def story(n: int) -> list[Segment]:
    return [
        Segment(
            index=i,
            text=f"This is passage number {i} of the story.",
            onset=20.0 + 5 * i,
            offset=24.0 + 5 * i,
        )
        for i in range(n)
    ]


def params_for(server: ChatServer, **changes: Any) -> LLMParams:
    settings: dict[str, Any] = {
        "model": "test-model",
        "base_url": server.base_url,
        "max_retries": 3,
        "max_concurrency": 4,
        "timeout_s": 5.0,
        "backoff_s": 0.001,
    }
    settings.update(changes)
    return LLMParams(**settings)


def annotator(params: LLMParams, cache_dir: Path) -> LLMAnnotator:
    return LLMAnnotator(params, cache_dir, progress=False)


def expected_scores(n: int) -> np.ndarray:
    return np.array([[ratings_for(i)[e] for e in EMOTIONS] for i in range(n)])


def all_written_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- pure functions
def test_prompt_and_schema_are_public_and_versioned() -> None:
    assert PROMPT_VERSION == "emotion_rating_v1"
    assert all(e in SYSTEM_PROMPT for e in EMOTIONS)
    assert EMOTION_SCHEMA["required"] == list(EMOTIONS)
    for e in EMOTIONS:
        assert EMOTION_SCHEMA["properties"][e] == {"type": "number", "minimum": 0, "maximum": 1}


def test_context_modes_choose_the_right_text() -> None:
    texts = [f"s{i}." for i in range(6)]
    assert context_for(texts, 4, "previous", 2) == ["s2.", "s3."]
    assert context_for(texts, 1, "previous", 3) == ["s0."]
    assert context_for(texts, 4, "cumulative", 2) == ["s0.", "s1.", "s2.", "s3."]
    assert context_for(texts, 4, "none", 3) == []
    assert context_for(texts, 0, "cumulative", 3) == []

    cumulative = build_messages("s4.", ["s0.", "s1."], "cumulative")
    assert cumulative[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "s0. s1. s4." in cumulative[1]["content"]
    assert cumulative[1]["content"].rstrip().endswith("s4.")
    previous = build_messages("s4.", ["s3."], "previous")[1]["content"]
    assert previous.index("s3.") < previous.index("s4.")
    alone = build_messages("s0.", [], "previous")[1]["content"]
    assert "context" not in alone.lower() and "s0." in alone


def test_parse_rating_is_strict_first_then_tolerant() -> None:
    exact = ratings_for(30)
    assert parse_rating(json.dumps(exact)) == (exact, False)
    fenced = f"Here you go:\n```json\n{json.dumps(exact)}\n```\nThese reflect the calm mood."
    assert parse_rating(fenced) == (exact, True)
    nested = json.dumps({"emotions": {k.capitalize(): v for k, v in exact.items()}, "note": "x"})
    assert parse_rating(nested)[0] == exact
    prose = "Ratings: " + ", ".join(f"{k}: {v}" for k, v in exact.items())
    assert parse_rating(prose) == (exact, True)
    with pytest.raises(MalformedRatingError, match="schema"):
        parse_rating(json.dumps({k: v for k, v in exact.items() if k != "anger"}))
    with pytest.raises(MalformedRatingError, match="no JSON object"):
        parse_rating("I would say mostly joy, a little fear.")
    with pytest.raises(MalformedRatingError):
        parse_rating(json.dumps({**exact, "joy": float("nan")}))
    with pytest.raises(MalformedRatingError, match="empty"):
        parse_rating("   ")


def test_endpoint_identity_drops_credentials_and_names_the_key() -> None:
    params = LLMParams(base_url="https://user:pw@example.org:8443/v1/?api-key=xyz#f")
    assert endpoint_id(params) == "https://example.org:8443/v1"
    with pytest.raises(ValueError, match="llm.base_url"):
        endpoint_id(LLMParams(base_url="example.org/v1"))


def test_cache_key_changes_with_every_setting() -> None:
    llm = LLMParams(model="m", context="previous", context_size=3, temperature=0.0)
    base = ("http://h/v1", llm, 0, "text", ["a"])
    keys = {request_key(*base)}
    others = ["http://g/v1", None, 1, "text2", ["b"]]
    for position, other in enumerate(others):
        if other is None:
            continue
        changed = list(base)
        changed[position] = other
        keys.add(request_key(*changed))
    for setting in (
        {"model": "m2"},
        {"context": "cumulative"},
        {"context_size": 4},
        {"temperature": 0.7},
    ):
        keys.add(request_key("http://h/v1", llm.model_copy(update=setting), 0, "text", ["a"]))
    assert len(keys) == 9
    # the context size does not matter when the context is the whole story so far
    cumulative = llm.model_copy(update={"context": "cumulative"})
    assert request_key("h", cumulative, 0, "t", []) == request_key(
        "h", cumulative.model_copy(update={"context_size": 9}), 0, "t", []
    )


# --------------------------------------------------------------------------- against servers
def test_happy_path_scores_each_segment_with_schema(tmp_path: Path) -> None:
    with ChatServer(lambda n, body: good_reply(body)) as server:
        result = annotator(params_for(server), tmp_path).annotate(story(12))
    assert result.scores.shape == (12, 8)
    assert list(result.scores.columns) == list(EMOTIONS)
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(12))
    assert len(server.bodies) == 12
    first = server.bodies[0]
    assert first["model"] == "test-model" and first["temperature"] == 0.0
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"] == EMOTION_SCHEMA
    assert server.headers[0]["authorization"] == f"Bearer {SECRET}"
    prov = result.provenance
    assert prov["response_mode"] == "json_schema" and prov["n_requested"] == 12
    assert prov["cache_hits"] == 0 and prov["n_retries"] == 0 and prov["n_clamped_values"] == 0
    assert prov["endpoint"] == server.base_url and prov["prompt_version"] == PROMPT_VERSION
    assert prov["prompt_tokens"] == 1200


def test_server_ignoring_response_format_answers_in_prose(tmp_path: Path) -> None:
    def chatty(n: int, body: dict[str, Any]) -> Reply:
        ratings = json.dumps(ratings_for(passage_number(body)), indent=2)
        return Reply(
            content=f"Sure! Here are the ratings:\n```json\n{ratings}\n```\nLet me know {{if}} more."
        )

    with ChatServer(chatty) as server:
        result = annotator(params_for(server), tmp_path).annotate(story(6))
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(6))
    assert result.provenance["n_parsed_from_prose"] == 6
    assert result.provenance["n_http_requests"] == 6


def test_llama_cpp_like_server_refusing_json_schema_falls_back_once(tmp_path: Path) -> None:
    def llama_like(n: int, body: dict[str, Any]) -> Reply:
        kind = (body.get("response_format") or {}).get("type")
        if kind == "json_schema":
            return Reply(status=500, error="response_format type must be text or json_object")
        assert kind == "json_object" and body["response_format"]["schema"] == EMOTION_SCHEMA
        return good_reply(body)

    with ChatServer(llama_like) as server:
        params = params_for(server, max_concurrency=4)
        result = annotator(params, tmp_path).annotate(story(10))
        kinds = [b["response_format"]["type"] for b in server.bodies]
        # the mode is found once per endpoint (two tries of json_schema), then remembered
        assert kinds.count("json_schema") == 2 and kinds.count("json_object") == 10
        assert result.provenance["response_mode"] == "json_object"
        assert result.provenance["n_mode_fallbacks"] == 1
        np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(10))
        # a new annotator on the same endpoint (and a fresh process reading the cache) starts there
        RESPONSE_MODE_BOOK.clear()
        more = annotator(params, tmp_path).annotate(story(13))
        new_kinds = [b["response_format"]["type"] for b in server.bodies[len(kinds) :]]
        assert new_kinds == ["json_object"] * 3
        assert more.provenance["cache_hits"] == 10


def test_server_refusing_every_response_format_gets_plain_text(tmp_path: Path) -> None:
    def strict_text(n: int, body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return Reply(status=400, error="response_format is not supported")
        return Reply(content="My answer: " + json.dumps(ratings_for(passage_number(body))))

    with ChatServer(strict_text) as server:
        result = annotator(params_for(server), tmp_path).annotate(story(4))
    assert [("response_format" in b) for b in server.bodies] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert result.provenance["response_mode"] == "text"
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(4))


def test_malformed_json_is_retried_then_fails_naming_the_segment(tmp_path: Path) -> None:
    def broken_for_passage_2(n: int, body: dict[str, Any]) -> Reply:
        if passage_number(body) == 2:
            return Reply(content='{"joy": 0.3, "fear": ')
        return good_reply(body)

    with ChatServer(broken_for_passage_2) as server:
        params = params_for(server, max_retries=2, max_concurrency=1)
        with pytest.raises(LLMAnnotationError) as caught:
            annotator(params, tmp_path).annotate(story(4))
        message = str(caught.value)
        assert "segment 2" in message and "passage number 2" in message
        assert "malformed" in message and "3 request(s)" in message
        assert [passage_number(b) for b in server.bodies].count(2) == 3
        # passages 0 and 1 before it, none after it
        assert [passage_number(b) for b in server.bodies] == [0, 1, 2, 2, 2]


NOT_A_COMPLETION = {
    "html": Reply(
        body=b"<html><body><h1>Sign in to the proxy</h1></body></html>", content_type="text/html"
    ),
    "broken_json": Reply(body=b'{"id": "x", "choices": [{"message": '),
    "empty_body": Reply(body=b""),
    "json_list": Reply(body=b"[1, 2, 3]"),
    "no_choices": Reply(body=b'{"object": "chat.completion", "choices": []}'),
    "plain_text": Reply(body=b"upstream connect error", content_type="text/plain"),
}


@pytest.mark.parametrize("kind", sorted(NOT_A_COMPLETION))
def test_http_200_that_is_not_a_chat_completion_is_retried_then_named(
    tmp_path: Path, kind: str
) -> None:
    def bad_for_passage_1(n: int, body: dict[str, Any]) -> Reply:
        return NOT_A_COMPLETION[kind] if passage_number(body) == 1 else good_reply(body)

    with ChatServer(bad_for_passage_1) as server:
        params = params_for(server, max_retries=2, max_concurrency=1)
        with pytest.raises(LLMAnnotationError) as caught:
            annotator(params, tmp_path).annotate(story(3))
    message = str(caught.value)
    assert "segment 1 " in message and server.base_url in message
    assert "malformed response" in message and "3 request(s)" in message
    assert "\n" not in message
    if kind == "html":
        assert "text/html body that is not JSON" in message and "Sign in" in message
    # retried, then nothing more: passage 2 is never asked for
    assert [passage_number(b) for b in server.bodies] == [0, 1, 1, 1]


def test_a_malformed_response_once_is_retried_and_counted(tmp_path: Path) -> None:
    def html_first(n: int, body: dict[str, Any]) -> Reply:
        return NOT_A_COMPLETION["html"] if n == 0 else good_reply(body)

    with ChatServer(html_first) as server:
        result = annotator(params_for(server, max_concurrency=1), tmp_path).annotate(story(2))
    assert len(server.bodies) == 3
    assert result.provenance["retry_causes"] == {"malformed_response": 1}
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(2))


@pytest.mark.parametrize(
    ("failure", "named"),
    [
        (NOT_A_COMPLETION["html"], "text/html"),
        (Reply(content="Sorry, I cannot."), "malformed answer"),
    ],
)
def test_no_request_goes_out_once_a_segment_failed_for_good(
    tmp_path: Path, failure: Reply, named: str
) -> None:
    """Other segments waiting to retry (here a 429 with Retry-After) give up instead of sending."""
    seen: set[int] = set()
    others_waiting = threading.Event()

    def fail_0_rate_limit_the_others_first(n: int, body: dict[str, Any]) -> Reply:
        number = passage_number(body)
        if number == 0:
            others_waiting.wait(5.0)  # fail only once segments 1-3 wait to retry
            return failure
        if number not in seen:
            seen.add(number)
            if len(seen) == 3:
                others_waiting.set()
            return Reply(status=429, error="slow down", headers={"Retry-After": "2"})
        return good_reply(body)

    with ChatServer(fail_0_rate_limit_the_others_first) as server:
        params = params_for(server, max_retries=2, max_concurrency=4)
        RESPONSE_MODE_BOOK.remember((server.base_url, params.model), "json_schema")
        began = time.perf_counter()
        with pytest.raises(LLMAnnotationError, match=f"segment 0 .*{named}"):
            annotator(params, tmp_path).annotate(story(8))
        seconds = time.perf_counter() - began
        asked = sorted(passage_number(b) for b in server.bodies)
    # three tries of segment 0 and the first (rate-limited) request of segments 1-3; no retry
    # after the 2 s Retry-After, and segments 4-7 never started
    assert asked == [0, 0, 0, 1, 2, 3]
    assert seconds < 1.5


def test_malformed_once_then_success(tmp_path: Path) -> None:
    def broken_first(n: int, body: dict[str, Any]) -> Reply:
        return Reply(content="sorry, I cannot") if n == 0 else good_reply(body)

    with ChatServer(broken_first) as server:
        result = annotator(params_for(server, max_concurrency=1), tmp_path).annotate(story(3))
    assert len(server.bodies) == 4
    assert result.provenance["n_malformed_answers"] == 1 and result.provenance["n_retries"] == 1
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(3))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_http_errors_are_retried(tmp_path: Path, status: int) -> None:
    def flaky_first_two(n: int, body: dict[str, Any]) -> Reply:
        return Reply(status=status, error="try again") if n < 1 else good_reply(body)

    with ChatServer(flaky_first_two) as server:
        result = annotator(params_for(server, max_concurrency=1), tmp_path).annotate(story(3))
    assert len(server.bodies) == 4
    # a lone server error does not make the endpoint look unable to honour the schema
    assert all(b["response_format"]["type"] == "json_schema" for b in server.bodies)
    assert result.provenance["n_retries"] == 1
    assert result.provenance["retry_causes"] == {str(status): 1}
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(3))


def test_persistent_rate_limit_gives_up_after_bounded_retries(tmp_path: Path) -> None:
    with (
        ChatServer(lambda n, body: Reply(status=429, error="slow down")) as server,
        pytest.raises(LLMAnnotationError, match="429"),
    ):
        annotator(params_for(server, max_retries=2, max_concurrency=1), tmp_path).annotate(story(1))
    assert len(server.bodies) == 3


def test_timeout_is_retried(tmp_path: Path) -> None:
    def slow_first(n: int, body: dict[str, Any]) -> Reply:
        reply = good_reply(body)
        reply.delay_s = 1.5 if n == 0 else 0.0
        return reply

    with ChatServer(slow_first) as server:
        result = annotator(params_for(server, timeout_s=0.4, max_concurrency=1), tmp_path).annotate(
            story(2)
        )
    assert result.provenance["retry_causes"] == {"timeout": 1}
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(2))


def wild(body: dict[str, Any]) -> dict[str, float]:
    values = ratings_for(passage_number(body))
    values["joy"] = 14.5
    values["anger"] = -0.2
    return values


def test_out_of_range_values_are_clamped_and_counted(tmp_path: Path) -> None:
    with ChatServer(lambda n, body: Reply(content=json.dumps(wild(body)))) as server:
        result = annotator(params_for(server, max_clamped_share=0.25), tmp_path).annotate(story(5))
    assert (result.scores["joy"] == 1.0).all() and (result.scores["anger"] == 0.0).all()
    np.testing.assert_allclose(result.scores["fear"], [1 - i / 100 for i in range(5)])
    assert result.provenance["n_clamped_values"] == 10
    assert result.provenance["clamped_by_emotion"]["joy"] == 5
    assert result.provenance["clamped_by_emotion"]["anger"] == 5


def test_a_run_with_mostly_clamped_ratings_stops_and_keeps_the_answers(tmp_path: Path) -> None:
    """A server answering every rating out of range must not give constant targets silently."""
    calls = []

    def out_of_scale(n: int, body: dict[str, Any]) -> Reply:
        calls.append(n)
        return Reply(content=json.dumps({e: 7.0 for e in EMOTIONS}))

    with ChatServer(out_of_scale) as server:
        with pytest.raises(LLMAnnotationError) as info:
            annotator(params_for(server), tmp_path).annotate(story(4))
        message = str(info.value)
        assert "32 of 32 ratings (100%)" in message and "llm.max_clamped_share = 0.05" in message
        assert "llm.out_of_range: clamp" in message
        asked = len(calls)
        accepting = params_for(server, max_clamped_share=1.0)
        result = annotator(accepting, tmp_path).annotate(story(4))
    assert len(calls) == asked  # the re-run read every answer from the cache
    assert (result.scores.to_numpy() == 1.0).all() and result.provenance["n_clamped_values"] == 32


def test_out_of_range_values_rejected_in_reject_mode(tmp_path: Path) -> None:
    strict = {"out_of_range": "reject", "max_retries": 1}
    with (
        ChatServer(lambda n, body: Reply(content=json.dumps(wild(body)))) as server,
        pytest.raises(LLMAnnotationError, match=r"outside \[0, 1\] rejected"),
    ):
        annotator(params_for(server, **strict), tmp_path).annotate(story(1))
    assert len(server.bodies) == 2

    def wild_first(n: int, body: dict[str, Any]) -> Reply:
        return Reply(content=json.dumps(wild(body))) if n == 0 else good_reply(body)

    with ChatServer(wild_first) as server:
        params = params_for(server, out_of_range="reject", max_concurrency=1)
        result = annotator(params, tmp_path / "second").annotate(story(3))
    assert (
        result.provenance["n_rejected_answers"] == 1 and result.provenance["n_clamped_values"] == 0
    )
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(3))


def test_interrupted_run_resumes_without_repeating_a_request(tmp_path: Path) -> None:
    state = {"healthy": False}

    def dies_after_five(n: int, body: dict[str, Any]) -> Reply:
        if n < 5 or state["healthy"]:
            return good_reply(body)
        return Reply(status=401, error="key revoked")

    segments = story(16)
    with ChatServer(dies_after_five) as server:
        params = params_for(server, max_concurrency=3)
        with pytest.raises(LLMAnnotationError, match="401"):
            annotator(params, tmp_path).annotate(segments)
        answered_first = server.passages_answered()
        n_first = len(server.bodies)
        assert len(answered_first) == 5
        cache_file = tmp_path / "llm_ratings.jsonl"
        assert len(cache_file.read_text().splitlines()) == 5
        with open(cache_file, "a") as handle:  # a line cut short by an interruption
            handle.write('{"key": "cut-short", "ra')
        assert not has_llm_results(params, segments, tmp_path)

        state["healthy"] = True
        result = annotator(params, tmp_path).annotate(segments)
        asked_again = [passage_number(b) for b in server.bodies[n_first:]]
        assert len(asked_again) == 11
        assert not set(asked_again) & set(answered_first)
        assert result.provenance["cache_hits"] == 5
        np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(16))
        assert has_llm_results(params, segments, tmp_path)
    # the fragment was closed off: every later line parses again
    lines = cache_file.read_text().splitlines()
    assert len(lines) == 17 and sum(1 for line in lines if '"raw":' in line) == 16
    assert all(json.loads(line)["key"] for line in lines if '"raw":' in line)


def test_rerun_makes_no_request_and_settings_change_the_key(tmp_path: Path) -> None:
    segments = story(8)
    with ChatServer(lambda n, body: good_reply(body)) as server:
        params = params_for(server)
        assert not has_llm_results(params, segments, tmp_path)
        first = annotator(params, tmp_path).annotate(segments)
        assert has_llm_results(params, segments, tmp_path)
        n_before = len(server.bodies)
        started = time.perf_counter()
        again = annotator(params, tmp_path).annotate(segments)
        assert time.perf_counter() - started < 1.0
        assert len(server.bodies) == n_before == 8
        assert again.provenance["cache_hits"] == 8 and again.provenance["n_http_requests"] == 0
        np.testing.assert_allclose(again.scores.to_numpy(), first.scores.to_numpy())
        for change in (
            {"temperature": 0.5},
            {"context_size": 1},
            {"model": "other"},
            {"context": "cumulative"},
        ):
            assert not has_llm_results(params.model_copy(update=change), segments, tmp_path), change
        # a limited run (max_segments) is covered by the full cache
        assert has_llm_results(params.model_copy(update={"max_segments": 3}), segments, tmp_path)


def test_samples_are_kept_per_request(tmp_path: Path) -> None:
    def varied(n: int, body: dict[str, Any]) -> Reply:
        return Reply(
            content=json.dumps(ratings_for(passage_number(body), sample_shift=0.01 * (n % 3)))
        )

    with ChatServer(varied) as server:
        model = annotator(
            params_for(server, n_samples=3, temperature=0.7, max_concurrency=1), tmp_path
        )
        result = model.annotate(story(4))
    assert len(server.bodies) == 12 and server.bodies[0]["temperature"] == 0.7
    samples = model.sample_scores()
    assert samples.shape == (3, 4, 8)
    np.testing.assert_allclose(np.asarray(result.provenance["samples"]), samples)
    np.testing.assert_allclose(result.scores.to_numpy(), samples.mean(axis=0))
    assert samples[:, :, EMOTIONS.index("anticipation")].std(axis=0).min() > 0


def test_cumulative_context_sends_the_story_so_far(tmp_path: Path) -> None:
    with ChatServer(lambda n, body: good_reply(body)) as server:
        annotator(params_for(server, context="cumulative", max_concurrency=1), tmp_path).annotate(
            story(4)
        )
    last = max(server.bodies, key=passage_number)["messages"][-1]["content"]
    assert all(f"number {i} " in last for i in range(4))


def test_the_key_never_leaves_the_environment(tmp_path: Path) -> None:
    def leaky(n: int, body: dict[str, Any]) -> Reply:
        if passage_number(body) == 3:  # a hostile server echoing the key into its error
            return Reply(status=403, error=f"key {SECRET} has no access")
        return good_reply(body)

    with ChatServer(leaky) as server:
        params = params_for(server, max_concurrency=1)
        with pytest.raises(LLMAnnotationError) as caught:
            annotator(params, tmp_path).annotate(story(5))
        assert server.headers[0]["authorization"] == f"Bearer {SECRET}"
        assert SECRET not in str(caught.value) and "403" in str(caught.value)
        result = annotator(params, tmp_path).annotate(story(3))
    assert SECRET not in json.dumps(result.provenance)
    assert SECRET not in all_written_text(tmp_path)
    assert len(all_written_text(tmp_path)) > 0


def test_missing_key_for_openai_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(LLMAnnotationError, match="OPENAI_API_KEY is not set"):
        LLMAnnotator(LLMParams(), tmp_path, progress=False).annotate(story(2))


def test_local_compatible_server_needs_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with ChatServer(lambda n, body: good_reply(body)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        params = LLMParams(model="m", backoff_s=0.001)
        result = LLMAnnotator(params, tmp_path, progress=False).annotate(story(2))
    assert result.provenance["endpoint"] == server.base_url
    assert server.headers[0]["authorization"] == f"Bearer {NO_CREDENTIAL}"


def test_identical_requests_are_sent_once(tmp_path: Path) -> None:
    twice = [
        Segment(index=i, text="Oh dear! This is passage number 7.", onset=i, offset=i + 1)
        for i in range(2)
    ]
    with ChatServer(lambda n, body: good_reply(body)) as server:
        result = annotator(params_for(server, context="none"), tmp_path).annotate(twice)
    assert len(server.bodies) == 1
    np.testing.assert_allclose(result.scores.to_numpy(), expected_scores(8)[[7, 7]])


# --------------------------------------------------------------------------- the whole annotation
def rating_by_length(n: int, body: dict[str, Any]) -> Reply:
    """Ratings that vary with the length of the passage (real story text has no numbers)."""
    length = len(body["messages"][-1]["content"])
    return Reply(
        content=json.dumps({e: (length * (k + 3)) % 97 / 100 for k, e in enumerate(EMOTIONS)})
    )


def test_credentials_in_base_url_reach_no_file_log_or_error(
    fresh_data_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from helpers.annotation import annotate
    from helpers.annotation.targets import emotion_targets
    from helpers.config import Params

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    password, query_secret = "pw-" + "Q7x9Lm2", "qs-" + "Z4k8Rt1"  # built at run time
    caplog.set_level(logging.DEBUG)
    with ChatServer(rating_by_length) as server:
        port = server.httpd.server_address[1]
        base_url = f"http://user:{password}@127.0.0.1:{port}/v1?api_key={query_secret}"
        llm = {"model": "m", "base_url": base_url, "max_concurrency": 8, "backoff_s": 0.001}
        params = Params(annotation={"annotator": "llm"}, llm=llm)
        annotation = annotate(params)
        emotion_targets(params)
        # the credentials were used as meant: basic auth and a query parameter of every request
        assert server.paths[0] == f"/v1/chat/completions?api_key={query_secret}"
        assert server.headers[0]["authorization"].startswith("Basic ")

        def refuse_echoing(n: int, body: dict[str, Any]) -> Reply:  # a server quoting the request
            return Reply(status=403, error=f"no access for {base_url} {password} {query_secret}")

        server.behaviour = refuse_echoing
        failing = Params(annotation={"annotator": "llm"}, llm={**llm, "model": "other"})
        with pytest.raises(LLMAnnotationError) as caught:
            annotate(failing)
    public = f"http://127.0.0.1:{port}/v1"
    assert annotation.provenance["endpoint"] == public and public in str(caught.value)
    written = list(fresh_data_home.rglob("*"))
    assert any(p.name == "key.json" for p in written) and any(p.suffix == ".jsonl" for p in written)
    for secret in (password, query_secret, SECRET):
        assert secret not in str(caught.value)
        assert secret not in caplog.text
        assert secret not in all_written_text(fresh_data_home), secret
    assert "HTTP Request" in caplog.text  # the HTTP stack did log the requests, masked


@pytest.mark.notebooks  # executes chapter 01
def test_chapter_01_reports_constant_llm_ratings_as_undefined(
    fresh_data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All ratings 0.5: every correlation with the llm is undefined, and the chapter says so."""
    from book_runner.runner import ROOT, execute_chapter

    results = tmp_path / "results"
    monkeypatch.setenv("ALICE_RESULTS_DIR", str(results))
    flat = json.dumps({e: 0.5 for e in EMOTIONS})
    with ChatServer(lambda n, body: Reply(content=flat)) as server:
        llm = {"model": "m", "base_url": server.base_url, "max_concurrency": 8, "backoff_s": 0.001}
        overrides = {"annotation": {"annotator": "llm"}, "llm": llm}
        executed = execute_chapter(
            ROOT / "notebooks" / "01_annotation.md",
            ROOT / "params" / "quick.yml",
            overrides,
            output_dir=tmp_path / "executed",
        )
    numbers = json.loads((results / "01_annotation.json").read_text())
    assert numbers["llm_present"] and numbers["strongest_cooccurrence"]["pair"] is None
    assert all(rho is None for rho in numbers["agreement_spearman"]["reference_vs_llm"].values())
    assert "rho of anticipation, joy" in executed.read_text()
    assert "is undefined (second ratings all 0.5)" in executed.read_text()
