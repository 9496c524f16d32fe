"""How fast the ``llm`` annotator rates the story against a server that takes 200 ms per answer.

Run: ``python benchmarks/bench_annotation.py``. A local chat-completions server on 127.0.0.1 sleeps
200 ms before each answer; 90 segments are rated with ``max_concurrency: 8`` (target under 5 s,
against 18 s one at a time), then rated again from the cache (target under 1 s, no request).
Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from helpers.annotation.base import Segment
from helpers.annotation.llm import LLMAnnotator
from helpers.config import LLMParams
from helpers.study import EMOTIONS

ANSWER = json.dumps({emotion: round(0.1 * (k + 1), 1) for k, emotion in enumerate(EMOTIONS)})


def start_slow_server(latency_s: float) -> tuple[ThreadingHTTPServer, list[int]]:
    """A chat-completions endpoint that waits ``latency_s`` before every answer; counts requests."""
    counter: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            counter.append(1)
            time.sleep(latency_s)
            payload = {
                "id": "bench",
                "object": "chat.completion",
                "created": 0,
                "model": "bench-model",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": ANSWER},
                    }
                ],
                "usage": {"prompt_tokens": 250, "completion_tokens": 60, "total_tokens": 310},
            }
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=90)
    parser.add_argument("--latency", type=float, default=0.2, help="server seconds per answer")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    import openai  # noqa: F401 - imported before timing: its import alone takes seconds on a busy machine

    server, counter = start_slow_server(args.latency)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    segments = [
        Segment(
            index=i,
            text=f"Segment {i}: Alice followed the White Rabbit once more.",
            onset=20.0 + 8 * i,
            offset=27.0 + 8 * i,
        )
        for i in range(args.segments)
    ]
    params = LLMParams(model="bench-model", base_url=base_url, max_concurrency=args.concurrency)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_llm_") as cache_dir:
            started = time.perf_counter()
            LLMAnnotator(params, Path(cache_dir), progress=False).annotate(segments)
            first = time.perf_counter() - started
            requests_first = len(counter)

            started = time.perf_counter()
            cached = LLMAnnotator(params, Path(cache_dir), progress=False).annotate(segments)
            again = time.perf_counter() - started
            requests_again = len(counter) - requests_first
    finally:
        server.shutdown()
        server.server_close()

    serial = args.segments * args.latency
    ok_first, ok_again = first < 5.0, again < 1.0 and requests_again == 0
    print(
        f"{args.segments} segments, server latency {args.latency * 1000:.0f} ms, "
        f"max_concurrency {args.concurrency} (one at a time would take {serial:.1f} s)"
    )
    print(
        f"first run : {first:6.2f} s  {requests_first} requests  target < 5 s  {'ok' if ok_first else 'MISSED'}"
    )
    print(
        f"cached run: {again:6.2f} s  {requests_again} requests  target < 1 s  {'ok' if ok_again else 'MISSED'}"
        f"  (cache hits {cached.provenance['cache_hits']})"
    )
    return 0 if ok_first and ok_again else 1


if __name__ == "__main__":
    raise SystemExit(main())
