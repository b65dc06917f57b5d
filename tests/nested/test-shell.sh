#!/usr/bin/env bash
# Nested: serial input works end to end for a Linux guest. L2 runs an
# interactive busybox sh on its console (l2test=shell); once it printed
# "L2: shell ready" the test types into ember's stdin (lib.sh's console_*:
# harness stdin -> QEMU -> L1 ttyS0 -> ember's 8250 -> L2's tty -> sh)
# a command whose output only the guest shell can compute (shell-42-ok), waits
# for that output, then types "reboot -f"; ember must exit 0.
# SHELL_STEP_TIMEOUT (default 90 s) bounds each wait: the marker, the answer,
# the end of the run.
export NAME=shell
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
CONSOLE_STEP=${SHELL_STEP_TIMEOUT:-90}
trap console_stop EXIT

console_start shell --kernel "$L2_VMLINUX" --initrd "$L2_INITRD" --timeout "$NESTED_TIMEOUT" -- \
  --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" --cmdline l2test=shell
console_wait "the shell's marker" "L2: shell ready"
# $((6*7)) is expanded by the L2 shell: "shell-42-ok" is not typed.
# shellcheck disable=SC2016
console_send 'echo shell-$((6*7))-ok; grep ttyS /proc/interrupts'
console_wait "the shell's answer" shell-42-ok
console_send 'reboot -f'
console_end

expect shell '^L2: shell ready'
expect shell 'shell-42-ok'
! grep -q '^L2: shell exited' "$LAST_LOG" ||
  fail "the L2 shell exited by itself: $(grep '^L2: shell exited' "$LAST_LOG")"
expect_exit shell 0
pass
