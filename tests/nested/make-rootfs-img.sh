#!/usr/bin/env bash
# Builds an ext4 root file system image for L2, without root privileges and
# without mounting anything (mke2fs -d): busybox-static (applets as symlinks),
# tests/nested/l2-init as /init and /sbin/init (so root=/dev/vdX boots it
# without init=), the L2 test scripts l2-*.sh as /tests/*.sh, and any extra
# host files.
#
#   tests/nested/make-rootfs-img.sh [--size MIB] OUT.img [SRC=/DEST]...
#
# --size: image size in MiB (default 32). The image is rebuilt only when its
# inputs changed (key in OUT.img.key); a test that writes to it works on a
# copy (cp --sparse=always).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=make-rootfs-img
die() { echo "$prog: error: $*" >&2; exit 1; }

size=32
if [ "${1:-}" = --size ]; then size=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [--size MIB] OUT.img [SRC=/DEST]..." >&2; exit 2; }
out=$1; shift
case $size in ''|*[!0-9]*) die "--size wants MiB, got '$size'" ;; esac

"$root/scripts/host-deps.sh"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" | grep -q 'statically linked' ||
  die "static busybox not found (busybox-static)"
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)
[ -x "$mke2fs" ] || die "mke2fs not found (e2fsprogs)"

for f in "$@"; do
  src=${f%%=*} dst=${f#*=}
  [ "$src" != "$f" ] && [ "${dst#/}" != "$dst" ] || die "extra file wants SRC=/ABS/DEST, got '$f'"
  [ -f "$src" ] || die "extra file '$src' not found"
done

key=$( {
  sha256sum "$0" "$here/l2-init" "$here/rootfs.bash" "$busybox" "$here"/l2-*.sh | cut -d' ' -f1
  for f in "$@"; do echo "$f"; sha256sum <"${f%%=*}"; done
  echo "$size"; "$mke2fs" -V 2>&1 | sed -n 1p  # sed reads all: no SIGPIPE under pipefail
} | sha256sum | cut -c1-16)
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
st=$(mktemp -d "${TMPDIR:-/tmp}/rootfs-img.XXXXXX")
trap 'rm -rf "$st" "$out.tmp"' EXIT
# shellcheck source=tests/nested/rootfs.bash
. "$here/rootfs.bash"
busybox_rootfs "$st/root" "$busybox" "$here/l2-init" etc mnt root
l2_test_scripts "$st/root"
ln -sf /init "$st/root/sbin/init"
for f in "$@"; do
  src=${f%%=*} dst=${f#*=}
  mkdir -p "$st/root$(dirname "$dst")"
  cp "$src" "$st/root$dst"
done
rm -f "$out.tmp"
truncate -s "${size}M" "$out.tmp"
# -d copies the tree (owners included: the caller's uid when not root); 4 KiB
# blocks even when small (mke2fs would pick 1 KiB), a journal, the usual ext4
# features of this e2fsprogs.
"$mke2fs" -q -F -t ext4 -b 4096 -L ember-root -E root_owner=0:0 -d "$st/root" "$out.tmp" ||
  die "mke2fs failed"
mv "$out.tmp" "$out"
echo "$key" >"$out.key"
echo "$prog: $out (${size} MiB ext4)" >&2
