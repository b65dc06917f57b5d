#!/usr/bin/env bash
# Nested: ember boots the L2 vmlinux (64-bit boot protocol) with 1 and 2 vCPUs; L2
# reaches /init, runs user space, sees all vCPUs, and its reboot (reboot=k)
# ends ember with status 0.
export NAME=linux-boot
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
for n in ${NESTED_VCPUS:-1 2}; do
  nested "vcpus$n" "$L2_VMLINUX" --kernel @KERNEL@ --initrd @INITRD@ \
    --vcpus "$n" --mem "$L2_MEM"
  expect_l2_boot "vcpus$n" "$n"
done
pass
