#!/usr/bin/env bash
# Installs a font with Chinese glyphs (Debian's fonts-wqy-microhei, about 5 MB, Apache-2.0 /
# GPLv3 with the font exception) when fontconfig knows none: the monthly report's plots
# (matplotlib) and its PDF (weasyprint, through fontconfig) draw the departments' Chinese
# names with it. Nothing else is installed. Needs root (apt-get).
set -euo pipefail
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh file 2>/dev/null)" ]; then exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install a CJK font (fonts-wqy-microhei or fonts-noto-cjk) yourself" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# -o DPkg::Lock::Timeout: another apt-get (a build installing its packages) holds the lock
apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends fontconfig fonts-wqy-microhei >/dev/null 2>&1 || {
  apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends fontconfig fonts-wqy-microhei >/dev/null
}
echo "CJK font installed: $(fc-list :lang=zh file | head -1)"
