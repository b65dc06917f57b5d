#!/usr/bin/env bash
# Nested: ember boots the same kernel as bzImage (Linux boot protocol) with
# 2 vCPUs; L2 reaches /init and reboots, ember exits 0.
export NAME=bzimage-boot
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_BZIMAGE"
nested vcpus2 "$L2_BZIMAGE" --kernel @KERNEL@ --initrd @INITRD@ \
  --vcpus 2 --mem "$L2_MEM"
expect_l2_boot vcpus2 2
pass
