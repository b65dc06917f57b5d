#!/usr/bin/env bash
# Debian's own initramfs for a Debian kernel, as a user of ember would make it:
# mkinitramfs from this machine's initramfs-tools, with virtio_mmio, virtio_blk and
# virtio_net listed as modules (Debian's cloud kernel has them as modules, and nothing
# else finds ember's devices). Cached in $EMBER_CACHE (default /var/cache/ember) per
# kernel version and this script; copied to OUT.
#
#   scripts/debian-initrd.sh KERNEL_VERSION OUT     (e.g. 6.1.0-57-cloud-amd64)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KERNEL_VERSION OUT" >&2; exit 2; }
kver=$1 out=$2
export PATH=$PATH:/usr/sbin:/sbin
command -v mkinitramfs >/dev/null || { echo "$0: mkinitramfs not found (initramfs-tools)" >&2; exit 1; }
cache=${EMBER_CACHE:-/var/cache/ember}
mkdir -p "$cache"
img=$cache/debian-initrd-$kver-$(sha256sum "$0" | cut -c1-16).img
exec 9>"$cache/debian-initrd.lock"
flock 9
if [ ! -f "$img" ]; then
  conf=$(mktemp -d)
  trap 'rm -rf "$conf"' EXIT
  cp -r /etc/initramfs-tools/. "$conf/"
  printf '%s\n' virtio_mmio virtio_blk virtio_net >"$conf/modules"
  sed -i 's/^MODULES=.*/MODULES=list/' "$conf/initramfs.conf"
  mkinitramfs -d "$conf" -o "$img.tmp" "$kver" >&2
  mv "$img.tmp" "$img"
  # Older images of this script for this kernel are never used again.
  find "$cache" -maxdepth 1 -name "debian-initrd-$kver-*.img" ! -path "$img" -delete
fi
cp "$img" "$out"
