#!/usr/bin/env bash
# The control API end to end, with curl as a user would drive it: configure and start
# guest-min over the socket, pause/resume it, change a drive, flush metrics, send
# Ctrl+Alt+Del; bad calls answer 400 with a fault_message and change nothing;
# GET /vm/config boots the same VM again from --config-file; a bad config file is 152.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm
command -v curl >/dev/null || { echo "SKIP: api: curl is not installed"; exit 77; }

SOCK=$TMP/api.sock
GUEST_ABS=$(readlink -f "$GUEST")

# start_api [ARGS...]: ember serving the API in the background (serial to $TMP/serial).
start_api() {
	rm -f "$SOCK"
	timeout 120 "$EMBER" --api-sock "$SOCK" "$@" >"$TMP/serial" 2>"$TMP/stderr" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
	return 1
}

# api METHOD PATH [BODY]: sets $code and $body.
api() {
	local data=()
	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(curl -s --max-time 10 --unix-socket "$SOCK" -X "$1" "${data[@]}" \
		-o "$TMP/body" -w '%{http_code}' "http://localhost$2")
	body=$(cat "$TMP/body" 2>/dev/null)
}

# want NAME CODE [PATTERN]: the last answer had CODE and a body matching PATTERN.
want() {
	if [ "$code" = "$2" ] && { [ $# -lt 3 ] || grep -qE -e "$3" <<<"$body"; }; then
		pass "$1"
	else
		fail "$1" "HTTP $code (want $2) body=[$body]"
	fi
}

# stop_api: SIGTERM, then the exit status in $rc.
stop_api() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
}

ticks() { grep -c '^idle: tick' "$TMP/serial"; }

dd if=/dev/zero of="$TMP/disk0" bs=1M count=1 status=none
dd if=/dev/zero of="$TMP/disk1" bs=1M count=2 status=none

# ---- a whole flow over the socket ----
if ! start_api --id api_flow; then
	fail api-socket "no socket after 5 s: $(cat "$TMP/stderr")"
	finish
fi
api GET /
want get-root-before-start 200 '"state":"Not started"'
grep -q '"id":"api_flow"' <<<"$body" && pass get-root-id || fail get-root-id "$body"
api GET /version
want get-version 200 '"firecracker_version":"[0-9]+\.[0-9]+\.[0-9]+"'
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
want put-machine-config 204
api GET /machine-config
want get-machine-config 200 '"mem_size_mib":64'
api PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"idle idle.tick_ms=20 idle.max_ms=60000\"}"
want put-boot-source 204
api PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/disk0\", \"is_root_device\": false}"
want put-drive 204
api PUT /metrics "{\"metrics_path\": \"$TMP/metrics.json\", \"emit_id\": true, \"properties\": {\"bundle_id\": \"fn-abc\", \"customer_id\": \"1234\"}}"
want put-metrics 204
api PUT /logger "{\"log_path\": \"$TMP/log\", \"level\": \"Info\", \"show_level\": true}"
want put-logger 204
api PUT /logger '{"level": "Debug"}'
want put-logger-twice 400 'already configured'
api PATCH /vm '{"state": "Paused"}'
want pause-before-start 400 'not supported before starting'
api PUT /actions '{"action_type": "InstanceStart"}'
want instance-start 204
api PUT /actions '{"action_type": "InstanceStart"}'
want instance-start-twice 400 'not supported after starting'
api GET /
want get-root-running 200 '"state":"Running"'
api PUT /drives/late "{\"drive_id\": \"late\", \"path_on_host\": \"$TMP/disk0\", \"is_root_device\": false}"
want put-drive-after-start 400 'after starting'

# Pause: the tick count stands still; resume: it moves again.
sleep 0.3
api PATCH /vm '{"state": "Paused"}'
want pause 204
api GET /
want get-root-paused 200 '"state":"Paused"'
n1=$(ticks); sleep 0.5; n2=$(ticks)
[ "$n1" -gt 0 ] && [ "$n1" -eq "$n2" ] && pass paused-guest-is-still ||
	fail paused-guest-is-still "ticks $n1 then $n2 while paused"
api PATCH /vm '{"state": "Resumed"}'
want resume 204
sleep 0.5; n3=$(ticks)
[ "$n3" -gt "$n2" ] && pass resumed-guest-runs || fail resumed-guest-runs "ticks $n2 then $n3 after resume"

api PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/disk1\"}"
want patch-drive-path 204
api PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/missing\"}"
want patch-drive-missing-file 400 'missing'
api PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100}}}'
want patch-drive-rate-limiter 204
api PATCH /drives/nope "{\"drive_id\": \"nope\", \"path_on_host\": \"$TMP/disk1\"}"
want patch-drive-unknown 400 "drive 'nope' does not exist"
api GET /vm/config
want vm-config-after-patch 200 "\"path_on_host\":\"$TMP/disk1\""
api PUT /actions '{"action_type": "FlushMetrics"}'
want flush-metrics 204
if python3 - "$TMP/metrics.json" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, "want a line at InstanceStart and one at FlushMetrics, got %d" % len(lines)
# Firecracker's schema: every group (devices ember lacks too), no other top-level key;
# emit_id and properties as its docs/metrics.md shows them.
groups = ("api_server balloon block deprecated_api get_api_requests i8042 uart latencies_us "
          "logger mmds net patch_api_requests put_api_requests seccomp vcpu vmm signals vsock "
          "entropy pmem interrupts memory_hotplug").split()
for l in lines:
    m = json.loads(l)
    want = ["utc_timestamp_ms", "id", "properties"] + groups + ["block_data"]
    assert sorted(m) == sorted(want), "keys %s, want %s" % (sorted(m), sorted(want))
    assert m["id"] == "api_flow", m["id"]
    assert m["properties"] == {"bundle_id": "fn-abc", "customer_id": "1234"}, m["properties"]
    assert m["block"]["read_agg"] == {"min_us": 0, "max_us": 0, "sum_us": 0}, m["block"]
last = json.loads(lines[-1])
assert last["patch_api_requests"]["drive_count"] == 4, last["patch_api_requests"]
assert last["patch_api_requests"]["drive_fails"] == 2, last["patch_api_requests"]
assert last["latencies_us"]["pause_vm"] > 0, last["latencies_us"]
EOF
then pass metrics-lines; else fail metrics-lines "$(head -c 600 "$TMP/metrics.json")"; fi
grep -qE '^[0-9-]+T[0-9:.]+Z \[api_flow:[a-z0-9]+:INFO\] ' "$TMP/log" && pass log-file-format ||
	fail log-file-format "$(head -3 "$TMP/log")"

api PUT /actions '{"action_type": "SendCtrlAltDel"}'
want send-ctrl-alt-del 204
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
	fail ctrl-alt-del-ends-guest "ember still running 5 s after SendCtrlAltDel"
	stop_api
else
	wait "$pid"; rc=$?
	grep -q '^idle: ctrl-alt-del' "$TMP/serial" && [ $rc -eq 0 ] && pass ctrl-alt-del-ends-guest ||
		fail ctrl-alt-del-ends-guest "rc=$rc serial=[$(tail -3 "$TMP/serial")]"
fi
[ ! -e "$SOCK" ] && pass socket-removed-at-exit || fail socket-removed-at-exit "$SOCK still there"
grep -qE 'AddressSanitizer|runtime error' "$TMP/stderr" && fail flow-sanitizer "$(cat "$TMP/stderr")"

# ---- network interfaces over the API (root and /dev/net/tun: a TAP of our own) ----
tap=apin$$
tap=${tap:0:15}
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] && ip tuntap add "$tap" mode tap 2>/dev/null; then
	start_api || fail api-socket-net "no socket"
	api PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"idle idle.max_ms=60000\"}"
	api PATCH /machine-config '{"mem_size_mib": 80}'
	want patch-machine-config 204
	api PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$tap\", \"guest_mac\": \"06:00:ac:10:00:02\"}"
	want put-network-interface 204
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}'
	want patch-net-before-start 400 'before starting'
	api PUT /actions '{"action_type": "InstanceStart"}'
	want instance-start-with-net 204
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 10, "refill_time": 100}}, "tx_rate_limiter": {"bandwidth": {"size": 100000, "refill_time": 10}}}'
	want patch-net-rate-limiters 204
	# A bucket a PATCH leaves out is kept (rx ops stays), and a PATCH with no limiter is
	# a no-op, as in Firecracker.
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 2048, "refill_time": 100}}}'
	want patch-net-one-bucket 204
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0"}'
	want patch-net-nothing 204
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "guest_mac": "06:00:00:00:00:09"}'
	want patch-net-unknown-field 400 "unknown field 'guest_mac'"
	api PATCH /network-interfaces/eth9 '{"iface_id": "eth9", "rx_rate_limiter": {}}'
	want patch-net-unknown-iface 400 "network interface 'eth9' does not exist"
	api GET /vm/config
	want vm-config-net 200 '"rx_rate_limiter":\{"bandwidth":\{"size":2048,"refill_time":100,"one_time_burst":0\},"ops":\{"size":10,"refill_time":100,"one_time_burst":0\}\}.*"mem_size_mib":80|"mem_size_mib":80.*"rx_rate_limiter":\{"bandwidth":\{"size":2048,[^}]*\},"ops":\{"size":10'
	stop_api
	[ $rc -eq 0 ] || fail net-flow-exit "rc=$rc $(cat "$TMP/stderr")"
	ip link del "$tap" 2>/dev/null
else
	skip network-interfaces "needs root, /dev/net/tun and ip(8) to create a TAP"
fi

# ---- bad calls: 400, a fault_message naming the problem, and nothing changed ----
start_api || fail api-socket-2 "no socket"
api PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"hello\"}"
api GET /vm/config; before=$body
bad() { # NAME METHOD PATH BODY PATTERN
	api "$2" "$3" "$4"
	want "$1" 400 "\"fault_message\":\"[^\"]*$5"
}
bad unknown-path PUT /foo '{}' 'Invalid request method and/or path: PUT /foo'
bad unknown-field PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "foo": 1}' "unknown field 'foo'"
bad wrong-type PUT /machine-config '{"vcpu_count": "1", "mem_size_mib": 64}' 'vcpu_count: expected an integer'
bad missing-field PUT /machine-config '{"vcpu_count": 1}' 'mem_size_mib: missing'
bad out-of-range PUT /machine-config '{"vcpu_count": 99, "mem_size_mib": 64}' 'vcpu_count: 99 is out of range'
bad id-mismatch PUT /drives/a "{\"drive_id\": \"b\", \"path_on_host\": \"/x\", \"is_root_device\": false}" "drive_id: 'b' differs"
bad bad-json PUT /boot-source '{"kernel_image_path": ' 'invalid JSON'
bad empty-body PUT /boot-source '' 'needs a JSON body'
bad no-vsock PUT /vsock '{}' 'ember has no vsock device'
bad bad-action PUT /actions '{"action_type": "Reboot"}' "'Reboot' is not one of"
bad bad-mac PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap9", "guest_mac": "xx"}' 'guest_mac'
bad patch-before-boot PATCH /drives/a '{"drive_id": "a", "path_on_host": "/x"}' 'before starting'
# Files are opened when configured (as Firecracker does), not first at InstanceStart.
bad put-kernel-missing PUT /boot-source '{"kernel_image_path": "/nonexistent/vmlinux"}' \
	'kernel /nonexistent/vmlinux: No such file or directory'
bad put-initrd-directory PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"initrd_path\": \"$TMP\"}" \
	"initrd $TMP: not a regular file or block device"
bad put-drive-missing PUT /drives/m '{"drive_id": "m", "path_on_host": "/nonexistent/disk", "is_root_device": false}' \
	"drive 'm': /nonexistent/disk: No such file or directory"
api GET /vm/config
[ "$body" = "$before" ] && pass bad-calls-change-nothing || fail bad-calls-change-nothing "[$before] -> [$body]"

# A field Firecracker deprecates (machine-config's cpu_template) is taken, answered with
# "Deprecation: true" and logged, as Firecracker does; a request without it is not.
put_head() { # PATH BODY: the response head, without CRs
	curl -s -i -o - --max-time 10 --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		--data-binary "$2" "http://localhost$1" | tr -d '\r'
}
with=$(put_head /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "None"}')
without=$(put_head /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')
if grep -q '^HTTP/1.1 204' <<<"$with" && grep -q '^Deprecation: true$' <<<"$with" &&
	grep -q '^HTTP/1.1 204' <<<"$without" && ! grep -qi '^Deprecation' <<<"$without" &&
	grep -q 'PUT /machine-config: cpu_template field is deprecated.' "$TMP/stderr"; then
	pass deprecated-field-marked
else
	fail deprecated-field-marked "with: [$with] without: [$without] stderr: [$(cat "$TMP/stderr")]"
fi

# A kernel that was there when configured and is gone at InstanceStart: 400, and the VM
# can still be started.
cp "$GUEST_ABS" "$TMP/gone"
api PUT /boot-source "{\"kernel_image_path\": \"$TMP/gone\"}"
want put-kernel-present 204
rm "$TMP/gone"
api PUT /actions '{"action_type": "InstanceStart"}'
want start-missing-kernel 400 "$TMP/gone: No such file"
api GET /
want still-not-started 200 '"state":"Not started"'

# The configuration printed by GET /vm/config boots the same VM from a file: the new
# instance prints the same configuration, runs, and has the drive (a PATCH reaches it).
api PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"idle idle.max_ms=60000\"}"
api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 96}'
api PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$TMP/disk1\", \"is_root_device\": false, \"io_engine\": \"Async\"}"
api GET /vm/config
echo "$body" >"$TMP/vm.json"
stop_api
[ $rc -eq 0 ] && pass sigterm-before-start || fail sigterm-before-start "rc=$rc"
start_api --config-file "$TMP/vm.json" || fail config-file-socket "no socket: $(cat "$TMP/stderr")"
api GET /vm/config
[ "$body" = "$(cat "$TMP/vm.json")" ] && pass config-file-round-trip ||
	fail config-file-round-trip "[$(cat "$TMP/vm.json")] -> [$body]"
api GET /
want config-file-boots-at-once 200 '"state":"Running"'
api PATCH /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$TMP/disk0\"}"
want config-file-drive-is-live 204
sleep 0.2
grep -q '^idle: polling' "$TMP/serial" && pass config-file-guest-runs ||
	fail config-file-guest-runs "serial=[$(cat "$TMP/serial")]"
stop_api
[ $rc -eq 0 ] && pass sigterm-running || fail sigterm-running "rc=$rc stderr=[$(cat "$TMP/stderr")]"
sed 's/"boot_args":"[^"]*"/"boot_args":"hello"/' "$TMP/vm.json" >"$TMP/hello.json"
run_ember --config-file "$TMP/hello.json" --no-api
[ $rc -eq 0 ] && grep -qx 'Hello from guest-min' <<<"$out" && pass config-file-no-api ||
	fail config-file-no-api "rc=$rc out=[$out] err=[$err]"

# SIGTERM ends a running VM cleanly: status 0, and a last metrics line is written.
timeout 60 "$EMBER" --kernel "$GUEST" --cmdline "idle idle.max_ms=60000" --metrics-path "$TMP/m2.json" \
	>"$TMP/serial2" 2>"$TMP/stderr2" </dev/null &
pid=$!
for _ in $(seq 100); do grep -q '^idle: polling' "$TMP/serial2" && break; sleep 0.05; done
stop_api
lines=$(wc -l <"$TMP/m2.json" 2>/dev/null || echo 0)
if [ $rc -eq 0 ] && [ "$lines" -eq 2 ] && python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/m2.json"; then
	pass sigterm-flushes-metrics
else
	fail sigterm-flushes-metrics "rc=$rc, $lines metrics lines (want 2: start, exit)"
fi

# Firecracker's jailer passes when the launch began: the startup metrics count from there
# (here 5 s before this ember, plus a parent's 7 s of CPU time).
t0=$(python3 -c 'import time; print(time.monotonic_ns() // 1000 - 5000000)')
timeout 60 "$EMBER" --api-sock "$TMP/st.sock" --kernel "$GUEST" --cmdline "idle idle.max_ms=60000" \
	--metrics-path "$TMP/m3.json" --start-time-us "$t0" --start-time-cpu-us 0 \
	--parent-cpu-time-us 7000000 >"$TMP/serial3" 2>"$TMP/stderr3" </dev/null &
pid=$!
for _ in $(seq 100); do grep -q '^idle: polling' "$TMP/serial3" && break; sleep 0.05; done
stop_api
if [ $rc -eq 0 ] && python3 -c '
import json, sys
a = json.loads(open(sys.argv[1]).readlines()[-1])["api_server"]
assert 5000000 <= a["process_startup_time_us"] < 60000000, a
assert a["process_startup_time_cpu_us"] >= 7000000, a' "$TMP/m3.json"; then
	pass start-time-flags-count-from-the-launcher
else
	fail start-time-flags-count-from-the-launcher "rc=$rc $(tail -n1 "$TMP/m3.json" 2>/dev/null | grep -o '"api_server":{[^}]*}')"
fi
# Firecracker's logger module filter: only lines from source paths starting with it
# (--module and PUT /logger's module); PUT /logger's level in any case, as Firecracker.
for how in flag api; do
	rm -f "$TMP/mod.sock" "$TMP/mod.log"
	extra=(--level Info --module api --log-path "$TMP/mod.log")
	[ $how = api ] && extra=()
	timeout 60 "$EMBER" --api-sock "$TMP/mod.sock" "${extra[@]}" >/dev/null 2>"$TMP/mod.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/mod.sock" ] && break; sleep 0.05; done
	[ $how = api ] && code=$(curl -s --unix-socket "$TMP/mod.sock" -X PUT -o /dev/null -w '%{http_code}' \
		--data-binary "{\"log_path\": \"$TMP/mod.log\", \"level\": \"info\", \"module\": \"api\"}" http://l/logger)
	curl -s --unix-socket "$TMP/mod.sock" -X PUT -o /dev/null \
		--data-binary '{"vcpu_count": 1, "mem_size_mib": 32}' http://l/machine-config
	stop_api
	if [ $rc -eq 0 ] && grep -q 'API PUT /machine-config: 204' "$TMP/mod.log" &&
		! grep -q 'signal 15' "$TMP/mod.log" && { [ $how = flag ] || [ "$code" = 204 ]; }; then
		pass "log-module-filter-$how"
	else
		fail "log-module-filter-$how" "rc=$rc code=${code:-} log=[$(cat "$TMP/mod.log" 2>/dev/null)]"
	fi
done
expect start-time-negative 153 '^ember: --start-time-us: -5 is negative$' --kernel "$GUEST" --start-time-us -5
run_ember --snapshot-version
[ $rc -eq 0 ] && [ "$out" = v1 ] && pass snapshot-version || fail snapshot-version "rc=$rc out=[$out] err=[$err]"

# ---- config file and launch flags refused ----
echo "{\"boot-source\": {\"kernel_image_path\": \"$GUEST_ABS\"}, \"vsock\": {}}" >"$TMP/bad.json"
expect config-file-absent-device 152 "^ember: config file $TMP/bad.json: vsock: ember has no vsock device \\(only null is taken\\)$" --config-file "$TMP/bad.json" --no-api
echo "{\"boot-source\": {\"kernel_image_path\": \"$GUEST_ABS\"}, \"gpu\": null}" >"$TMP/bad.json"
expect config-file-unknown-key 152 "^ember: config file $TMP/bad.json: unknown field 'gpu'$" --config-file "$TMP/bad.json" --no-api
# A file written for Firecracker, with null for the devices ember lacks, boots.
echo "{\"boot-source\": {\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"exit 7\"}, \"drives\": [],
	\"balloon\": null, \"vsock\": null, \"entropy\": null, \"mmds-config\": null,
	\"memory-hotplug\": null, \"pmem\": [], \"cpu-config\": null}" >"$TMP/fc.json"
run_ember --config-file "$TMP/fc.json" --no-api
[ $rc -eq 7 ] && [ -z "$err" ] && pass config-file-firecracker-nulls || fail config-file-firecracker-nulls "rc=$rc err=[$err]"
echo '{"boot-source": ' >"$TMP/broken.json"
expect config-file-broken-json 152 'invalid JSON' --config-file "$TMP/broken.json" --no-api
expect config-file-missing 152 'No such file' --config-file "$TMP/none.json" --no-api
echo '{"boot-source": {"kernel_image_path": "/nonexistent/vmlinux"}}' >"$TMP/nokernel.json"
expect config-file-kernel-missing 152 "^ember: config file $TMP/nokernel.json: .*kernel /nonexistent/vmlinux: No such file or directory$" \
	--config-file "$TMP/nokernel.json" --no-api
expect no-api-alone 153 'no-api needs --config-file' --no-api
expect config-file-and-kernel 153 'cannot be combined with --config-file' --config-file "$TMP/vm.json" --kernel "$GUEST"
# ---- machine-config huge_pages: RAM from the hugetlb pool, or a clear refusal ----
huge_json() { # BOOT_ARGS
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}}\n' "$GUEST_ABS" "$1"
}
hp=/proc/sys/vm/nr_hugepages
hp_orig=$(cat $hp)
hp_free() { awk '/^HugePages_Free/ {f=$2} /^HugePages_Rsvd/ {r=$2} END {print f - r}' /proc/meminfo; }
huge_json hello >"$TMP/huge.json"
if [ "$(hp_free)" -lt 32 ]; then
	expect huge-pages-pool-too-small 1 'cannot map 64 MiB of guest memory with 2 MiB huge pages' \
		--config-file "$TMP/huge.json" --no-api
else
	skip huge-pages-pool-too-small "the host already has $(hp_free) free huge pages"
fi
if [ -w $hp ] && echo $((hp_orig + 32)) >$hp 2>/dev/null && [ "$(hp_free)" -ge 32 ]; then
	before=$(hp_free)
	huge_json "idle idle.max_ms=60000" >"$TMP/huge-idle.json"
	start_api --config-file "$TMP/huge-idle.json"
	api GET /machine-config
	during=$(hp_free)
	stop_api
	if [ $((before - during)) -eq 32 ] && grep -q '"huge_pages":"2M"' <<<"$body" && [ $rc -eq 0 ]; then
		pass huge-pages-2m
	else
		fail huge-pages-2m "free huge pages $before -> $during (want -32), rc=$rc, $body"
	fi
	echo "$hp_orig" >$hp
else
	echo "$hp_orig" >$hp 2>/dev/null
	skip huge-pages-2m "cannot reserve 32 huge pages here"
fi

# huge_pages Transparent: guest RAM (the 64 MiB anonymous mapping) marked MADV_HUGEPAGE.
# Under the kernel's THP mode "madvise" (set for the test, as nr_hugepages above, and put
# back) smaps shows it THPeligible 1, and 0 with None.
thp_ctl=/sys/kernel/mm/transparent_hugepage/enabled
thp_orig=$(sed -n 's/.*\[\(.*\)\].*/\1/p' $thp_ctl 2>/dev/null)
thp_ram() { # HUGE_PAGES: $eligible, the guest RAM mapping's THPeligible, idle guest
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "idle idle.max_ms=60000"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "%s"}}\n' \
		"$GUEST_ABS" "$1" >"$TMP/thp.json"
	start_api --config-file "$TMP/thp.json"
	api GET /machine-config
	eligible=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { big = 0 } /^Size: +65536 kB/ { big = 1 }
		big && /^THPeligible:/ { print $2; exit }' /proc/"$(pgrep -P "$pid" | head -1)"/smaps)
	stop_api
}
if [ -n "$thp_orig" ] && echo madvise >$thp_ctl 2>/dev/null; then
	thp_ram Transparent; thp_on=$eligible on_body=$body on_rc=$rc
	thp_ram None; thp_off=$eligible
	echo "$thp_orig" >$thp_ctl
	if [ "$thp_on" = 1 ] && [ "$thp_off" = 0 ] && grep -q '"huge_pages":"Transparent"' <<<"$on_body" &&
		[ $on_rc -eq 0 ]; then
		pass huge-pages-transparent
	else
		fail huge-pages-transparent "THPeligible Transparent [$thp_on] None [$thp_off] (want 1 0), rc=$on_rc, $on_body"
	fi
else
	skip huge-pages-transparent "cannot set the THP mode to madvise here ($thp_ctl: [$thp_orig])"
fi

touch "$TMP/taken"
expect socket-path-exists 1 'Address in use' --api-sock "$TMP/taken"

finish
