#!/usr/bin/env bash
# Installs what the build and tests need from Debian, so a fresh machine needs
# nothing by hand. Idempotent: a stamp keyed by the package list skips the slow
# part when nothing changed. Enables deb-src (apt-get source needs it).
set -euo pipefail

PKGS=(
  build-essential musl-tools gperf dpkg-dev fakeroot pkg-config autoconf automake libtool
  libcriterion-dev file bc bison flex cpio xz-utils gzip kmod libelf-dev
  busybox-static e2fsprogs curl clang libjansson-dev python3 libseccomp-dev libcap-ng-dev
  qemu-system-x86 linux-source-6.1 linux-image-cloud-amd64 linux-libc-dev gnuplot-nox
  acpica-tools initramfs-tools debootstrap
)

stamp_dir=${EMBER_CACHE:-/var/cache/ember}
mkdir -p "$stamp_dir"
want=$(printf '%s\n' "${PKGS[@]}" | sha256sum | cut -c1-16)
stamp="$stamp_dir/host-deps.$want"

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

enable_deb_src() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -f "$f" ] && ! grep -q '^Types:.*deb-src' "$f"; then
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
    return 0
  fi
  if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list && \
     ! grep -q '^deb-src ' /etc/apt/sources.list; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >> /etc/apt/sources.list
    return 0
  fi
  return 1
}

need_update=0
enable_deb_src && need_update=1
[ ${#missing[@]} -gt 0 ] && need_update=1
[ -f "$stamp" ] || need_update=1

if [ $need_update = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "host-deps: apt-get update" >&2
  apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    echo "host-deps: installing ${missing[*]}" >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  touch "$stamp"
fi
