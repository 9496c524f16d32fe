#!/usr/bin/env bash
# Installs the headless browser used by tests/test_site.py (Debian's chromium) when it is missing.
# Needs root (or sudo) and access to the Debian package mirror; run once per machine.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
