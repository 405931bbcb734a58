#!/usr/bin/env bash
# Debian's Chromium for the browser test of the certificate page (tests/certificates/test_browser.py).
# Installs it with apt-get when it is missing and we are root; otherwise says what to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser.sh: installing chromium from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    exit 0
fi
echo "browser.sh: chromium is missing; install Debian's chromium package" >&2
exit 1
