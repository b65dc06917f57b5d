#!/usr/bin/env bash
# Builds the C libraries ember links statically (libseccomp, libcap-ng,
# jansson, http-parser, liburing) for musl, from Debian's own source packages,
# and puts them in OUT/include and OUT/lib:
#
#   scripts/deps.sh build/deps
#   musl-gcc -isystem build/deps/include -L build/deps/lib -static ...
#
# Why: Debian's lib*.a are built against glibc and do not link with musl.
# Versions are whatever the configured (bookworm) apt sources ship; they are
# part of the cache key, so a new Debian point release means a rebuild.
#
# The build happens once per machine in ${EMBER_CACHE:-/var/cache/ember}/
# deps-<key>/ (key = hash of this script, the source versions, musl's version
# and the architecture); later runs, fresh clones included, only copy it.
# OUT/include also holds linux, asm, asm-generic, video -> the kernel's headers under
# /usr/include, which musl-gcc does not search by itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
out=${1:-$here/../build/deps}
cache_root=${EMBER_CACHE:-/var/cache/ember}
jobs=${DEPS_JOBS:-2}

# source package -> function that builds it (in this order)
LIBS=(libseccomp libcap-ng jansson http-parser liburing)

say() { echo "deps: $*" >&2; }
die() { echo "deps: error: $*" >&2; exit 1; }

"$here/host-deps.sh" || die "scripts/host-deps.sh failed (host packages missing)"
for t in musl-gcc apt-get apt-cache dpkg-source autoreconf gperf flock file; do
  command -v "$t" >/dev/null || die "'$t' not found although host-deps.sh ran"
done

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)
[ -d "/usr/include/$multiarch/asm" ] || die "kernel headers missing: /usr/include/$multiarch/asm (linux-libc-dev)"
[ -d /usr/include/linux ] && [ -d /usr/include/asm-generic ] || die "kernel headers missing under /usr/include (linux-libc-dev)"

# Newest version of a source package in the configured apt sources (the one
# `apt-get source` would fetch).
src_version() {
  local v best=
  while read -r v; do
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
  done < <(apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p')
  [ -n "$best" ] || die "$1: no source package in the apt sources (is deb-src enabled and apt-get update run? see scripts/host-deps.sh)"
  echo "$best"
}

declare -A VER
keytext="$(sha256sum "$self" | cut -d' ' -f1)
arch=$multiarch
musl=$(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || echo unknown)"
for p in "${LIBS[@]}"; do
  VER[$p]=$(src_version "$p")
  keytext+=$'\n'"$p=${VER[$p]}"
done
key=$(printf '%s\n' "$keytext" | sha256sum | cut -c1-16)
cache="$cache_root/deps-$key"
stamp="$cache/.complete"

# upstream version without Debian revision / epoch, for messages
upver() { local v=${1#*:}; echo "${v%-*}"; }

# ---------------------------------------------------------------- builders
# Each runs in a subshell with `set -e`, cwd = unpacked source tree, output
# going to the library's log. $prefix is the cache dir, $kinc its include dir.
common_env() {
  export CC=musl-gcc
  export CFLAGS="-O2 -fPIC -isystem $kinc"
  export CPPFLAGS="-isystem $kinc"
  unset LDFLAGS
}

build_libseccomp() {
  common_env
  # tarball ships configure; Debian's patches only touch syscalls.csv and a
  # header, so no autoreconf. src/ regenerates the syscall table with gperf.
  ./configure --prefix="$prefix" --enable-static --disable-shared --disable-python
  make -j"$jobs" -C src
  make -C src install
  make -C include install
}

build_libcap_ng() {
  common_env
  ./configure --prefix="$prefix" --enable-static --disable-shared \
    --without-python --without-python3
  make -j"$jobs" -C src
  make -C src install
  rm -f "$prefix/lib/libdrop_ambient."*   # LD_PRELOAD helper, useless static
}

build_jansson() {
  common_env
  # the orig tarball is a git export without configure (Debian autoreconfs too)
  autoreconf -fi
  ./configure --prefix="$prefix" --enable-static --disable-shared
  make -j"$jobs" -C src
  make -C src install
}

build_http_parser() {
  common_env
  # what Debian's `make library` does (non-strict parser), minus the .so
  $CC $CFLAGS -DHTTP_PARSER_STRICT=0 -Wall -Wextra -I. -c http_parser.c -o http_parser.o
  ar rcs libhttp_parser.a http_parser.o
  install -D -m 644 libhttp_parser.a "$prefix/lib/libhttp_parser.a"
  install -D -m 644 http_parser.h "$prefix/include/http_parser.h"
}

build_liburing() {
  common_env
  # Own configure (not autoconf) that ignores $CFLAGS: the kernel headers go
  # into --cc, else its probes miss them and compat.h redefines kernel types.
  ./configure --prefix="$prefix" --libdir="$prefix/lib" --libdevdir="$prefix/lib" \
    --includedir="$prefix/include" --cc="musl-gcc -isystem $kinc"
  make -j"$jobs" -C src ENABLE_SHARED=0 CFLAGS="$CFLAGS -Wall -fno-stack-protector" liburing.a
  make -C src ENABLE_SHARED=0 CFLAGS="$CFLAGS" \
    prefix="$prefix" includedir="$prefix/include" libdir="$prefix/lib" libdevdir="$prefix/lib" install
}

# Link (not run) a program that uses every library: proves headers and .a
# files fit together with musl before the cache is marked complete.
check_link() {
  cat > check.c <<'EOF'
#include <seccomp.h>
#include <cap-ng.h>
#include <jansson.h>
#include <http_parser.h>
#include <liburing.h>
int main(void) {
  scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW); seccomp_release(c);
  capng_get_caps_process();
  json_t *j = json_object(); json_decref(j);
  http_parser p; http_parser_init(&p, HTTP_REQUEST);
  struct io_uring r; if (io_uring_queue_init(4, &r, 0) == 0) io_uring_queue_exit(&r);
  return 0;
}
EOF
  musl-gcc -Wall -Werror -isystem "$prefix/include" -static check.c -o check \
    -L "$prefix/lib" -lseccomp -lcap-ng -ljansson -lhttp_parser -luring
  file check > file.txt
  grep -q 'statically linked' file.txt
}

# ------------------------------------------------------------ cold build
build_all() {
  say "building ${LIBS[*]} for musl into $cache"
  rm -rf "$cache"
  mkdir -p "$cache/include" "$cache/lib" "$cache/logs"
  prefix=$cache kinc=$cache/include
  ln -s /usr/include/linux "$kinc/linux"
  ln -s "/usr/include/$multiarch/asm" "$kinc/asm"
  ln -s /usr/include/asm-generic "$kinc/asm-generic"
  ln -s /usr/include/video "$kinc/video" # asm/bootparam.h includes video/edid.h
  printf '%s\n' "$keytext" > "$cache/key.txt"

  local work="$cache/work" p v log rc
  for p in "${LIBS[@]}"; do
    v=${VER[$p]}
    log="$cache/logs/$p.log"
    rm -rf "$work"; mkdir -p "$work"
    say "fetching $p $v (Debian source)"
    set +e
    ( set -e; cd "$work"
      apt-get source -q --download-only -o APT::Sandbox::User=root "$p=$v"
      dpkg-source -x ./*.dsc src
    ) > "$log" 2>&1
    rc=$?
    set -e
    if [ $rc != 0 ]; then
      tail -n 20 "$log" >&2
      die "$p $v: download/unpack failed (log: $log)"
    fi
    say "building $p $(upver "$v") for musl"
    set +e
    ( set -e; cd "$work/src"; "build_${p//-/_}" ) >> "$log" 2>&1
    rc=$?
    set -e
    if [ $rc != 0 ]; then
      tail -n 30 "$log" >&2
      die "$p $(upver "$v"): build failed (log: $log)"
    fi
  done
  rm -rf "$work"
  rm -rf "$cache/lib/"*.la "$cache/lib/pkgconfig" "$cache/share"

  say "checking a static musl link against all five"
  local tmp; tmp=$(mktemp -d)
  set +e
  ( set -e; cd "$tmp"; check_link ) > "$cache/logs/check.log" 2>&1
  rc=$?
  set -e
  rm -rf "$tmp"
  if [ $rc != 0 ]; then
    tail -n 30 "$cache/logs/check.log" >&2
    die "test link of all libraries failed (log: $cache/logs/check.log)"
  fi
  touch "$stamp"
}

mkdir -p "$cache_root"
exec 9> "$cache_root/deps.lock"
flock 9   # one builder per machine; others wait, then find the cache complete
if [ ! -f "$stamp" ]; then
  start=$SECONDS
  build_all
  say "built in $((SECONDS - start))s"
fi

# ------------------------------------------------------------ install OUT
if [ -f "$out/.deps-key" ] && [ "$(cat "$out/.deps-key")" = "$key" ] &&
   [ -f "$out/include/seccomp.h" ] && [ -f "$out/lib/liburing.a" ]; then
  say "$out up to date ($key)"
  exit 0
fi
mkdir -p "$out"
rm -rf "$out/.deps-key" "$out/include" "$out/lib"
cp -a "$cache/include" "$cache/lib" "$out/"   # -a keeps the kernel-header symlinks
echo "$key" > "$out/.deps-key"
say "$out ready: $(for p in "${LIBS[@]}"; do printf '%s %s, ' "$p" "$(upver "${VER[$p]}")"; done | sed 's/, $//')"
