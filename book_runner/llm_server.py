"""``python -m book_runner llm-server``: serve the packaged small model with llama.cpp until interrupted.

The chapters start and stop the same server themselves (``llm.server: local``); this launcher is for
a reader who wants the endpoint for their own runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from helpers.annotation.local_server import LocalLLMError, LocalLLMServer


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Serve the packaged model until interrupted, printing the base URL to use."""
    parser = argparse.ArgumentParser(
        prog="python -m book_runner llm-server",
        description="Serve a GGUF model with llama.cpp on 127.0.0.1.",
    )
    parser.add_argument(
        "--model", default=None, help="a .gguf file (default: packaged SmolLM2-135M)"
    )
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--n-ctx", type=int, default=2048, help="context window in tokens")
    args = parser.parse_args(argv)
    try:
        server = LocalLLMServer(args.model, port=args.port, n_ctx=args.n_ctx).start()
    except LocalLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"serving {server.model_alias} at {server.base_url} "
        f"(started in {server.startup_seconds:.1f} s)"
    )
    print(f"use it with: export OPENAI_BASE_URL={server.base_url}   # Ctrl-C stops it", flush=True)
    # SIGTERM (e.g. from `kill` or a process manager) stops the server as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
