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
