#!/usr/bin/env bash
# Snapshots over the API (PUT /snapshot/create and /snapshot/load), with guest-min's
# idle program, whose tick count is its TSC time since it started: a restored guest
# goes on counting where the snapshot stopped it, from a new ember process, paused or
# running, twice at once from one snapshot; every refusal answers 400 with a
# fault_message and leaves ember answering.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm
command -v curl >/dev/null || { echo "SKIP: snapshot: curl is not installed"; exit 77; }
GUEST_ABS=$(readlink -f "$GUEST")

# start_api NAME: ember NAME serving $TMP/NAME.sock (serial to $TMP/NAME.out); sets pid_NAME.
start_api() {
	rm -f "$TMP/$1.sock"
	timeout 120 "$EMBER" --api-sock "$TMP/$1.sock" --id "$1" >"$TMP/$1.out" 2>"$TMP/$1.err" </dev/null &
	eval "pid_$1=$!"
	for _ in $(seq 100); do [ -S "$TMP/$1.sock" ] && return 0; sleep 0.05; done
	return 1
}

# api NAME METHOD PATH [BODY]: sets $code and $body.
api() {
	local data=()
	[ $# -ge 4 ] && data=(-H 'Content-Type: application/json' --data-binary "$4")
	code=$(curl -s --max-time 30 --unix-socket "$TMP/$1.sock" -X "$2" "${data[@]}" \
		-o "$TMP/body" -w '%{http_code}' "http://localhost$3")
	body=$(cat "$TMP/body" 2>/dev/null)
}

want() {
	if [ "$code" = "$2" ] && { [ $# -lt 3 ] || grep -qE -e "$3" <<<"$body"; }; then
		pass "$1"
	else
		fail "$1" "HTTP $code (want $2) body=[$body]"
	fi
}

# ticks NAME: the idle ticks NAME's guest printed; last_tick NAME: the last one's number.
ticks() { tr -d '\r' <"$TMP/$1.out" | grep -c '^idle: tick'; }
last_tick() { tr -d '\r' <"$TMP/$1.out" | sed -n 's/^idle: tick //p' | tail -n1; }
first_tick() { tr -d '\r' <"$TMP/$1.out" | sed -n 's/^idle: tick //p' | head -n1; }

# wait_ticks NAME N: until NAME's guest has printed N ticks (10 s at most).
wait_ticks() {
	for _ in $(seq 200); do [ "$(ticks "$1")" -ge "$2" ] && return 0; sleep 0.05; done
	return 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# continues NAME: NAME's first tick follows the snapshot's last ($n) and is no further
# on than the wall-clock time since the template was paused ($t_pause) allows: the
# TSC runs on while a VM is paused, never faster (idle.tick_ms=20, plus one of slack).
continues() {
	local first elapsed
	first=$(first_tick "$1")
	elapsed=$(($(now_ms) - t_pause))
	if [ -n "$first" ] && [ "$first" -gt "$n" ] && [ "$first" -le $((n + elapsed / 20 + 1)) ]; then
		return 0
	fi
	why="last tick before the snapshot $n, first after ${first:-none}, ${elapsed} ms since the pause"
	return 1
}

stop() {
	local p
	p=$(eval echo "\$pid_$1")
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

load_body() { # SNAP MEM [RESUME] [EXTRA]
	echo "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": ${3:-true}${4:-}}"
}

# ---- the template: boot, tick, pause, snapshot ----
start_api tmpl || { fail snapshot-socket "no socket: $(cat "$TMP/tmpl.err")"; finish; }
api tmpl PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}"
want create-before-boot 400 'not supported before starting'
api tmpl PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}'
api tmpl PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"idle idle.tick_ms=20 idle.max_ms=100000\"}"
api tmpl PUT /actions '{"action_type": "InstanceStart"}'
want start-template 204
wait_ticks tmpl 5 || fail template-ticks "no ticks: $(cat "$TMP/tmpl.out")"
api tmpl PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}"
want create-while-running 400 'must be paused'
t_pause=$(now_ms)
api tmpl PATCH /vm '{"state": "Paused"}'
n=$(last_tick tmpl)
api tmpl PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\", \"snapshot_type\": \"Full\"}"
want create-full 204
[ "$(stat -c %a "$TMP/s")" = 600 ] && [ "$(stat -c %a "$TMP/m")" = 600 ] &&
	[ "$(stat -c %s "$TMP/m")" = $(((64 << 20) + 4096)) ] && pass snapshot-files-0600 ||
	fail snapshot-files-0600 "$(stat -c '%n %a %s' "$TMP/s" "$TMP/m")"
# guest-min touches a few MiB of its 64: the rest are zero pages, left as holes.
kib=$(du -k "$TMP/m" | cut -f1)
echo "snapshot: memory file of 64 MiB takes $kib KiB on disk" >&2
[ "$kib" -lt 16384 ] && pass memory-file-sparse || fail memory-file-sparse "$kib KiB allocated"
api tmpl PUT /snapshot/create "{\"snapshot_path\": \"$TMP/sd\", \"mem_file_path\": \"$TMP/m\", \"snapshot_type\": \"Diff\"}"
want diff-needs-dirty-tracking 400 'needs track_dirty_pages'
# The template goes on after its snapshot, and its ticks with it.
api tmpl PATCH /vm '{"state": "Resumed"}'
want template-resumes 204
wait_ticks tmpl $(($(ticks tmpl) + 3)) && pass template-ticks-after-snapshot ||
	fail template-ticks-after-snapshot "$(tail -n2 "$TMP/tmpl.out")"
stop tmpl

# ---- restored running: the count goes on from where the snapshot stopped it ----
start_api a
load=$(load_body "$TMP/s" "$TMP/m")
api a PUT /snapshot/load "$load"
want load-resume 204
api a GET /
want restored-running 200 '"state":"Running"'
if wait_ticks a 3; then
	continues a && pass restored-ticks-continue || fail restored-ticks-continue "$why"
else
	fail restored-ticks-continue "no ticks after restore: $(cat "$TMP/a.out" "$TMP/a.err")"
fi
api a GET /vm/config
want restored-config 200 '"vcpu_count":2,.*"mem_size_mib":64|"mem_size_mib":64,.*"vcpu_count":2'
api a PUT /snapshot/load "$load"
want load-twice 400 'not supported after starting'
api a PATCH /vm '{"state": "Paused"}'
api a PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s-a\", \"mem_file_path\": \"$TMP/m\"}"
want create-onto-own-ram-refused 400 'mapped from it'
[ "$(stat -c %s "$TMP/m")" = $(((64 << 20) + 4096)) ] && pass own-ram-file-intact || fail own-ram-file-intact "$(stat -c %s "$TMP/m")"
api a PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s-a\", \"mem_file_path\": \"$TMP/m-a\"}"
want clone-snapshots-itself 204
stop a

# ---- restored paused, then resumed; and two clones of one snapshot at once ----
start_api p
api p PUT /snapshot/load "$(load_body "$TMP/s" "$TMP/m" false)"
want load-paused 204
api p GET /
want restored-paused 200 '"state":"Paused"'
sleep 0.5
[ "$(ticks p)" = 0 ] && pass paused-restore-is-still || fail paused-restore-is-still "$(cat "$TMP/p.out")"
api p PATCH /vm '{"state": "Resumed"}'
want resume-restored 204
wait_ticks p 2 && continues p && pass paused-restore-continues ||
	fail paused-restore-continues "${why:-no ticks after the resume}"
stop p

start_api c1 && start_api c2
api c1 PUT /snapshot/load "$load" && c1=$code
api c2 PUT /snapshot/load "$load" && c2=$code
why=""
if [ "$c1$c2" = 204204 ] && wait_ticks c1 3 && wait_ticks c2 3 && continues c1 && continues c2; then
	pass two-clones-at-once
else
	fail two-clones-at-once "codes $c1 $c2: $why"
fi
stop c1
stop c2

head -c 1000 "$TMP/s" >"$TMP/short"

# ---- a restore without the API: --snapshot-load, and the config file's key ----
run_restore() { # NAME ARGS...: ember in the background, serial to $TMP/NAME.out
	local name=$1
	shift
	timeout 60 "$EMBER" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
	eval "pid_$name=$!"
}
run_restore f --snapshot-load "$load"
wait_ticks f 2 && continues f && pass flag-restore-continues ||
	fail flag-restore-continues "${why:-no ticks}: $(cat "$TMP/f.err")"
stop f
echo "{\"snapshot-load\": $load, \"logger\": {\"level\": \"Info\"}}" >"$TMP/restore.json"
run_restore cf --config-file "$TMP/restore.json" --no-api
wait_ticks cf 2 && continues cf && grep -q 'restored in' "$TMP/cf.err" && pass config-file-restore ||
	fail config-file-restore "${why:-no ticks}: $(cat "$TMP/cf.err")"
stop cf
run_ember --describe-snapshot "$TMP/s"
[ $rc -eq 0 ] && [ "$out" = v1 ] && pass describe-snapshot || fail describe-snapshot "rc=$rc out=[$out] err=[$err]"
head -c 4096 /dev/urandom >"$TMP/junk"
expect describe-snapshot-junk 1 "$TMP/junk" --describe-snapshot "$TMP/junk"
expect flag-restore-bad-json 153 'snapshot-load: invalid JSON' --snapshot-load '{"snapshot_path":'
expect flag-restore-with-kernel 153 'cannot be combined with --snapshot-load' \
	--snapshot-load "$load" --kernel "$GUEST"
expect flag-restore-paused-needs-api 1 'resume_vm false needs --api-sock' \
	--snapshot-load "$(load_body "$TMP/s" "$TMP/m" false)"
expect flag-restore-truncated 1 'truncated or extended' --snapshot-load "$(load_body "$TMP/short" "$TMP/m")"
echo "{\"snapshot-load\": $load, \"boot-source\": {\"kernel_image_path\": \"$GUEST_ABS\"}}" >"$TMP/both.json"
expect config-file-restore-and-boot 152 "unknown field 'boot-source'" --config-file "$TMP/both.json" --no-api

# ---- refusals: 400, one line, and ember still answers ----
start_api r
refuse() { # NAME PATTERN BODY
	api r PUT /snapshot/load "$3"
	want "$1" 400 "$2"
	api r GET /
	[ "$code" = 200 ] || fail "$1-answers" "GET / after the refusal: HTTP $code"
}
refuse load-missing-file 'No such file' "$(load_body "$TMP/none" "$TMP/m")"
refuse load-missing-memory-file 'memory file .*: No such file' "$(load_body "$TMP/s" "$TMP/none")"
head -c 1000 "$TMP/s" >"$TMP/short"
refuse load-truncated 'truncated' "$(load_body "$TMP/short" "$TMP/m")"
cp "$TMP/s" "$TMP/bad"
printf '\xff' | dd of="$TMP/bad" bs=1 seek=5000 conv=notrunc status=none
refuse load-corrupted 'checksum' "$(load_body "$TMP/bad" "$TMP/m")"
printf 'NOTEMBER' | dd of="$TMP/bad" bs=1 seek=0 conv=notrunc status=none
refuse load-not-a-snapshot 'bad magic' "$(load_body "$TMP/bad" "$TMP/m")"
head -c 65536 /dev/urandom >"$TMP/random"
refuse load-random-bytes 'snapshot: ' "$(load_body "$TMP/random" "$TMP/m")"
refuse load-a-directory 'not a regular file' "$(load_body "$TMP" "$TMP/m")"
head -c 1048576 "$TMP/m" >"$TMP/small-mem"
refuse load-short-memory 'memory file' "$(load_body "$TMP/s" "$TMP/small-mem")"
refuse load-uffd 'Uffd' "{\"snapshot_path\": \"$TMP/s\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/uffd.sock\"}}"
refuse load-both-mem-paths 'exactly one' "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/m\"}}"
refuse load-unknown-override 'no network interface' "$(load_body "$TMP/s" "$TMP/m" true ", \"network_overrides\": [{\"iface_id\": \"eth9\", \"host_dev_name\": \"tap9\"}]")"
# The refusals left nothing behind: a good load still works.
api r PUT /snapshot/load "$load"
want load-after-refusals 204
wait_ticks r 2 && pass refused-then-restored || fail refused-then-restored "$(cat "$TMP/r.err")"
stop r

# ---- Diff on top of Full: a template with track_dirty_pages ----
start_api d
api d PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": true}'
api d PUT /logger '{"level": "Info"}'
api d PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"idle idle.tick_ms=20 idle.max_ms=100000\"}"
api d PUT /actions '{"action_type": "InstanceStart"}'
wait_ticks d 3
api d PATCH /vm '{"state": "Paused"}'
api d PUT /snapshot/create "{\"snapshot_path\": \"$TMP/d1\", \"mem_file_path\": \"$TMP/dm\"}"
want diff-base-full 204
api d PATCH /vm '{"state": "Resumed"}'
wait_ticks d $(($(ticks d) + 10))
t_pause=$(now_ms)
api d PATCH /vm '{"state": "Paused"}'
n=$(last_tick d)
api d PUT /snapshot/create "{\"snapshot_path\": \"$TMP/d2\", \"mem_file_path\": \"$TMP/dm\", \"snapshot_type\": \"Diff\"}"
want create-diff 204
api d PUT /snapshot/create "{\"snapshot_path\": \"$TMP/d3\", \"mem_file_path\": \"$TMP/nofile\", \"snapshot_type\": \"Diff\"}"
want diff-needs-a-full-file 400 'updates a Full one'
stop d
# The Diff updated dm: the Full state d1 no longer goes with it, and a load says so
# (the token in the memory file's trailer); a copy of the Full files still loads.
start_api old
api old PUT /snapshot/load "$(load_body "$TMP/d1" "$TMP/dm")"
want load-full-state-with-diffed-memory-refused 400 'belongs to another snapshot'
stop old
pages=$(sed -n 's/.*diff snapshot: \([0-9]*\) dirty pages written.*/\1/p' "$TMP/d.err" | head -n1)
[ -n "$pages" ] && [ "$pages" -gt 0 ] && [ "$pages" -lt 1024 ] && pass diff-writes-only-dirty-pages ||
	fail diff-writes-only-dirty-pages "pages=${pages:-none} of 16384: $(grep -i diff "$TMP/d.err")"
start_api dr
api dr PUT /snapshot/load "$(load_body "$TMP/d2" "$TMP/dm")"
want load-diff 204
why="no ticks"
wait_ticks dr 2 && continues dr && pass diff-restores-the-newer-state ||
	fail diff-restores-the-newer-state "$why"
stop dr

# ---- a block guest: what it wrote before the snapshot, a clone reads back after ----
dd if=/dev/zero of="$TMP/disk" bs=1M count=2 status=none
start_api b
api b PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
api b PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"blk 1 blk.reread_ms=8000\"}"
api b PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$TMP/disk\", \"is_root_device\": false}"
api b PUT /actions '{"action_type": "InstanceStart"}'
for _ in $(seq 200); do grep -q 'reading again' "$TMP/b.out" && break; sleep 0.05; done
api b PATCH /vm '{"state": "Paused"}'
api b PUT /snapshot/create "{\"snapshot_path\": \"$TMP/bs\", \"mem_file_path\": \"$TMP/bm\"}"
want block-guest-snapshot 204
sum=$(tr -d '\r' <"$TMP/b.out" | sed -n 's/.*checksum \(0x[0-9a-f]*\) ok$/\1/p' | head -n1)
pkill -KILL -P "$pid_b" # ember itself, not the timeout(1) in front of it
wait "$pid_b" 2>/dev/null
grep -q 'reread' "$TMP/b.out" && fail block-template-stopped "the template read again before it was killed"
# Two clones at once, each on its own copy of the drive (drive_overrides).
cp "$TMP/disk" "$TMP/disk1" && cp "$TMP/disk" "$TMP/disk2"
start_api br1 && start_api br2
for c in 1 2; do
	api br$c PUT /snapshot/load "$(load_body "$TMP/bs" "$TMP/bm" true ", \"drive_overrides\": [{\"drive_id\": \"d0\", \"path_on_host\": \"$TMP/disk$c\"}]")"
	want block-clone-$c-restore 204
	api br$c GET /vm/config # the guest ends itself after its reread: ask now
	want block-clone-$c-config-shows-its-copy 200 "\"path_on_host\":\"$TMP/disk$c\""
done
for c in 1 2; do
	for _ in $(seq 400); do grep -q "blk: reread" "$TMP/br$c.out" && break; sleep 0.05; done
	got=$(tr -d '\r' <"$TMP/br$c.out" | sed -n 's/^blk: reread checksum \(0x[0-9a-f]*\) ok$/\1/p')
	[ -n "$sum" ] && [ "$got" = "$sum" ] && pass block-clone-$c-reads-what-was-written ||
		fail block-clone-$c-reads-what-was-written "template checksum ${sum:-none}, clone: $(tr -d '\r' <"$TMP/br$c.out" | tail -n3)"
done
stop br1
stop br2

# ---- Firecracker's deprecated fields: taken, with its "Deprecation: true" header ----
start_api dep
hdrs=$(curl -s -i --max-time 30 --unix-socket "$TMP/dep.sock" -X PUT -d \
	"{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\", \"enable_diff_snapshots\": true, \"resume_vm\": true}" \
	http://localhost/snapshot/load | tr -d '\r')
grep -q '^HTTP/1.1 204' <<<"$hdrs" && grep -q '^Deprecation: true$' <<<"$hdrs" &&
	pass load-deprecated-fields-answered-deprecation || fail load-deprecated-fields-answered-deprecation "$hdrs"
stop dep

start_api cfg
api cfg PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}'
api cfg PUT /snapshot/load "$load"
want load-after-config 400 'only before anything is configured'
stop cfg
finish
