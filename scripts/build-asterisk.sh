#!/usr/bin/env bash
# Builds the Asterisk source tarball the project tests against into a private prefix.
# For the test suite and for trying the project out; production sites bring their own Asterisk.
#
#   ASTERISK_SOURCE  the tarball   (default ../shared/asterisk/src/asterisk-20.20.1.tar.xz,
#                                   relative to the repository)
#   ASTERISK_PREFIX  where it goes (default .asterisk/<version> inside the repository, git-ignored)
#   ASTERISK_JOBS    make -j       (default: number of CPUs)
#
# Nothing is downloaded except the Debian build packages (by name, only the missing ones):
# no sounds, no bundled pjproject or libjwt. SIP phones therefore use chan_sip.
# A prefix whose sbin/asterisk already reports the same version is reused as it is.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src=${ASTERISK_SOURCE:-$repo/../shared/asterisk/src/asterisk-20.20.1.tar.xz}
name=$(basename "$src"); name=${name%.tar.*}          # asterisk-20.20.1
version=${name#asterisk-}
prefix=${ASTERISK_PREFIX:-$repo/.asterisk/$version}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
jobs=${ASTERISK_JOBS:-$(nproc 2>/dev/null || echo 2)}

built() { [ -x "$prefix/sbin/asterisk" ] && "$prefix/sbin/asterisk" -V 2>/dev/null | grep -qx "Asterisk $version"; }

if built; then echo "build-asterisk: reusing $prefix ($("$prefix/sbin/asterisk" -V))"; exit 0; fi

# One build per prefix at a time (two CI runs may share a cache directory).
exec 9>"$prefix/.build.lock"
flock 9
if built; then echo "build-asterisk: reusing $prefix (built meanwhile)"; exit 0; fi

[ -f "$src" ] || { echo "build-asterisk: no source tarball at $src (set ASTERISK_SOURCE)" >&2; exit 1; }
src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")

# --- Debian build packages, by name, only those missing -------------------------------------
pkgs="build-essential pkg-config xz-utils libjansson-dev libxml2-dev libsqlite3-dev uuid-dev
      libedit-dev libssl-dev libncurses-dev libcurl4-openssl-dev libpq-dev"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "build-asterisk: installing Debian packages:$missing"
  command -v apt-get >/dev/null || { echo "build-asterisk: no apt-get; install:$missing" >&2; exit 1; }
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  $sudo apt-get install -y -q --no-install-recommends $missing \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends $missing; }
fi

# --- unpack, configure, choose modules ------------------------------------------------------
start=$(date +%s)
work="$prefix/.build"
rm -rf "$work"; mkdir -p "$work"
echo "build-asterisk: building $name into $prefix ($jobs jobs); log in $work/build.log"
tar -xJf "$src" -C "$work"
cd "$work/$name"
log="$work/build.log"
run() { "$@" >>"$log" 2>&1 || { echo "build-asterisk: failed: $*; last lines of $log:" >&2; tail -40 "$log" >&2; exit 1; }; }

run ./configure --prefix="$prefix" --without-pjproject-bundled --without-pjproject \
    --without-libjwt --with-jansson
run make menuselect.makeopts

# menuselect traps (BUILD.md): one run may exit 0 without changing the file, and any
# `--list-options` turns the default sound packages back on. So apply, then check the file
# itself, and never list options after this point.
opts_ok() {
  local f=menuselect.makeopts
  grep -Eq '^MENUSELECT_CORE_SOUNDS=\s*$' "$f" && grep -Eq '^MENUSELECT_MOH=\s*$' "$f" &&
  grep -Eq '^MENUSELECT_EXTRA_SOUNDS=\s*$' "$f" &&
  ! grep -E '^MENUSELECT_(CHANNELS|APPS|RES)=' "$f" | grep -Eqw 'chan_sip|app_queue|res_agi' &&
  ! grep -E '^MENUSELECT_CFLAGS=' "$f" | grep -qw 'BUILD_NATIVE'
}
for attempt in 1 2 3; do
  run menuselect/menuselect --enable chan_sip --enable app_queue --enable res_agi \
      --disable BUILD_NATIVE \
      --disable-category MENUSELECT_CORE_SOUNDS --disable-category MENUSELECT_MOH \
      --disable-category MENUSELECT_EXTRA_SOUNDS menuselect.makeopts
  opts_ok && break
  [ "$attempt" = 3 ] && { echo "build-asterisk: menuselect.makeopts still wrong:" >&2;
                          grep -E '^MENUSELECT_(CORE_SOUNDS|MOH|EXTRA_SOUNDS|CHANNELS|CFLAGS)=' menuselect.makeopts >&2; exit 1; }
done

# --- build and install ----------------------------------------------------------------------
run nice make -j"$jobs"
opts_ok || { echo "build-asterisk: menuselect.makeopts changed during the build; not installing" >&2; exit 1; }
run make install
built || { echo "build-asterisk: $prefix/sbin/asterisk does not report $version" >&2; exit 1; }
cd "$prefix"
rm -rf "$work"
echo "build-asterisk: $("$prefix/sbin/asterisk" -V) in $prefix, built in $(( $(date +%s) - start )) s"
