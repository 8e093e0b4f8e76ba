#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver (the headless browser the desk page's tests
# drive through selenium) when either is missing. Nothing else: no recommended packages, no
# browser downloaded by Selenium Manager. Needs root (apt-get).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install chromium and chromium-driver yourself" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# -o DPkg::Lock::Timeout: another apt-get (a build installing its packages) holds the lock
apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || {
  apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends chromium chromium-driver >/dev/null
}
echo "chromium installed: $(chromium --version 2>/dev/null || echo '?'), $(command -v chromedriver)"
