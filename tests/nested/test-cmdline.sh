#!/usr/bin/env bash
# Nested: a multi-word --cmdline reaches the L2 kernel's /proc/cmdline intact,
# after ember's defaults (console=ttyS0 reboot=k ...).
export NAME=cmdline
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
extra='ember_test=abc-123 ember.second=x,y:z l2test=reboot'
nested cmdline "$L2_VMLINUX" --kernel @KERNEL@ --initrd @INITRD@ \
  --mem "$L2_MEM" --cmdline "$extra"
expect cmdline '^L2: init reached'
line=$(grep '^L2: cmdline=' "$LAST_LOG" | tail -n1)
case $line in
  *"$extra"*) ;;
  *) fail "cmdline: '$extra' not in /proc/cmdline: ${line#L2: cmdline=}" ;;
esac
case $line in
  *console=ttyS0*) ;;
  *) fail "cmdline: ember's default console=ttyS0 missing: ${line#L2: cmdline=}" ;;
esac
case $line in
  *reboot=k*) ;;
  *) fail "cmdline: ember's default reboot=k missing: ${line#L2: cmdline=}" ;;
esac
expect_exit cmdline 0
pass
