#!/usr/bin/env bash
# Seccomp, seen from outside a running ember (/proc/PID/task/*/status): every thread is
# filtered from before it reads its first request. The API thread runs under its own
# filter; the event thread under the build filter from before it parses the first API
# request, with its own stacked on it once the VM is built; each vCPU thread inherits
# the build filter and stacks its own. --no-seccomp leaves them all unfiltered and says
# so; and a forbidden syscall made by a vCPU thread or by the event thread
# (build/ember-test's trigger port, driven by guest-min `outb`) ends ember with status
# 148, a log line naming the syscall, and a last metrics line with
# seccomp.num_faults = 1. build/ember itself has no trigger: the same write does nothing.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm
TEST_BIN=$(dirname "$EMBER")/ember-test
TRIGGER_PORT=1516 # 0x5ec, tests/hooks/seccomp_trigger.c

stop_idle() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
}

# --- every thread has its own filter
sock=$TMP/api.sock
start_idle --vcpus 2 --api-sock "$sock" --cmdline "idle idle.tick_ms=20 idle.max_ms=30000"
if ! wait_for 'idle: tick' 20; then
	fail every_thread_filtered "ember did not start: $(cat "$TMP/err")"
else
	table=$(task_seccomp "$pid")
	want=$'api 2 1\nCOMM 2 2\nvcpu0 2 2\nvcpu1 2 2'
	want=${want/COMM/$(basename "$EMBER")}
	if [ "$table" = "$want" ]; then
		pass every_thread_filtered
	else
		fail every_thread_filtered "tasks (comm Seccomp Seccomp_filters): [$table], want [$want]"
	fi
	# The API still answers under its filter.
	if answer=$(curl -sS --unix-socket "$sock" http://localhost/ 2>&1) && grep -q '"state":"Running"' <<<"$answer"; then
		pass api_answers_under_filter
	else
		fail api_answers_under_filter "$answer"
	fi
fi
stop_idle
[ "$rc" -eq 0 ] && pass filtered_vm_stops_cleanly || fail filtered_vm_stops_cleanly "rc=$rc err=[$(cat "$TMP/err")]"

# --- API-driven: the event thread parses requests under the build filter, narrowed at boot
rm -f "$sock"
: >"$TMP/out"
"$EMBER" --api-sock "$sock" </dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
for ((i = 0; i < 200; i++)); do [ -S "$sock" ] && break; sleep 0.025; done
# The socket exists before the event thread's filter; an answer comes after it.
answer=$(curl -sS --unix-socket "$sock" http://localhost/ 2>&1)
before=$(task_seccomp "$pid")
want=$'api 2 1\nCOMM 2 1'
want=${want/COMM/$(basename "$EMBER")}
if [ "$before" = "$want" ] && grep -q '"state":"Not started"' <<<"$answer"; then
	pass api_only_filtered_before_first_request
else
	fail api_only_filtered_before_first_request "GET / [$answer] tasks (comm Seccomp Seccomp_filters): [$before], want [$want]"
fi
put() { curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PUT -d "$2" "http://localhost/$1"; }
boot="{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"idle idle.tick_ms=20 idle.max_ms=30000\"}"
codes=$(put machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')
codes+=" $(put boot-source "$boot")"
codes+=" $(put actions '{"action_type": "InstanceStart"}')"
if [ "$codes" != "204 204 204" ] || ! wait_for 'idle: tick' 20; then
	fail api_boot_narrows_filters "PUT answers [$codes] err=[$(cat "$TMP/err")]"
else
	after=$(task_seccomp "$pid")
	want=$'api 2 1\nCOMM 2 2\nvcpu0 2 2'
	want=${want/COMM/$(basename "$EMBER")}
	[ "$after" = "$want" ] && pass api_boot_narrows_filters ||
		fail api_boot_narrows_filters "tasks (comm Seccomp Seccomp_filters): [$after], want [$want]"
fi
stop_idle
[ "$rc" -eq 0 ] && pass api_booted_vm_stops_cleanly || fail api_booted_vm_stops_cleanly "rc=$rc err=[$(cat "$TMP/err")]"

# --- --no-seccomp
start_idle --no-seccomp --cmdline "idle idle.tick_ms=20 idle.max_ms=30000"
if ! wait_for 'idle: tick' 20; then
	fail no_seccomp "ember did not start: $(cat "$TMP/err")"
else
	table=$(task_seccomp "$pid")
	if grep -q 'seccomp filters are off (--no-seccomp)' "$TMP/err" &&
		! grep -vq ' 0 0$' <<<"$table"; then
		pass no_seccomp
	else
		fail no_seccomp "tasks [$table] stderr [$(cat "$TMP/err")]"
	fi
fi
stop_idle

# --- the production binary has no trigger
run_ember --kernel "$GUEST" --cmdline "outb $TRIGGER_PORT 1"
if [ $rc -eq 0 ] && grep -q 'outb: still running after the write' <<<"$out"; then
	pass no_trigger_in_product
else
	fail no_trigger_in_product "rc=$rc out=[$out] err=[$err]"
fi

# --- forbidden calls end ember with 148 (ember-test; once, with the musl build)
if [ "$(basename "$EMBER")" != ember ]; then
	finish
fi
if [ ! -x "$TEST_BIN" ]; then
	fail trigger "$TEST_BIN is missing (make $TEST_BIN)"
	finish
fi
# value  thread  syscall number (x86-64); the vCPU dies in its own outb, the event
# thread a moment later (the guest may print on meanwhile).
cases="1 vcpu0 41 socket
2 vcpu0 9 mmap_exec
3 vcpu0 16 ioctl_create_vcpu
17 event 41 socket
18 event 9 mmap_exec
19 event 16 ioctl_create_vcpu"
while read -r value thread nr what; do
	name="forbidden_${what}_on_${thread%0}"
	metrics=$TMP/metrics-$value.json
	EMBER=$TEST_BIN run_ember --kernel "$GUEST" --cmdline "outb $TRIGGER_PORT $value" \
		--metrics-path "$metrics"
	last=$(tail -n 1 "$metrics" 2>/dev/null)
	if [ $rc -ne 148 ]; then
		fail "$name" "rc=$rc (want 148) out=[$out] err=[$err]"
	elif ! grep -qE "\[anonymous-instance:$thread\] seccomp: forbidden syscall $nr \(" <<<"$err"; then
		fail "$name" "no log line naming syscall $nr on $thread: [$err]"
	elif [ "$thread" = vcpu0 ] && grep -q 'outb: still running' <<<"$out"; then
		fail "$name" "the guest ran on after the forbidden call: [$out]"
	elif ! grep -qE '^\{"utc_timestamp_ms":[0-9]+,"seccomp":\{"num_faults":1\}\}$' <<<"$last"; then
		fail "$name" "last metrics line: [$last]"
	else
		pass "$name"
	fi
done <<<"$cases"
finish
