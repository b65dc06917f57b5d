#!/usr/bin/env bash
# Nested: serial input works end to end for a Linux guest. L2 runs an
# interactive busybox sh on its console (l2test=shell); once it printed
# "L2: shell ready" the test types into ember's stdin
#   harness stdin -> QEMU -serial stdio -> L1 ttyS0 (ember's raw stdin)
#   -> ember's 8250 (RX interrupt) -> L2 8250 driver -> tty -> sh
# a command whose output only the guest shell can compute (shell-42-ok), waits
# for that output, then types "reboot -f"; ember must exit 0.
# Synchronisation is by reading the console line by line, never by sleeping.
# SHELL_STEP_TIMEOUT (default 90 s) bounds each wait: the marker, the answer,
# the end of the run.
export NAME=shell
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
step_timeout=${SHELL_STEP_TIMEOUT:-90}

LAST_LOG=$LOGDIR/$NAME-shell.log
: >"$LAST_LOG"
tmp=$(mktemp -d "$NESTED_WORK/shell.XXXXXX") || fail "mktemp failed"
hpid=
stop_harness() {
  # The harness runs in its own session (setsid). timeout(1) inside it moves
  # itself and QEMU to a process group of their own, so signal the session:
  # the harness, tr, tee, timeout and QEMU, nothing else.
  [ -n "$hpid" ] || return 0
  pkill -TERM -s "$hpid" 2>/dev/null || kill -TERM "$hpid" 2>/dev/null
  wait "$hpid" 2>/dev/null
  hpid=
}
trap 'stop_harness; rm -rf "$tmp"' EXIT
mkfifo "$tmp/in" "$tmp/out" || fail "mkfifo failed"

t0=$SECONDS
setsid -w "$NESTED_DIR/nested-run.sh" --stdin --ember "$EMBER" \
  --kernel "$L2_VMLINUX" --initrd "$L2_INITRD" --timeout "$NESTED_TIMEOUT" -- \
  --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" --cmdline l2test=shell \
  <"$tmp/in" >"$tmp/out" 2>"$LAST_LOG.err" &
hpid=$!
# Read-write open of the input FIFO does not block; the harness's stdin opens
# against it. The output FIFO opens once the harness has it open for writing.
exec {to}<>"$tmp/in" {from}<"$tmp/out"

send() {
  echo "$NAME: +$((SECONDS - t0))s: typing: $1" >&2
  printf '%s\n' "$1" >&"$to"
}

# States: boot (until the marker), answer (until shell-42-ok), end (until EOF).
state=boot
step_end=$((SECONDS + step_timeout))
why=
while :; do
  left=$((step_end - SECONDS))
  if [ "$left" -le 0 ]; then
    why="timeout (${step_timeout}s) in state '$state'"
    break
  fi
  line=
  if IFS= read -r -t "$left" -u "$from" line; then
    printf '%s\n' "$line" >>"$LAST_LOG"
  else
    st=$?
    [ -z "$line" ] || printf '%s\n' "$line" >>"$LAST_LOG"
    if [ "$st" -gt 128 ]; then
      why="timeout (${step_timeout}s) in state '$state'"
    fi
    break # end of the console: the harness ended
  fi
  case $state:$line in
    boot:"L2: shell ready"*)
      # $((6*7)) is expanded by the L2 shell: "shell-42-ok" is not typed.
      # shellcheck disable=SC2016
      send 'echo shell-$((6*7))-ok; grep ttyS /proc/interrupts'
      state=answer step_end=$((SECONDS + step_timeout)) ;;
    answer:*shell-42-ok*)
      send 'reboot -f'
      state=end step_end=$((SECONDS + step_timeout)) ;;
  esac
done
exec {to}>&- {from}<&-
if [ -n "$why" ]; then
  stop_harness
  fail "$why"
fi
rc=0
wait "$hpid" || rc=$?
hpid=
echo "$NAME: harness status $rc after $((SECONDS - t0))s (log $LAST_LOG)" >&2
case $rc in
  0) ;;
  2) skip "L1 (QEMU TCG) has no /dev/kvm" ;;
  124) fail "timeout after ${NESTED_TIMEOUT}s" ;;
  *) cat "$LAST_LOG.err" >&2; fail "nested harness failed (status $rc)" ;;
esac
EMBER_RC=$(sed -n 's/^NESTED: ember exit=\([0-9]*\).*/\1/p' "$LAST_LOG" | tail -n1)

expect shell '^L2: shell ready'
[ "$state" = end ] || fail "console ended in state '$state' (no shell-42-ok after the typed command)"
expect shell 'shell-42-ok'
! grep -q '^L2: shell exited' "$LAST_LOG" ||
  fail "the L2 shell exited by itself: $(grep '^L2: shell exited' "$LAST_LOG")"
expect_exit shell 0
pass
