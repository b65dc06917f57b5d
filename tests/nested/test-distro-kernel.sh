#!/usr/bin/env bash
# Nested: Debian's own cloud kernel (/boot/vmlinuz-*-cloud-amd64, a bzImage, unmodified),
# which has no MP-table parser and no virtio_mmio.device= words: it finds its CPUs and
# IOAPIC only through ember's ACPI tables (arch/acpi.c). With the L2 initramfs and 1, 2
# and 4 vCPUs it reaches /init, sees every CPU, and its reboot (reboot=k) ends ember with 0;
# a poweroff goes through the FADT's sleep control register (S5), and a reboot=acpi
# through its reset register; each ends ember with 0 too. Before the tables, this kernel
# hung after "Run /init" (no IOAPIC, so no timer).
# Then with Debian's own initramfs (mkinitramfs from this machine's initramfs-tools, with
# virtio_mmio, virtio_blk and virtio_net as modules, as Debian ships them): it loads
# virtio_mmio, which finds the drive through the DSDT (LNRO0005), mounts the ext4 root
# image on /dev/vda and runs its /sbin/init.
export NAME=distro-kernel
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)
[ -n "$kernel" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (scripts/host-deps.sh installs linux-image-cloud-amd64)"
preflight "$kernel"
for n in 1 2 4; do
  nested "vcpus$n" "$kernel" --kernel @KERNEL@ --initrd @INITRD@ --vcpus "$n" --mem "$L2_MEM"
  expect "vcpus$n" '^\[ *[0-9.]*\] ACPI: (MADT|APIC) 0x00000000000E[0-9A-F]*'
  expect_l2_boot "vcpus$n" "$n"
done
nested poweroff "$kernel" --kernel @KERNEL@ --initrd @INITRD@ --vcpus 2 --mem "$L2_MEM" \
  --cmdline "l2test=poweroff" --level Info
expect poweroff '^L2: init reached'
expect poweroff 'guest powered off through ACPI \(S5\)'
expect_exit poweroff 0
# reboot=acpi after ember's reboot=k (the last word wins): the FADT's reset register.
nested reset-register "$kernel" --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" \
  --cmdline "reboot=acpi" --level Info
expect reset-register '^L2: rebooting'
expect reset-register 'guest reset through the ACPI reset register'
expect_exit reset-register 0

# Debian's initramfs (scripts/debian-initrd.sh: mkinitramfs, cached).
kver=${kernel#/boot/vmlinuz-}
initrd=$NESTED_WORK/debian-initrd-$kver.img
"$ROOT/scripts/debian-initrd.sh" "$kver" "$initrd" || fail "Debian's initramfs for $kver failed"
"$NESTED_DIR/make-rootfs-img.sh" "$NESTED_WORK/rootfs.img" >&2 || fail "building the root image failed"
root=$(mktemp "$NESTED_WORK/distro-root.XXXXXX") || fail "mktemp failed"
trap 'rm -f "$root"' EXIT
cp --sparse=always "$NESTED_WORK/rootfs.img" "$root"
L2_INITRD=$initrd
HARNESS_OPTS=(--disk "$root")
nested debian-initramfs "$kernel" --kernel @KERNEL@ --initrd @INITRD@ --vcpus 2 \
  --mem "$L2_MEM" --drive path=@DISK0@,root,id=root
expect debian-initramfs 'virtio_blk virtio[0-9]+: \[vda\]'
expect debian-initramfs '^L2: root=vda ext4 rw$'
expect_l2_boot debian-initramfs 2
pass
