# Shared by the integration scripts: where things are, and how a case reports.
# A case prints one line, PASS:/FAIL:/SKIP: <case>[: why]; the script exits 1 if any failed.
EMBER=${EMBER:-build/ember}
GUEST=${GUEST_MIN:-build/guest-min}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; failures=$((failures + 1)); }
skip() { echo "SKIP: $1: $2"; }
finish() { [ "$failures" -eq 0 ]; exit $?; }

# Every native test needs a usable /dev/kvm; without one the whole script is a skip.
require_kvm() {
	if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "SKIP: $(basename "$0" .sh): /dev/kvm is missing or not accessible"
		exit 77
	fi
}

# run_ember ARGS...: runs ember with a timeout; sets $out, $err, $rc.
run_ember() {
	timeout 60 "$EMBER" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	out=$(tr -d '\r' <"$TMP/out")
	err=$(cat "$TMP/err")
}

# A crash is a timeout (124), a death by SIGILL/ABRT/BUS/FPE/KILL/SEGV, or a sanitizer
# report. (153 is ember's bad-arguments status, not SIGXFSZ.)
crashed() {
	case $rc in 124 | 132 | 134 | 135 | 136 | 137 | 139) return 0 ;; esac
	grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' <<<"$err"
}

# expect NAME STATUS PATTERN ARGS...: a refused flag or file ends ember with STATUS and
# exactly one stderr line matching PATTERN, without a crash.
expect() {
	local name=$1 want=$2 pattern=$3
	shift 3
	run_ember "$@"
	if crashed; then
		fail "$name" "crashed: rc=$rc err=[$err]"
	elif [ $rc -ne "$want" ] || [ "$(wc -l <<<"$err")" -ne 1 ] || ! grep -qE -e "$pattern" <<<"$err"; then
		fail "$name" "rc=$rc (want $want) err=[$err]"
	else
		pass "$name"
	fi
}

# start_idle ARGS...: ember in the background (ember itself, no timeout(1) in between,
# so a signal reaches it directly); idle.max_ms ends the guest if a case loses track.
start_idle() {
	: >"$TMP/out" # before the fork: wait_for may read it before the child opens it
	"$EMBER" --kernel "$GUEST" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
}

# wait_for PATTERN SECONDS: until the serial output has a line matching PATTERN.
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		tr -d '\r' <"$TMP/out" | grep -qE "$1" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# task_seccomp PID: "comm Seccomp Seccomp_filters" per thread of PID, sorted. Kernel
# workers that live in the process (KVM's kvm-nx-lpage-recovery, io_uring's iou-wrk:
# PF_USER_WORKER 0x4000 or PF_IO_WORKER 0x10 in stat's flags) run no user code and are
# left out.
task_seccomp() {
	local t
	for t in /proc/"$1"/task/*; do
		local comm flags
		comm=$(cat "$t/comm")
		flags=$(sed 's/.*) //' "$t/stat" | cut -d' ' -f7)
		(((flags & 0x4010) != 0)) && continue
		echo "$comm $(awk '/^Seccomp:/ { s = $2 } /^Seccomp_filters:/ { f = $2 } END { print s, f }' "$t/status")"
	done | sort
}
