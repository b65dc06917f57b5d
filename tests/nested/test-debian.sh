#!/usr/bin/env bash
# Nested: a whole Debian 12 system under ember, as a user would run one. Debian's own
# cloud kernel (unmodified, finds its machine through ember's ACPI tables), Debian's own
# initramfs (mkinitramfs, virtio_mmio/virtio_blk/virtio_net as modules) and a Debian root
# file system (scripts/debian-rootfs.sh: debootstrap, systemd) on virtio-blk, with eth0
# on a TAP where L1 serves DHCP (l1-debian.sh). Twice, each from a fresh copy of the
# root file system: with 2 vCPUs ending in "poweroff" (systemd shuts down, the kernel
# powers off through the FADT's sleep register) and with 1 vCPU ending in "reboot" (the
# kernel's reboot=k reset); either way ember exits 0.
# Each run waits for the login prompt on the serial console, logs in as root, waits
# until L1 can ping the guest at the address its DHCP server gave, has the guest's
# shell report a marker, its CPUs, MAC, the IPv4 address DHCP gave it and its root
# device, then ends the
# system. DEBIAN_STEP_TIMEOUT (default 300 s: systemd under nested TCG is slow) bounds
# each wait.
export NAME=debian
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)
[ -n "$kernel" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (scripts/host-deps.sh installs linux-image-cloud-amd64)"
preflight "$kernel"
CONSOLE_STEP=${DEBIAN_STEP_TIMEOUT:-300}
mac=02:00:5e:00:53:12
export PATH=$PATH:/usr/sbin:/sbin

tmp=$(mktemp -d "$NESTED_WORK/debian.XXXXXX") || fail "mktemp failed"
trap 'console_stop; rm -rf "$tmp"' EXIT
"$ROOT/scripts/debian-rootfs.sh" "$tmp/root.img" >&2 || fail "building the Debian root file system failed"
kver=${kernel#/boot/vmlinuz-}
initrd=$tmp/initrd.img
"$ROOT/scripts/debian-initrd.sh" "$kver" "$initrd" || fail "Debian's initramfs for $kver failed"

# debian_run LABEL VCPUS END: boots, logs in, checks, types END ("poweroff" or
# "reboot") and waits for the end of the run.
debian_run() {
  local label=$1 vcpus=$2 end=$3
  cp --sparse=always "$tmp/root.img" "$tmp/run.img" || fail "copying the root file system failed"
  console_start "$label" --kernel "$kernel" --initrd "$initrd" --disk "$tmp/run.img" \
    --tap tap0=10.0.2.1/24 --l1-hook "$NESTED_DIR/l1-debian.sh" --l1-mem 1536 \
    --timeout "${NESTED_DEBIAN_TIMEOUT:-900}" -- \
    --kernel @KERNEL@ --initrd @INITRD@ --vcpus "$vcpus" --mem 512 --level Info \
    --drive path=@DISK0@,root,id=root,engine=async --net "tap=tap0,mac=$mac,id=net0"
  console_wait "login prompt" "ember-debian: login prompt on ttyS0"
  console_send root
  console_wait "the shell after login" "The programs included with the Debian GNU/Linux system are free software"
  # The ping line may have come before the login prompt.
  grep -q '^L1: debian ping 10.0.2.2 answered' "$LAST_LOG" ||
    console_wait "L1's ping answered" "L1: debian ping 10.0.2.2 answered"
  # shellcheck disable=SC2016 # expanded by the guest's shell
  console_send 'echo debian-$((6*7))-ok cpus=$(nproc) mac=$(grep -hv 00:00:00:00:00:00 /sys/class/net/*/address) dhcp=$(ip -4 -o addr show dynamic | grep -o "inet [0-9./]*" | cut -c6-) root=$(findmnt -no SOURCE /)'
  console_wait "the shell's answer" debian-42-ok
  console_send "$end"
  console_end
  expect "$label" '\] ACPI: APIC 0x00000000000E'
  expect "$label" 'virtio_blk virtio[0-9]+: \[vda\]'
  expect "$label" 'ember-debian login:'
  expect "$label" '^L1: udhcpd: sending OFFER to 10\.0\.2\.2'
  expect "$label" "debian-42-ok cpus=$vcpus mac=$mac dhcp=10\.0\.2\.2/24 root=/dev/vda"
  expect "$label" '^L1: debian ping 10.0.2.2 answered'
}

debian_run vcpus2-poweroff 2 poweroff
expect vcpus2-poweroff 'guest powered off through ACPI \(S5\)'
expect_exit vcpus2-poweroff 0
debian_run vcpus1-reboot 1 reboot
expect vcpus1-reboot 'i8042: guest pulsed the reset line'
expect_exit vcpus1-reboot 0
pass
