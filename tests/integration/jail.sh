#!/usr/bin/env bash
# The jail (--jail), seen from outside a jailed ember, never from the setup code's own
# return values: a guest-min `idle` VM keeps ember up while the test reads
# /proc/PID/{status,ns,mountinfo,cgroup,limits,fd,environ,root} and the cgroup files;
# then virtio-blk and virtio-net from inside the jail, --new-pid-ns, --daemonize,
# --netns, --config-file, and each refusal with its one line.
# Needs root (namespaces, cgroups, pivot_root); otherwise SKIP.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: jail: needs root (namespaces, cgroups, pivot_root, mknod)"
	exit 77
fi

# An otherwise unused uid/gid, so nothing else of its can be mistaken for ember.
JUID=$((40000 + $$ % 20000))
JGID=$JUID
BASE=$TMP/base
ID=jt-$$
ROOT=$BASE/ember/$ID/root
J=(--jail --uid "$JUID" --gid "$JGID" --chroot-base "$BASE")
# idle.max_ms is only a safety net: the jailed VM must outlive every /proc and cgroup
# check below, which takes over 30 s with ember-asan in the KVM box (nested, TCG).
IDLE="idle idle.max_ms=300000"
pids=() taps=() netns=""

# ember-asan: LeakSanitizer's exit check reads /proc/PID/task and ptrace-attaches to
# ember's own threads; the jail removes /proc and makes the process non-dumpable by
# design, so that one check is off here (ASan and UBSan stay on).
if [[ $EMBER == *asan* ]]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	echo "  ember-asan: detect_leaks=0 in this script (LeakSanitizer needs /proc/PID/task and ptrace, which the jail removes)"
fi

cleanup() {
	local p d
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in "${taps[@]}"; do ip link del "$p" 2>/dev/null; done
	[ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
	# The cgroups an ember leaves behind (jail/README.md): this run's only.
	for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path "*/ember/jt-$$*" 2>/dev/null); do
		rmdir "$d" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# ---- helpers ----

# start_jailed ID ARGS...: a jailed ember with guest-min in the background; sets pid.
start_jailed() {
	local id=$1
	shift
	: >"$TMP/out"
	"$EMBER" "${J[@]}" --id "$id" --kernel "$GUEST" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	pids+=("$pid")
}

# stop PID [SIG]: signal, wait up to 5 s (then SIGKILL); sets rc.
stop() {
	local p=$1 i
	kill -"${2:-TERM}" "$p" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.01
	done
	kill -0 "$p" 2>/dev/null && kill -9 "$p"
	wait "$p" 2>/dev/null
	rc=$?
	err=$(cat "$TMP/err")
}

# Where guest-min appears inside the jail: the same path against the jail's "/".
inside() { realpath -m --relative-to=/ "/$1" | sed 's|^|/|'; }

# field KEY FILE: the value of "KEY:\t..." in a /proc status file, tabs as spaces.
field() { sed -n "s/^$1:[[:space:]]*//p" "$2" | tr '\t' ' '; }

# Every thread of PID must pass check_thread (a function of a status file).
all_threads() {
	local t n=0
	for t in /proc/"$1"/task/*/status; do
		"$2" "$t" || { echo "thread $(basename "$(dirname "$t")"): $3"; return 1; }
		n=$((n + 1))
	done
	[ $n -ge 2 ] || { echo "only $n thread(s)"; return 1; }
}

# cgroups: as ember chooses (jail/cgroup.c): v2 when it offers cpu, memory and pids.
mounts_of() { # FSTYPE: "mount-point super-options" per mount of that type
	awk -v t="$1" '{ split($0, p, " - "); split(p[1], a, " "); split(p[2], b, " ");
		if (b[1] == t) print a[5], b[3] }' /proc/self/mountinfo
}
cg_v2=$(mounts_of cgroup2 | head -1 | cut -d' ' -f1)
v2_offers_all() {
	local c
	[ -n "$cg_v2" ] && [ -r "$cg_v2/cgroup.controllers" ] || return 1
	for c in cpu memory pids; do grep -qw "$c" "$cg_v2/cgroup.controllers" || return 1; done
}
CGV=1
v2_offers_all && CGV=2
cg_dir() { # CONTROLLER ID
	if [ $CGV = 2 ]; then
		echo "$cg_v2/ember/$2"
	else
		echo "$(mounts_of cgroup | awk -v c="$1" '("," $2 ",") ~ ("," c ",") { print $1; exit }')/ember/$2"
	fi
}
if [ $CGV = 2 ]; then
	MEMKEY=memory.max CPUKEY=cpu.max CPUVAL="50000 100000"
else
	MEMKEY=memory.limit_in_bytes CPUKEY=cpu.cfs_quota_us CPUVAL=50000
fi
echo "  cgroup v$CGV"

# A TAP the jailed uid may open (ip tuntap ... user UID), or none (net cases skip).
TAP=""
if [ -c /dev/net/tun ] && command -v ip >/dev/null; then
	t=jt$$
	t=${t:0:15}
	if ip tuntap add "$t" mode tap user "$JUID" 2>/dev/null; then
		TAP=$t
		taps+=("$t")
	fi
fi

# ---- refusals: flags (153) and steps (1), one line each ----

expect jail-flag-needs-jail 153 '^ember: --uid needs --jail$' --uid 5 --kernel "$GUEST"
expect jail-needs-id 153 '^ember: --jail needs --id' --jail --uid 5 --gid 5 --kernel "$GUEST"
expect jail-needs-uid-gid 153 '^ember: --jail needs --uid and --gid' --jail --id a --uid 5 --kernel "$GUEST"
expect jail-id-stricter 153 "under --jail an id is letters, digits and '-' only" \
	"${J[@]}" --id a_b --kernel "$GUEST"
expect jail-cgroup-core-key 153 "cgroup key 'cgroup.procs' is a cgroup core file" \
	"${J[@]}" --id "$ID" --cgroup cgroup.procs=1 --kernel "$GUEST"
expect jail-rlimit-unknown 153 "unknown resource limit 'stack'" \
	"${J[@]}" --id "$ID" --resource-limit stack=1 --kernel "$GUEST"
expect jail-step-netns 1 '^ember: jail: netns: /nonexistent/netns: No such file or directory$' \
	"${J[@]}" --id "$ID" --netns /nonexistent/netns --kernel "$GUEST"
expect jail-step-cgroup-file 1 "^ember: jail: cgroup: .*/ember/$ID/pids.bogus: No such file or directory$" \
	"${J[@]}" --id "$ID" --cgroup pids.bogus=1 --kernel "$GUEST"
expect jail-step-cgroup-value 1 "^ember: jail: cgroup: .*/ember/$ID/pids.max: writing 'abc': Invalid argument$" \
	"${J[@]}" --id "$ID" --cgroup pids.max=abc --kernel "$GUEST"
# A kernel that is not there is refused with the flags, before the jail is built.
expect jail-missing-kernel 153 '^ember: kernel /nonexistent/vmlinux: No such file or directory$' \
	"${J[@]}" --id "$ID" --kernel /nonexistent/vmlinux
: >"$TMP/not-a-dir"
expect jail-step-root 1 "^ember: jail: root: $TMP/not-a-dir: Not a directory$|^ember: jail: root: $TMP/not-a-dir/ember: Not a directory$" \
	--jail --uid "$JUID" --gid "$JGID" --chroot-base "$TMP/not-a-dir" --id "$ID" --kernel "$GUEST"

# ---- a jailed ember, observed from outside ----

img=$TMP/disk.img img_ro=$TMP/disk-ro.img
truncate -s 4M "$img" "$img_ro"
chown "$JUID:$JGID" "$img" "$img_ro"
exec 7</etc/hostname # an inherited descriptor the jail must close
net_args=()
[ -n "$TAP" ] && net_args=(--net "tap=$TAP")
JAIL_TEST_SECRET=hunter2 start_jailed "$ID" --cmdline "$IDLE" --drive "path=$img" \
	--drive "path=$img_ro,ro" "${net_args[@]}" --api-sock /api.sock --log-path /ember.log \
	--level Info --metrics-path /metrics.json --cgroup pids.max=64 \
	--cgroup "$MEMKEY=268435456" --cgroup "$CPUKEY=$CPUVAL" --resource-limit fsize=1073741824
exec 7<&-
if ! wait_for '^idle: polling' 10; then
	fail jail-idle-boots "out=[$(cat "$TMP/out")] err=[$(cat "$TMP/err")]"
	finish
fi
pass jail-idle-boots
jpid=$pid
S=/proc/$jpid/status

st=$(stat -c '%u:%g %a' "$ROOT" 2>&1)
if [ "$st" = "$JUID:$JGID 700" ]; then
	pass jail-root-dir
else
	fail jail-root-dir "$ROOT: $st (want $JUID:$JGID 700)"
fi

ids_ok() {
	[ "$(field Uid "$1")" = "$JUID $JUID $JUID $JUID" ] &&
		[ "$(field Gid "$1")" = "$JGID $JGID $JGID $JGID" ] && [ -z "$(field Groups "$1")" ]
}
if why=$(all_threads "$jpid" ids_ok "Uid [$(field Uid "$S")] Gid [$(field Gid "$S")] Groups [$(field Groups "$S")]"); then
	pass jail-uid-gid
else
	fail jail-uid-gid "$why (want $JUID/$JGID, no groups)"
fi

caps_ok() {
	local c
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(field $c "$1")" = 0000000000000000 ] || return 1
	done
}
if why=$(all_threads "$jpid" caps_ok "$(grep ^Cap "$S" | tr '\t\n' ' ')"); then
	pass jail-capabilities-zero
else
	fail jail-capabilities-zero "$why"
fi

nnp_ok() { [ "$(field NoNewPrivs "$1")" = 1 ]; }
if why=$(all_threads "$jpid" nnp_ok "NoNewPrivs [$(field NoNewPrivs "$S")]"); then
	pass jail-no-new-privs
else
	fail jail-no-new-privs "$why"
fi

# Every thread filtered (jail/seccomp.h): the API thread by its own filter; the event
# and vCPU threads by the build filter and their own, stacked.
seccomp_ok() {
	local want=2
	[ "$(field Name "$1")" = api ] && want=1
	[ "$(field Seccomp "$1")" = 2 ] && [ "$(field Seccomp_filters "$1")" = "$want" ]
}
if why=$(all_threads "$jpid" seccomp_ok "Seccomp [$(field Seccomp "$S")] filters [$(field Seccomp_filters "$S")]"); then
	pass jail-seccomp-every-thread
else
	fail jail-seccomp-every-thread "$why"
fi

ns_why=""
for ns in mnt ipc uts; do
	[ "$(readlink /proc/$jpid/ns/$ns)" != "$(readlink /proc/$$/ns/$ns)" ] ||
		ns_why+="$ns is the host's ($(readlink /proc/$$/ns/$ns)); "
done
for ns in net pid; do # not asked for: --netns and --new-pid-ns below
	[ "$(readlink /proc/$jpid/ns/$ns)" = "$(readlink /proc/$$/ns/$ns)" ] ||
		ns_why+="$ns differs without being asked; "
done
if [ -z "$ns_why" ]; then
	pass jail-namespaces
else
	fail jail-namespaces "$ns_why"
fi

# The mount table: the jail's root, its /dev, and the three bound files, nothing else.
mi=/proc/$jpid/mountinfo
want=$(printf '%s\n' / /dev "$(inside "$GUEST")" "$img" "$img_ro" | sort)
have=$(awk '{ print $5 }' "$mi" | sort)
root_src=$(awk '$5 == "/" { print $4 }' "$mi")
opts_of() { awk -v m="$1" '$5 == m { print $6 }' "$mi"; }
if [ "$have" != "$want" ]; then
	fail jail-mount-table "mount points [$(echo $have)], want [$(echo $want)]"
elif [ "$root_src" != "$ROOT" ]; then
	fail jail-mount-table "/ is $root_src, want $ROOT"
elif ! [[ ,$(opts_of "$(inside "$GUEST")"), == *,ro,* && ,$(opts_of "$img_ro"), == *,ro,* &&
	  ,$(opts_of "$img"), == *,rw,* && ,$(opts_of /), == *,nodev,* ]]; then
	fail jail-mount-table "options: kernel $(opts_of "$(inside "$GUEST")"), ro drive $(opts_of "$img_ro"), drive $(opts_of "$img"), / $(opts_of /)"
else
	pass jail-mount-table
fi

devs=$(cd /proc/$jpid/root/dev && find . -mindepth 1 | sort | tr '\n' ' ')
owners=$(stat -c '%U' /proc/$jpid/root/dev/kvm /proc/$jpid/root/dev/urandom 2>&1 | sort -u)
want_devs="./kvm ./urandom "
[ -n "$TAP" ] && want_devs="./kvm ./net ./net/tun ./urandom "
if [ "$devs" = "$want_devs" ] && [ "$(stat -c %u /proc/$jpid/root/dev/kvm)" = "$JUID" ]; then
	pass jail-devices
else
	fail jail-devices "/dev holds [$devs] (want [$want_devs]), owners [$owners]"
fi

# --api-sock, --log-path, --metrics-path are paths inside the jail.
if [ -S "$ROOT/api.sock" ] &&
   got=$(curl -s --max-time 5 --unix-socket "$ROOT/api.sock" http://localhost/) &&
   grep -q "\"id\":\"$ID\"" <<<"$got" && grep -q '"state":"Running"' <<<"$got"; then
	pass jail-api-socket-inside
else
	fail jail-api-socket-inside "$(ls -la "$ROOT" 2>&1 | tr '\n' ' ') GET / -> [${got:-}]"
fi
if [ -s "$ROOT/ember.log" ] && [ -s "$ROOT/metrics.json" ] &&
   [ "$(stat -c %u "$ROOT/ember.log" "$ROOT/metrics.json" | sort -u)" = "$JUID" ]; then
	pass jail-log-metrics-inside
else
	fail jail-log-metrics-inside "$(ls -ln "$ROOT" 2>&1 | tr '\n' ' ')"
fi

cg_why=""
for c in cpu memory pids; do
	if [ $CGV = 2 ]; then
		grep -qx "0::/ember/$ID" /proc/$jpid/cgroup || cg_why+="not in /ember/$ID (v2); "
	else
		grep -qE "^[0-9]+:([^:]*,)?$c(,[^:]*)?:/ember/$ID\$" /proc/$jpid/cgroup ||
			cg_why+="$c: not in /ember/$ID; "
	fi
	grep -qx "$jpid" "$(cg_dir "$c" "$ID")/cgroup.procs" || cg_why+="$c: pid not in cgroup.procs; "
done
[ "$(cat "$(cg_dir pids "$ID")/pids.max")" = 64 ] || cg_why+="pids.max $(cat "$(cg_dir pids "$ID")/pids.max"); "
[ "$(cat "$(cg_dir memory "$ID")/$MEMKEY")" = 268435456 ] || cg_why+="$MEMKEY $(cat "$(cg_dir memory "$ID")/$MEMKEY"); "
[ "$(cat "$(cg_dir cpu "$ID")/$CPUKEY")" = "$CPUVAL" ] || cg_why+="$CPUKEY $(cat "$(cg_dir cpu "$ID")/$CPUKEY"); "
if [ -z "$cg_why" ]; then
	pass jail-cgroup
else
	fail jail-cgroup "$cg_why /proc/PID/cgroup: $(tr '\n' ' ' </proc/$jpid/cgroup)"
fi

lim=/proc/$jpid/limits
if grep -qE '^Max open files +2048 +2048 ' "$lim" && grep -qE '^Max file size +1073741824 +1073741824 ' "$lim"; then
	pass jail-rlimits
else
	fail jail-rlimits "$(grep -E 'open files|file size' "$lim" | tr -s ' ')"
fi

leaked=$(for f in /proc/$jpid/fd/*; do readlink "$f"; done | grep -c '^/etc/hostname$')
if [ "$leaked" = 0 ] && [ -e /proc/$jpid/fd/0 ]; then
	pass jail-inherited-fds-closed
else
	fail jail-inherited-fds-closed "/etc/hostname open $leaked times: $(ls -l /proc/$jpid/fd | tr '\n' ' ')"
fi

if ! tr '\0' '\n' </proc/$jpid/environ | grep -q . && ! grep -qa hunter2 /proc/$jpid/environ; then
	pass jail-environment-cleared
else
	fail jail-environment-cleared "$(tr '\0' ' ' </proc/$jpid/environ)"
fi

# A second ember with the same id while the first runs: its cgroup is busy. Its output
# goes to files of its own, so the first one's stderr is still whole for the TERM below.
timeout 60 "$EMBER" "${J[@]}" --id "$ID" --kernel "$GUEST" --cmdline hello </dev/null >"$TMP/out2" 2>"$TMP/err2"
rc=$?
err=$(cat "$TMP/err2")
if [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] &&
   grep -qE "^ember: jail: cgroup: .*/ember/$ID is in use by pid $jpid" <<<"$err"; then
	pass jail-same-id-refused-while-running
else
	fail jail-same-id-refused-while-running "rc=$rc err=[$err]"
fi

stop "$jpid" TERM
if [ $rc -eq 0 ] && ! crashed && [ ! -e "$ROOT/api.sock" ]; then
	pass jail-sigterm-clean-exit
else
	fail jail-sigterm-clean-exit "rc=$rc socket $(ls "$ROOT/api.sock" 2>&1) err=[$err]"
fi

# ---- the guest's devices from inside the jail ----

run_ember "${J[@]}" --id "$ID" --kernel "$GUEST" --cmdline hello
if [ $rc -eq 0 ] && ! crashed && grep -q '^Hello from guest-min' <<<"$out"; then
	pass jail-hello-same-id-after-exit
else
	fail jail-hello-same-id-after-exit "rc=$rc out=[$out] err=[$err]"
fi

truncate -s 8M "$TMP/blk.img"
chown "$JUID:$JGID" "$TMP/blk.img"
run_ember "${J[@]}" --id "$ID" --kernel "$GUEST" --cmdline "blk 4" --drive "path=$TMP/blk.img,id=jailed"
if [ $rc -eq 0 ] && ! crashed && grep -qx 'blk: id jailed' <<<"$out" &&
   grep -qE '^blk: wrote 4 MiB .* checksum 0x[0-9a-f]+ ok$' <<<"$out" &&
   ! cmp -s -n $((4 << 20)) "$TMP/blk.img" /dev/zero; then
	pass jail-blk
	grep -E '^blk: wrote' <<<"$out" | sed 's/^/  /'
else
	fail jail-blk "rc=$rc out=[$out] err=[$err]"
fi

head -c $((1 << 20)) /dev/urandom >"$img_ro"
before=$(sha256sum <"$img_ro")
run_ember "${J[@]}" --id "$ID" --kernel "$GUEST" --cmdline "blk blk.ro=1" --drive "path=$img_ro,ro"
if [ $rc -eq 0 ] && ! crashed && grep -qx 'blk: ro write refused' <<<"$out" &&
   [ "$(sha256sum <"$img_ro")" = "$before" ]; then
	pass jail-blk-ro
else
	fail jail-blk-ro "rc=$rc out=[$out] err=[$err]"
fi

# The drive is opened by the jailed uid, not by root: a root-only file is refused.
truncate -s 1M "$TMP/root-only.img"
chmod 600 "$TMP/root-only.img"
expect jail-drive-opened-as-uid 1 "$TMP/root-only.img.*Permission denied" \
	"${J[@]}" --id "$ID" --kernel "$GUEST" --cmdline "blk 1" --drive "path=$TMP/root-only.img"

if [ -z "$TAP" ]; then
	skip jail-net "no TAP (needs /dev/net/tun and ip tuntap)"
	skip jail-net-tap-of-another-user "no TAP"
else
	subnet=10.$((RANDOM % 200 + 20)).$((RANDOM % 250))
	guest_mac=52:54:00:6a:61:69
	ip addr add "$subnet.1/24" dev "$TAP"
	ip link set "$TAP" up
	ip neigh replace "$subnet.2" lladdr "$guest_mac" dev "$TAP" nud permanent
	run_ember "${J[@]}" --id "$ID" --kernel "$GUEST" \
		--cmdline "net 200 net.ip=$subnet.2 net.peer=$subnet.1 net.peermac=$(cat /sys/class/net/$TAP/address)" \
		--net "tap=$TAP,mac=$guest_mac"
	if [ $rc -eq 0 ] && ! crashed && grep -q '^net: sent 200, received 200 echo replies' <<<"$out"; then
		pass jail-net
		grep '^net: sent' <<<"$out" | sed 's/^/  /'
	else
		fail jail-net "rc=$rc out=[$out] err=[$err]"
	fi
	# A TAP owned by root: the jailed uid, without CAP_NET_ADMIN, may not attach to it.
	# (A TAP with no owner at all is open to anyone who can open /dev/net/tun.)
	t2=jr$$
	t2=${t2:0:15}
	if ip tuntap add "$t2" mode tap user 0 2>/dev/null; then
		taps+=("$t2")
		expect jail-net-tap-of-another-user 1 "$t2.*(Operation not permitted|Permission denied)" \
			"${J[@]}" --id "$ID" --kernel "$GUEST" --cmdline "net 1" --net "tap=$t2"
	else
		skip jail-net-tap-of-another-user "cannot create a second TAP"
	fi
fi

# --config-file: its host paths are bound into the jail like the flags'.
cat >"$TMP/vm.json" <<EOF
{ "boot-source": { "kernel_image_path": "$(realpath "$GUEST")", "boot_args": "blk 1" },
  "drives": [ { "drive_id": "cf", "path_on_host": "$TMP/blk.img", "is_root_device": false } ] }
EOF
run_ember "${J[@]}" --id "$ID" --config-file "$TMP/vm.json" --no-api
if [ $rc -eq 0 ] && ! crashed && grep -qE '^blk: wrote 1 MiB .* ok$' <<<"$out"; then
	pass jail-config-file
else
	fail jail-config-file "rc=$rc out=[$out] err=[$err]"
fi

# Paths that arrive through the API are paths inside the jail (Firecracker's rule): the
# host path of guest-min is not there, /guest-min placed in the jail's root is.
aid=jt-$$-a
aroot=$BASE/ember/$aid/root
mkdir -p "$aroot"
cp "$GUEST" "$aroot/guest-min"
: >"$TMP/out"
"$EMBER" "${J[@]}" --id "$aid" --api-sock /api.sock </dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=("$pid")
for ((i = 0; i < 200; i++)); do [ -S "$aroot/api.sock" ] && break; sleep 0.025; done
api() { # METHOD PATH BODY: prints the status code, then the body
	curl -s --max-time 5 --unix-socket "$aroot/api.sock" -X "$1" -o "$TMP/api.body" \
		-w '%{http_code}' -H 'Content-Type: application/json' "http://localhost$2" -d "$3"
	echo " $(cat "$TMP/api.body" 2>/dev/null)"
}
# Jailed and waiting for its first configuration, every thread is already filtered: the
# event thread parses each request under the build filter (its answer comes after it).
first=$(curl -s --max-time 5 --unix-socket "$aroot/api.sock" -w " %{http_code}" http://localhost/)
tasks=$(task_seccomp "$pid")
want="api 2 1"$'\n'"$(basename "$EMBER" | cut -c1-15) 2 1"
if [[ $first == *'"Not started"'*" 200" ]] && [ "$tasks" = "$want" ]; then
	pass jail-api-only-every-thread-filtered
else
	fail jail-api-only-every-thread-filtered "GET / [$first] tasks (comm Seccomp Seccomp_filters): [$tasks], want [$want]"
fi
host_path=$(api PUT /boot-source "{\"kernel_image_path\": \"$(realpath "$GUEST")\", \"boot_args\": \"hello\"}")
host_start=$(api PUT /actions '{"action_type": "InstanceStart"}')
in_path=$(api PUT /boot-source '{"kernel_image_path": "/guest-min", "boot_args": "hello"}')
in_start=$(api PUT /actions '{"action_type": "InstanceStart"}')
# guest-min hello exits by itself; give it time on a busy machine before the TERM.
for ((i = 0; i < 400; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.025; done
stop "$pid" TERM
out=$(tr -d '\r' <"$TMP/out")
if [[ $host_path == 400*"No such file"* && $host_start == 400*"no kernel"* && $in_path == 204* && $in_start == 204* ]] &&
   grep -q '^Hello from guest-min' <<<"$out"; then
	pass jail-api-paths-inside
else
	fail jail-api-paths-inside "host path: [$host_path] start: [$host_start]; jail path: [$in_path] start: [$in_start] rc=$rc out=[$out] err=[$err]"
fi

# Snapshots of a jailed VM: the files a snapshot writes and a load reads are paths inside
# the jail, as every API path is. One jailed ember snapshots its guest into its root;
# the orchestrator copies the two files into another jail's root; the second jailed
# ember restores them and the guest goes on.
sid=jt-$$-s
sroot=$BASE/ember/$sid/root
mkdir -p "$sroot"
cp "$GUEST" "$sroot/guest-min"
"$EMBER" "${J[@]}" --id "$sid" --api-sock /api.sock </dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=("$pid")
for ((i = 0; i < 200; i++)); do [ -S "$sroot/api.sock" ] && break; sleep 0.025; done
api_in() { # ROOT METHOD PATH [BODY]: like api, on the socket in ROOT
	curl -s --max-time 20 --unix-socket "$1/api.sock" -X "$2" -o "$TMP/api.body" \
		-w '%{http_code}' -H 'Content-Type: application/json' "http://localhost$3" ${4:+-d "$4"}
	echo " $(cat "$TMP/api.body" 2>/dev/null)"
}
api_in "$sroot" PUT /boot-source '{"kernel_image_path": "/guest-min", "boot_args": "idle idle.tick_ms=20 idle.max_ms=60000"}' >/dev/null
api_in "$sroot" PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
for ((i = 0; i < 200; i++)); do grep -q '^idle: tick 3' "$TMP/out" && break; sleep 0.05; done
api_in "$sroot" PATCH /vm '{"state": "Paused"}' >/dev/null
last=$(tr -d '\r' <"$TMP/out" | sed -n 's/^idle: tick //p' | tail -n1)
created=$(api_in "$sroot" PUT /snapshot/create '{"snapshot_path": "/snap", "mem_file_path": "/mem"}')
stop "$pid" KILL
owner=$(stat -c '%u %a' "$sroot/snap" "$sroot/mem" 2>&1 | sort -u)
rid=jt-$$-r
rroot=$BASE/ember/$rid/root
mkdir -p "$rroot"
cp "$sroot/snap" "$sroot/mem" "$rroot/" 2>/dev/null
chown "$JUID:$JGID" "$rroot/snap" "$rroot/mem" 2>/dev/null
"$EMBER" "${J[@]}" --id "$rid" --api-sock /api.sock </dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=("$pid")
for ((i = 0; i < 200; i++)); do [ -S "$rroot/api.sock" ] && break; sleep 0.025; done
host_load=$(api_in "$rroot" PUT /snapshot/load "{\"snapshot_path\": \"$sroot/snap\", \"mem_file_path\": \"$sroot/mem\", \"resume_vm\": true}")
loaded=$(api_in "$rroot" PUT /snapshot/load '{"snapshot_path": "/snap", "mem_file_path": "/mem", "resume_vm": true}')
for ((i = 0; i < 200; i++)); do grep -q '^idle: tick' "$TMP/out" && break; sleep 0.05; done
first=$(tr -d '\r' <"$TMP/out" | sed -n 's/^idle: tick //p' | head -n1)
stop "$pid" TERM
if [[ $created == 204* && $owner == "$JUID 600" && $host_load == 400*"No such file"* &&
      $loaded == 204* && -n $first && -n $last && $first -gt $last ]]; then
	pass jail-snapshot-paths-inside
else
	fail jail-snapshot-paths-inside "create [$created] files [$owner] host-path load [$host_load] load [$loaded] ticks $last then ${first:-none} err=[$err]"
fi

# ---- --new-pid-ns: the jailed child is pid 1 of its namespace; the parent relays ----

start_jailed "$ID" --new-pid-ns --cmdline "$IDLE"
if wait_for '^idle: polling' 10; then
	child=$(cat /proc/$pid/task/$pid/children 2>/dev/null | tr -d ' ')
	if [ -n "$child" ] && [ "$(field NSpid /proc/"$child"/status)" = "$child 1" ] &&
	   [ "$(readlink /proc/"$child"/ns/pid)" != "$(readlink /proc/$$/ns/pid)" ] &&
	   [ "$(field Uid /proc/"$child"/status)" = "$JUID $JUID $JUID $JUID" ]; then
		pass jail-new-pid-ns
	else
		fail jail-new-pid-ns "child [$child] NSpid [$(field NSpid /proc/"$child"/status 2>&1)]"
	fi
	stop "$pid" TERM
	if [ $rc -eq 0 ] && ! kill -0 "$child" 2>/dev/null; then
		pass jail-new-pid-ns-sigterm-relayed
	else
		fail jail-new-pid-ns-sigterm-relayed "rc=$rc child $child $(kill -0 "$child" 2>&1 && echo alive) err=[$err]"
	fi
else
	fail jail-new-pid-ns "out=[$(cat "$TMP/out")] err=[$(cat "$TMP/err")]"
	stop "$pid" KILL
fi

# ---- --daemonize: exits 0 once jailed; the daemon has its own session, stdio /dev/null ----

did=jt-$$-d
run_ember "${J[@]}" --id "$did" --daemonize --kernel "$GUEST" --cmdline "$IDLE"
dpid=$(cat "$(cg_dir pids "$did")/cgroup.procs" 2>/dev/null | head -1)
[ -n "$dpid" ] && pids+=("$dpid")
if [ $rc -ne 0 ] || [ -z "$dpid" ]; then
	fail jail-daemonize "rc=$rc daemon [$dpid] err=[$err]"
elif [ "$(awk '{ print $6 }' /proc/"$dpid"/stat)" != "$dpid" ] ||
     [ "$(readlink /proc/"$dpid"/fd/0 /proc/"$dpid"/fd/1 /proc/"$dpid"/fd/2 | sort -u)" != /dev/null ] ||
     [ "$(field Uid /proc/"$dpid"/status)" != "$JUID $JUID $JUID $JUID" ]; then
	fail jail-daemonize "session $(awk '{ print $6 }' /proc/"$dpid"/stat) stdio [$(readlink /proc/"$dpid"/fd/[012] | tr '\n' ' ')]"
else
	pass jail-daemonize
fi
if [ -n "$dpid" ]; then
	kill -TERM "$dpid"
	for ((i = 0; i < 500; i++)); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.01; done
	if kill -0 "$dpid" 2>/dev/null; then
		fail jail-daemonize-sigterm "still running"
	else
		pass jail-daemonize-sigterm
	fi
fi

# ---- --netns: the TAPs' namespace ----

if ! ip netns add "ember-jt-$$" 2>/dev/null; then
	skip jail-netns "ip netns add failed"
else
	netns=ember-jt-$$
	start_jailed "$ID" --netns "/var/run/netns/$netns" --cmdline "$IDLE"
	if wait_for '^idle: polling' 10 &&
	   [ "$(readlink /proc/$pid/ns/net)" = "net:[$(stat -L -c %i "/var/run/netns/$netns")]" ]; then
		pass jail-netns
	else
		fail jail-netns "ns $(readlink /proc/$pid/ns/net 2>&1) want inode $(stat -L -c %i "/var/run/netns/$netns") err=[$(cat "$TMP/err")]"
	fi
	stop "$pid" TERM
fi

# ---- a limit that bites: one task allowed, ember cannot start its threads ----

run_ember "${J[@]}" --id "$ID" --cgroup pids.max=1 --kernel "$GUEST" --cmdline hello
if [ $rc -eq 1 ] && ! crashed && grep -qi 'Resource temporarily unavailable' <<<"$err"; then
	pass jail-pids-limit-enforced
else
	fail jail-pids-limit-enforced "rc=$rc err=[$err]"
fi

finish
