#!/usr/bin/env bash
# Puts promtool in .venv/tools/ from Debian's prometheus package without installing the
# package (no server, no service). A promtool already on PATH is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.venv/tools
if command -v promtool >/dev/null 2>&1 || [ -x "$dest/promtool" ]; then exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install promtool yourself" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && (apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null; }) )
dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
mkdir -p "$dest"
cp "$work/x/usr/bin/promtool" "$dest/promtool"
echo "promtool installed in $dest"
