# shellcheck shell=bash
# Shared helpers for tests/nested/test-*.sh (sourced, not run).
# Each test prints exactly one line on stdout: "PASS: name", "FAIL: name: why"
# or "SKIP: name: why", and exits 0, 1 or 77. Diagnostics go to stderr; the
# full console of every run is kept in $NESTED_WORK/logs/.
#
# Inputs (environment, defaults relative to the repository root):
#   EMBER        build/ember
#   L2_VMLINUX   build/guest-kernel/vmlinux (DIR/guest-kernel/vmlinux when
#                EMBER is DIR/ember and that exists)
#   L2_BZIMAGE   build/guest-kernel/bzImage (likewise)
#   L2_INITRD    build/nested/l2-initrd.cpio.gz (built when missing/stale)
#   L2_MEM       L2 memory in MiB passed to ember --mem (default 256)
#   NESTED_TIMEOUT  seconds per QEMU run (default 300)
#   NESTED_WATCHDOG seconds ember may run in L1 before its threads' stacks
#                are printed and it is killed (default 150; 0: off)
#   NESTED_WORK  work/cache directory (default build/nested)
# A test may set HARNESS_OPTS (array) to more nested-run.sh options for its
# next `nested` runs (--disk, --tap, --l1-hook, --file).
set -u
HARNESS_OPTS=()
NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$NESTED_DIR/../.." && pwd)
cd "$ROOT" || exit 1
EMBER=${EMBER:-build/ember}
# The L2 kernel of ember's own build directory (EMBER=build-x/ember: build-x's
# guest-kernel/, from make BUILD=build-x guest-kernel) when there is one.
L2_KDIR=build/guest-kernel
[ -f "$(dirname "$EMBER")/guest-kernel/vmlinux" ] && L2_KDIR=$(dirname "$EMBER")/guest-kernel
L2_VMLINUX=${L2_VMLINUX:-$L2_KDIR/vmlinux}
L2_BZIMAGE=${L2_BZIMAGE:-$L2_KDIR/bzImage}
L2_MEM=${L2_MEM:-256}
NESTED_TIMEOUT=${NESTED_TIMEOUT:-300}
NESTED_WATCHDOG=${NESTED_WATCHDOG:-150}
export NESTED_WORK=${NESTED_WORK:-$ROOT/build/nested}
LOGDIR=$NESTED_WORK/logs
NAME=${NAME:-$(basename "$0" .sh)}
NAME=${NAME#test-}

pass() { echo "PASS: $NAME"; exit 0; }
skip() { echo "SKIP: $NAME: $*"; exit 77; }
fail() {
  echo "FAIL: $NAME: $*"
  if [ -n "${LAST_LOG:-}" ] && [ -f "$LAST_LOG" ]; then
    echo "---- last 40 lines of $LAST_LOG ----" >&2
    tail -n 40 "$LAST_LOG" >&2
  fi
  exit 1
}

# preflight [KERNEL...]: host packages, qemu, ember, L2 kernels, L2 initrd.
preflight() {
  "$ROOT/scripts/host-deps.sh" >&2 || echo "$NAME: host-deps.sh failed" >&2
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
  [ -x "$EMBER" ] || fail "ember binary $EMBER missing (make)"
  local k
  for k in "$@"; do
    [ -f "$k" ] || fail "L2 kernel $k missing (make guest-kernel)"
  done
  if [ -z "${L2_INITRD:-}" ]; then
    L2_INITRD=$NESTED_WORK/l2-initrd.cpio.gz
    "$NESTED_DIR/make-l2-initrd.sh" "$L2_INITRD" >&2 || fail "building L2 initrd failed"
  fi
  [ -f "$L2_INITRD" ] || fail "L2 initrd $L2_INITRD missing"
  mkdir -p "$LOGDIR"
}

# nested LABEL KERNEL EMBER_ARGS...: one nested run with the L2 initrd; the
# console goes to $LOGDIR/$NAME-$LABEL.log (LAST_LOG); sets EMBER_RC to
# ember's exit status. Skips the test if L1 has no /dev/kvm, fails on timeout
# or any harness error.
nested() {
  local label=$1 kernel=$2; shift 2
  LAST_LOG=$LOGDIR/$NAME-$label.log
  local t0=$SECONDS rc=0 wd=()
  [ "$NESTED_WATCHDOG" = 0 ] || wd=(--watchdog "$NESTED_WATCHDOG")
  "$NESTED_DIR/nested-run.sh" --ember "$EMBER" --kernel "$kernel" "${wd[@]}" \
    --initrd "$L2_INITRD" --timeout "$NESTED_TIMEOUT" "${HARNESS_OPTS[@]}" -- "$@" \
    >"$LAST_LOG" 2>"$LAST_LOG.err" || rc=$?
  echo "$NAME: $label: harness status $rc after $((SECONDS - t0))s (log $LAST_LOG)" >&2
  case $rc in
    0) ;;
    2) skip "L1 (QEMU TCG) has no /dev/kvm" ;;
    124) fail "$label: timeout after ${NESTED_TIMEOUT}s" ;;
    *) cat "$LAST_LOG.err" >&2; fail "$label: nested harness failed (status $rc)" ;;
  esac
  EMBER_RC=$(sed -n 's/^NESTED: ember exit=\([0-9]*\).*/\1/p' "$LAST_LOG" | tail -n1)
  if grep -q '^NESTED: watchdog: ember' "$LAST_LOG"; then
    grep '^NESTED: watchdog' "$LAST_LOG" >&2
    fail "$label: ember still ran after ${NESTED_WATCHDOG}s in L1 (watchdog; its threads above)"
  fi
}

# expect LABEL REGEX: the last run's console has a line matching REGEX (ERE).
expect() {
  grep -Eq -- "$2" "$LAST_LOG" || fail "$1: no line matching /$2/ in the console"
}

# expect_exit LABEL N: ember exited with N.
expect_exit() {
  [ "${EMBER_RC:-}" = "$2" ] || fail "$1: ember exit status ${EMBER_RC:-none}, expected $2"
}

# expect_l2_boot LABEL NCPUS: L2 reached init, ran user space, saw NCPUS
# CPUs and rebooted, ending ember with status 0.
expect_l2_boot() {
  expect "$1" '^L2: init reached'
  expect "$1" '^L2: hello from user space'
  expect "$1" "^L2: nproc=$2\$"
  expect "$1" '^L2: rebooting'
  expect_exit "$1" 0
}

# ---- typing into a guest's serial console ------------------------------------
# For tests that drive the L2 console like a user at a terminal: console_start runs
# the harness with --stdin in a session of its own, console_wait reads the console
# line by line until an expected line, console_send types a line, console_end waits
# for the run's end. Synchronisation is by what the guest printed, never by sleeping.
#   harness stdin -> QEMU -serial stdio -> L1 ttyS0 (ember's raw stdin)
#   -> ember's 8250 (RX interrupt) -> the guest's tty
# CONSOLE_STEP (seconds, default 90) bounds each wait. The test's EXIT trap calls
# console_stop.
CONSOLE_PID=
CONSOLE_DIR=

# console_start LABEL NESTED_RUN_OPTS... -- EMBER_ARGS...: LAST_LOG is
# $LOGDIR/$NAME-LABEL.log.
console_start() {
  console_stop # the previous run's FIFOs
  LAST_LOG=$LOGDIR/$NAME-$1.log
  CONSOLE_LABEL=$1
  shift
  : >"$LAST_LOG"
  CONSOLE_DIR=$(mktemp -d "$NESTED_WORK/console.XXXXXX") || fail "mktemp failed"
  mkfifo "$CONSOLE_DIR/in" "$CONSOLE_DIR/out" || fail "mkfifo failed"
  CONSOLE_T0=$SECONDS
  setsid -w "$NESTED_DIR/nested-run.sh" --stdin --ember "$EMBER" "$@" \
    <"$CONSOLE_DIR/in" >"$CONSOLE_DIR/out" 2>"$LAST_LOG.err" &
  CONSOLE_PID=$!
  # A read-write open of the input FIFO does not block; the harness's stdin opens
  # against it. The output FIFO opens once the harness has it open for writing.
  exec {CONSOLE_TO}<>"$CONSOLE_DIR/in" {CONSOLE_FROM}<"$CONSOLE_DIR/out"
}

# console_stop: ends the run, if one is going, and forgets it. The harness runs in
# its own session (setsid); timeout(1) inside it moves itself and QEMU to a process
# group of their own, so the session is signalled: the harness, tr, tee, timeout and
# QEMU, nothing else.
console_stop() {
  if [ -n "$CONSOLE_PID" ]; then
    exec {CONSOLE_TO}>&- {CONSOLE_FROM}<&-
    pkill -TERM -s "$CONSOLE_PID" 2>/dev/null || kill -TERM "$CONSOLE_PID" 2>/dev/null
    wait "$CONSOLE_PID" 2>/dev/null
    CONSOLE_PID=
  fi
  [ -z "$CONSOLE_DIR" ] || rm -rf "$CONSOLE_DIR"
  CONSOLE_DIR=
}

# console_send TEXT: types TEXT and Enter.
console_send() {
  echo "$NAME: $CONSOLE_LABEL: +$((SECONDS - CONSOLE_T0))s: typing: $1" >&2
  printf '%s\n' "$1" >&"$CONSOLE_TO"
}

# console_line: reads one line into CONSOLE_LINE (and LAST_LOG) within the seconds
# left until CONSOLE_DEADLINE. Status 0: a line; 1: the console ended; 2: timeout.
console_line() {
  local left=$((CONSOLE_DEADLINE - SECONDS)) st=0
  [ "$left" -gt 0 ] || return 2
  CONSOLE_LINE=
  IFS= read -r -t "$left" -u "$CONSOLE_FROM" CONSOLE_LINE || st=$?
  [ -z "$CONSOLE_LINE" ] || printf '%s\n' "$CONSOLE_LINE" >>"$LAST_LOG"
  [ "$st" = 0 ] && return 0
  [ "$st" -gt 128 ] && return 2
  [ -n "$CONSOLE_LINE" ] && return 0 # a last line without its newline
  return 1
}

# console_wait WHAT TEXT: reads the console until a line containing TEXT; fails the
# test (or skips it, when L1 had no /dev/kvm) if CONSOLE_STEP seconds pass first or
# the console ends. WHAT names the wait in the messages.
console_wait() {
  local st
  CONSOLE_DEADLINE=$((SECONDS + ${CONSOLE_STEP:-90}))
  while :; do
    st=0
    console_line || st=$?
    case $st in
      0) case $CONSOLE_LINE in *"$2"*)
           echo "$NAME: $CONSOLE_LABEL: +$((SECONDS - CONSOLE_T0))s: $1" >&2
           return 0 ;;
         esac ;;
      1) console_end_status
         fail "$CONSOLE_LABEL: the console ended while waiting for $1" ;;
      2) console_stop
         fail "$CONSOLE_LABEL: no $1 within ${CONSOLE_STEP:-90}s" ;;
    esac
  done
}

# console_end: reads the console to its end (CONSOLE_STEP seconds at most) and
# checks the harness's status as `nested` does; sets EMBER_RC.
console_end() {
  local st=0
  CONSOLE_DEADLINE=$((SECONDS + ${CONSOLE_STEP:-90}))
  while :; do
    console_line || { st=$?; break; }
  done
  if [ "$st" = 2 ]; then
    console_stop
    fail "$CONSOLE_LABEL: the console did not end within ${CONSOLE_STEP:-90}s"
  fi
  console_end_status
}

# console_end_status: the harness ended (its console did): its status, as `nested`.
console_end_status() {
  local rc=0
  exec {CONSOLE_TO}>&- {CONSOLE_FROM}<&-
  wait "$CONSOLE_PID" || rc=$?
  CONSOLE_PID=
  echo "$NAME: $CONSOLE_LABEL: harness status $rc after $((SECONDS - CONSOLE_T0))s (log $LAST_LOG)" >&2
  case $rc in
    0) ;;
    2) skip "L1 (QEMU TCG) has no /dev/kvm" ;;
    124) fail "$CONSOLE_LABEL: the harness timed out" ;;
    *) cat "$LAST_LOG.err" >&2; fail "$CONSOLE_LABEL: nested harness failed (status $rc)" ;;
  esac
  EMBER_RC=$(sed -n 's/^NESTED: ember exit=\([0-9]*\).*/\1/p' "$LAST_LOG" | tail -n1)
}
