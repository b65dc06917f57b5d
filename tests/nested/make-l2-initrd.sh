#!/usr/bin/env bash
# Builds the L2 test initramfs: busybox-static (applets as symlinks),
# tests/nested/l2-init as /init and the L2 test scripts l2-*.sh as /tests/*.sh,
# gzip-compressed newc cpio.
#   tests/nested/make-l2-initrd.sh [OUT]   (default: build/nested/l2-initrd.cpio.gz)
# Rebuilt only when l2-init, an l2-*.sh, rootfs.bash, this script or busybox changed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/nested/l2-initrd.cpio.gz}

"$root/scripts/host-deps.sh"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" | grep -q 'statically linked' ||
  { echo "make-l2-initrd: error: static busybox not found (busybox-static)" >&2; exit 1; }

key=$(sha256sum "$0" "$here/l2-init" "$here/rootfs.bash" "$busybox" "$here"/l2-*.sh |
      cut -d' ' -f1 | sha256sum | cut -c1-16)
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
st=$(mktemp -d "${TMPDIR:-/tmp}/l2-initrd.XXXXXX")
trap 'rm -rf "$st" "$st.cpio.gz"' EXIT
# shellcheck source=tests/nested/rootfs.bash
. "$here/rootfs.bash"
busybox_rootfs "$st" "$busybox" "$here/l2-init"
l2_test_scripts "$st"
mknod "$st/dev/console" c 5 1 2>/dev/null || true
(cd "$st" && find . -print0 | LC_ALL=C sort -z |
   cpio --null -o -H newc --quiet -R 0:0) | gzip -9 >"$st.cpio.gz"
mv "$st.cpio.gz" "$out"
echo "$key" >"$out.key"
echo "make-l2-initrd: $out" >&2
