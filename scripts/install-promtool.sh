#!/usr/bin/env bash
# Puts promtool and the Prometheus server binary in .venv/tools/ from Debian's prometheus
# package without installing the package (no service is set up or started): promtool checks
# /metrics and the shipped rules, the server is started by tests/metrics/test_real_prometheus.py
# on a free port against `hotline serve`. Binaries already on PATH are used as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.venv/tools
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$dest/$1" ]; }
if have promtool && have prometheus; then exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install prometheus yourself" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && (apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null; }) )
dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
mkdir -p "$dest"
for tool in promtool prometheus; do
  have "$tool" || cp "$work/x/usr/bin/$tool" "$dest/$tool"
done
echo "promtool and prometheus installed in $dest"
