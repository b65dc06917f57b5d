#!/usr/bin/env bash
# A Debian 12 (bookworm) root file system as an ext4 image, for booting a distribution
# kernel under ember (tests/nested/test-debian.sh, perf/debian_bench.sh): debootstrap's
# minbase with systemd, udev, iproute2 and ping; root without a password; its Ethernet
# configured by DHCP through systemd-networkd; hostname ember-debian; /etc/issue ends
# with a line the tests wait for before they type at the login prompt; with
# ember.bench=poweroff on the kernel command line, a unit powers the system off a few
# seconds after the serial login prompt is up (the benchmark's runs end by themselves,
# cleanly, and the next one boots the same file system). Built once (debootstrap from the mirror apt
# uses, a few minutes) and cached in $EMBER_CACHE (default /var/cache/ember), keyed by
# this script; the image is copied sparse to OUT.
#
#   scripts/debian-rootfs.sh OUT.img
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT.img" >&2; exit 2; }
out=$1
export PATH=$PATH:/usr/sbin:/sbin
cache=${EMBER_CACHE:-/var/cache/ember}
mkdir -p "$cache"
key=$(sha256sum "$0" | cut -c1-16)
img=$cache/debian-rootfs-$key.img
mirror=$(sed -n 's|^URIs: *\(http[^ ]*/debian\)$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}

exec 9>"$cache/debian-rootfs.lock"
flock 9
if [ ! -f "$img" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root=$work/root
  echo "debian-rootfs: debootstrap bookworm from $mirror (minutes, once)" >&2
  debootstrap --variant=minbase --include=systemd-sysv,udev,iproute2,iputils-ping,kmod \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  chroot "$root" passwd -d root >/dev/null
  echo ember-debian >"$root/etc/hostname"
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
  printf 'Debian GNU/Linux 12 \\n \\l\nember-debian: login prompt on \\l\n\n' >"$root/etc/issue"
  mkdir -p "$root/etc/systemd/network"
  # Type, not Name: udev may rename eth0 (virtio-mmio devices get ACPI-based names).
  printf '[Match]\nType=ether\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n' \
    >"$root/etc/systemd/network/10-eth0.network"
  chroot "$root" systemctl enable systemd-networkd >/dev/null 2>&1
  # agetty prints /etc/issue and the prompt as soon as it runs; the sleep leaves it
  # that time even under nested TCG. The comm is matched whole: before its exec (and
  # while a Type=idle unit waits) systemd's child is called "(agetty)".
  cat >"$root/etc/systemd/system/ember-bench-poweroff.service" <<'UNIT'
[Unit]
Description=Power off once the serial login prompt is up (ember.bench=poweroff)
ConditionKernelCommandLine=ember.bench=poweroff
After=serial-getty@ttyS0.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'until grep -qsx agetty /proc/[0-9]*/comm; do sleep 0.2; done; sleep 3; systemctl --no-block poweroff'

[Install]
WantedBy=multi-user.target
UNIT
  chroot "$root" systemctl enable ember-bench-poweroff.service >/dev/null 2>&1
  # Nothing else to wait for at boot: no time sync, no apt timers.
  for u in apt-daily.timer apt-daily-upgrade.timer systemd-timesyncd.service; do
    chroot "$root" systemctl disable "$u" >/dev/null 2>&1 || true
  done
  rm -rf "$root/var/cache/apt/"*.bin "$root/var/lib/apt/lists/"*
  mke2fs -q -t ext4 -L debian -d "$root" "$work/root.img" 768M >&2
  mv "$work/root.img" "$img"
  # Images of earlier versions of this script are never used again.
  find "$cache" -maxdepth 1 -name 'debian-rootfs-*.img' ! -path "$img" -delete
fi
cp --sparse=always "$img" "$out"
