#!/usr/bin/env bash
# Snapshot benchmarks (snapshot/README.md), ember with guest-min, then with Linux:
#   restore  exec of `ember --snapshot-load` -> the restored guest's first serial line,
#            against a cold boot of the same guest to the same point
#   clones   N restores from one snapshot started at once (N = 1, 10, 50), against N
#            cold boots at once: launch -> all N up, and each VM's memory
#            (/proc/PID/smaps_rollup: Rss, Pss, Private_Clean + Private_Dirty)
#   create   PUT /snapshot/create latency, Full and Diff, and the files' sizes
#   Linux    the nested tests' L2 kernel and initramfs (l2-init's l2bench=tick):
#            restore vs cold boot to its /init's tick loop, one VM and a few at
#            once, with their memory; where /dev/kvm can run Linux (not kvm-pvm)
# One template VM per guest (API, track_dirty_pages) makes its snapshots. Contenders
# alternate within every round (the first one rotating) and are reported as medians
# with min and max, plus ratios taken within this run: these machines are noisy. A
# benchmark reports, it never fails on a number: the exit status is 0 unless called
# wrongly.
#
# usage: perf/snapshot_bench.sh [BUILD_DIR]   (default: $BUILD, else build; needs
#        BUILD_DIR/ember, BUILD_DIR/guest-min, BUILD_DIR/perf/coldstart, curl)
# Markdown on stdout, progress on stderr.
# Environment: BENCH_SNAP_ROUNDS (restore rounds, 20), BENCH_SNAP_CLONES (the Ns,
#   "1 10 50"), BENCH_SNAP_CLONE_ROUNDS (3, Linux groups too), BENCH_SNAP_CREATE_ROUNDS
#   (5), BENCH_SNAP_DIFF_MS (how long the guest runs between a Full and its Diff, 200),
#   BENCH_SNAP_LINUX_ROUNDS (5), BENCH_SNAP_LINUX_CLONES (Linux VMs at once, 4; 1: no
#   group), BENCH_TIMEOUT (seconds per VM run or group of clones, 120), BENCH_SKIP
#   (space-separated: snapshot (all of it), restore, clones, create, linux).
# The Linux part needs BUILD_DIR/guest-kernel/vmlinux (make guest-kernel) and builds
# the L2 initramfs into BUILD_DIR/perf/l2-initrd.cpio.gz (tests/nested/make-l2-initrd.sh).
set -u
# shellcheck source=perf/lib.bash
. "$(dirname "$0")/lib.bash"

BUILD=${1:-${BUILD:-build}}
EMBER=$BUILD/ember
GUEST=$BUILD/guest-min
CS=$BUILD/perf/coldstart
ROUNDS=${BENCH_SNAP_ROUNDS:-20}
CLONES=${BENCH_SNAP_CLONES:-1 10 50}
CLONE_ROUNDS=${BENCH_SNAP_CLONE_ROUNDS:-3}
CREATE_ROUNDS=${BENCH_SNAP_CREATE_ROUNDS:-5}
DIFF_MS=${BENCH_SNAP_DIFF_MS:-200}
RUN_TIMEOUT=${BENCH_TIMEOUT:-120}
SKIP=" ${BENCH_SKIP:-} "
MEM_MIB=128
TICK_MS=20
MAX_COPIES=500 # coldstart up's limit
LINUX_ROUNDS=${BENCH_SNAP_LINUX_ROUNDS:-5}
LINUX_CLONES=${BENCH_SNAP_LINUX_CLONES:-4}
LINUX_MEM=256
LINUX_TICK=0.1 # s between the L2 guest's tick lines (l2-init's l2bench=tick:S)
LINUX_ARGS="quiet l2bench=tick:$LINUX_TICK"
KERNEL=$BUILD/guest-kernel/vmlinux
LINITRD=$BUILD/perf/l2-initrd.cpio.gz
# The guests' command line: a tick line every TICK_MS; idle.max_ms is only a safety net
# (a VM nobody stops ends itself after 10 minutes of guest time).
CMDLINE="idle idle.tick_ms=$TICK_MS idle.max_ms=600000"
T_START=$SECONDS

for v in ROUNDS CLONE_ROUNDS CREATE_ROUNDS DIFF_MS RUN_TIMEOUT LINUX_ROUNDS LINUX_CLONES; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "snapshot_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
for n in $CLONES; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n > MAX_COPIES)); then
		echo "snapshot_bench: BENCH_SNAP_CLONES: '$n' is not a number from 1 to $MAX_COPIES" >&2
		exit 2
	fi
done

say() { echo "snapshot_bench: $*" >&2; }
# One line that rewrites itself on a terminal, one line per call otherwise.
if [[ -t 2 ]]; then
	progress() { printf '\r\033[Ksnapshot_bench: %s' "$*" >&2; }
	progress_end() { printf '\r\033[K' >&2; }
else
	progress() { say "$@"; }
	progress_end() { :; }
fi
skipped() { [[ $SKIP == *" $1 "* ]]; }

head_skip() { # REASON: the whole section is skipped
	echo "## Snapshots: restore, clones, create (guest-min)"
	echo
	echo "SKIP: $1"
	echo
	say "SKIP: $1"
	exit 0
}
skipped snapshot && head_skip "BENCH_SKIP"
for f in "$EMBER" "$CS"; do
	[[ -x $f ]] || head_skip "$f is missing (run \`make bench\`, which builds it)"
done
[[ -f $GUEST ]] || head_skip "$GUEST is missing (run make)"
command -v curl >/dev/null || head_skip "curl is not installed (the template VM is driven over the API)"
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	head_skip "/dev/kvm is not usable here"
fi

TMPD=$(mktemp -d /tmp/ember-snapshot-bench.XXXXXX) || exit 1
TPID=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[[ -n $TPID ]] && kill -KILL "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
GUEST_ABS=$(readlink -f "$GUEST")
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)


# cell FILE [SCALE]: "median (min–max)" for a table, "–" without data.
cell() {
	local med min max n
	read -r med min max n <<<"$(stats "$@")"
	if ((n == 0)); then echo "–"; elif [[ $min == "$max" ]]; then echo "$med"; else echo "$med ($min–$max)"; fi
}




# ---------------------------------------------------------------- the template
# The template the functions below talk to: TN (t: guest-min, l: Linux), whose socket,
# console and log are $TMPD/TN.sock, .out, .err; TICK: its tick lines' prefix.
TN=t TICK="idle: tick "

# api METHOD PATH [BODY]: one call to the template's socket; sets CODE and SECS (curl's
# time_total: connect, request, ember's work, answer).
api() {
	local data=() out
	[[ $# -ge 3 ]] && data=(-H 'Content-Type: application/json' --data-binary "$3")
	out=$(curl -s --max-time "$RUN_TIMEOUT" --unix-socket "$TMPD/$TN.sock" -X "$1" "${data[@]}" \
		-o "$TMPD/body" -w '%{http_code} %{time_total}' "http://localhost$2")
	read -r CODE SECS <<<"$out"
	[[ $CODE == 2* ]] && return 0
	say "template: $1 $2: HTTP ${CODE:-none} $(cat "$TMPD/body" 2>/dev/null)"
	return 1
}

ticks() { tr -d '\r' <"$TMPD/$TN.out" | grep -c "^$TICK"; }
last_tick() { tr -d '\r' <"$TMPD/$TN.out" | sed -n "s/^$TICK//p" | tail -n1; }
# wait_ticks N [S]: until the template has printed N ticks (S s at most, default 10).
wait_ticks() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		(($(ticks) >= $1)) && return 0
		sleep 0.05
	done
	return 1
}
# sleep_ms MS, without a subshell: while the template runs, its vCPU thread competes
# with every process this script starts.
sleep_ms() {
	local s
	printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
	sleep "$s"
}

# pause [MS]: PATCH Paused, then MS ms (default twice the tick period), so that the
# guest's TSC, which runs on while the vCPU is parked, is more than a tick past its
# last tick line when the snapshot saves it (a restored guest then prints its next
# tick at once).
pause() {
	api PATCH /vm '{"state": "Paused"}' || return 1
	sleep_ms "${1:-$((2 * TICK_MS))}"
}
resume() { api PATCH /vm '{"state": "Resumed"}'; }

# create TYPE STATE MEM: PUT /snapshot/create; sets SECS, and EMBER_US (ember's own
# time, from its Info log line) and PAGES (a Diff's dirty pages, ditto).
create() {
	local before
	before=$(wc -l <"$TMPD/$TN.err")
	api PUT /snapshot/create "{\"snapshot_path\": \"$2\", \"mem_file_path\": \"$3\", \"snapshot_type\": \"$1\"}" ||
		return 1
	EMBER_US=$(tail -n +"$((before + 1))" "$TMPD/$TN.err" |
		sed -n 's/.* snapshot .*, memory .*: \([0-9]*\) us$/\1/p' | tail -n1)
	PAGES=$(tail -n +"$((before + 1))" "$TMPD/$TN.err" |
		sed -n 's/.*diff snapshot: \([0-9]*\) dirty pages written.*/\1/p' | tail -n1)
}

# start_template: ember over the API on $TMPD/$TN.sock, Info log; sets TPID.
start_template() {
	"$EMBER" --api-sock "$TMPD/$TN.sock" --id "template-$TN" --level Info \
		>"$TMPD/$TN.out" 2>"$TMPD/$TN.err" </dev/null &
	TPID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -S $TMPD/$TN.sock ]] && return 0
		sleep 0.05
	done
	say "template: no API socket after 10 s"
	return 1
}
stop_template() {
	[[ -n $TPID ]] || return 0
	kill -TERM "$TPID" 2>/dev/null
	wait "$TPID" 2>/dev/null
	TPID=
}
# load_body STATE MEM: the --snapshot-load JSON
load_body() {
	echo "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": true}"
}

# The guest-min template: 128 MiB, one vCPU, dirty-page tracking on (Diff needs it);
# its restore source is a Full snapshot taken once it ticks.
template() {
	TN=t TICK="idle: tick "
	start_template &&
		api PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": $MEM_MIB, \"track_dirty_pages\": true}" &&
		api PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"$CMDLINE\"}" &&
		api PUT /actions '{"action_type": "InstanceStart"}' || return 1
	wait_ticks 5 || { say "template: no ticks"; return 1; }
	pause || return 1
	SRC_LAST_TICK=$(last_tick)
	create Full "$TMPD/src.snap" "$TMPD/src.mem" || return 1
	SRC_FULL_MS=$(awk -v s="$SECS" 'BEGIN { printf "%.2f", s * 1000 }')
	LOAD=$(load_body "$TMPD/src.snap" "$TMPD/src.mem")
}

# sizes FILE: "apparent_bytes allocated_bytes"
sizes() { stat -c '%s %b %B' "$1" | awk '{ print $1, $2 * $3 }'; }

# ---------------------------------------------------------------- create
create_bench() {
	local r t s
	for t in full diff; do
		for s in ms ember state-app state-alloc mem-app mem-alloc pages; do : >"$TMPD/c-$t.$s"; done
	done
	for ((r = 0; r < CREATE_ROUNDS; r++)); do
		progress "create: round $((r + 1))/$CREATE_ROUNDS"
		local st=$TMPD/c.$r.snap sd=$TMPD/c.$r.diff mf=$TMPD/c.$r.mem ok=1
		if resume && sleep_ms $((3 * TICK_MS)) && pause && create Full "$st" "$mf"; then
			awk -v s="$SECS" 'BEGIN { printf "%.2f\n", s * 1000 }' >>"$TMPD/c-full.ms"
			echo "${EMBER_US:-FAIL}" >>"$TMPD/c-full.ember"
			read -r a b <<<"$(sizes "$st")"
			echo "$a" >>"$TMPD/c-full.state-app"
			echo "$b" >>"$TMPD/c-full.state-alloc"
			read -r a b <<<"$(sizes "$mf")"
			echo "$a" >>"$TMPD/c-full.mem-app"
			echo "$b" >>"$TMPD/c-full.mem-alloc"
		else
			echo FAIL >>"$TMPD/c-full.ms"
			ok=0
		fi
		# The guest runs DIFF_MS more, then the Diff updates the Full's memory file.
		if ((ok)) && resume && sleep_ms "$DIFF_MS" && pause && create Diff "$sd" "$mf"; then
			awk -v s="$SECS" 'BEGIN { printf "%.2f\n", s * 1000 }' >>"$TMPD/c-diff.ms"
			echo "${EMBER_US:-FAIL}" >>"$TMPD/c-diff.ember"
			echo "${PAGES:-FAIL}" >>"$TMPD/c-diff.pages"
			read -r a b <<<"$(sizes "$sd")"
			echo "$a" >>"$TMPD/c-diff.state-app"
			echo "$b" >>"$TMPD/c-diff.state-alloc"
			read -r a b <<<"$(sizes "$mf")"
			echo "$a" >>"$TMPD/c-diff.mem-app"
			echo "$b" >>"$TMPD/c-diff.mem-alloc"
		else
			echo FAIL >>"$TMPD/c-diff.ms"
			cp "$TMPD/t.err" "$TMPD/template.log"
			failed_run "create round $((r + 1))" "$TMPD/template.log"
		fi
		rm -f "$st" "$sd" "$mf"
	done
	progress_end
}

create_report() {
	echo "## Snapshot create: \`PUT /snapshot/create\` latency and file sizes"
	echo
	echo "The template (guest-min \`$CMDLINE\`, $MEM_MIB MiB, one vCPU, \`track_dirty_pages\`)" \
		"runs on after its restore-source snapshot; $CREATE_ROUNDS rounds, each: resume, $((3 * TICK_MS))" \
		"ms more, pause, **Full** to new files; resume, $DIFF_MS ms more, pause, **Diff**" \
		"onto that Full's memory file (a Full resets the dirty log, so the Diff holds what the" \
		"guest wrote in those $DIFF_MS ms). Latency: \`curl -w %{time_total}\` over the API" \
		"socket (connect, request, ember's work, answer), and ember's own time from its Info log" \
		"(\`full/diff snapshot ...: N us\`). Sizes: apparent (\`stat %s\`) and allocated" \
		"(\`stat\` blocks × block size, what \`du\` counts): the memory file is sparse, a Full" \
		"writes zero pages as holes. The files are in \`/tmp\` ($(df --output=fstype /tmp 2>/dev/null | tail -n1 || echo '?'))." \
		"Medians (min–max) over the rounds."
	echo
	echo "| snapshot | PUT latency, ms | ember's own, ms | state file, bytes (allocated) | memory file, apparent MiB | memory file allocated, KiB | pages written |"
	echo "|---|---|---|---|---|---|---|"
	local t label n app
	for t in full diff; do
		label="**Full** (new files)"
		[[ $t == diff ]] && label="**Diff** ($DIFF_MS ms later, onto the Full's memory file)"
		n=$(fails "$TMPD/c-$t.ms")
		((n > 0)) && label+=" ($n of $CREATE_ROUNDS failed)"
		read -r app _ <<<"$(stats "$TMPD/c-$t.mem-app" 1048576)"
		local pages="–"
		[[ $t == diff ]] && pages="$(cell "$TMPD/c-diff.pages") of $((MEM_MIB * 256))"
		echo "| $label | $(cell "$TMPD/c-$t.ms" 1) | $(cell "$TMPD/c-$t.ember" 1000) |" \
			"$(cell "$TMPD/c-$t.state-app") ($(cell "$TMPD/c-$t.state-alloc")) | $app |" \
			"$(cell "$TMPD/c-$t.mem-alloc" 1024) | $pages |"
	done
	echo
	echo "Diff ÷ Full, PUT latency: $(ratio "$TMPD/c-diff.ms" "$TMPD/c-full.ms") (medians)," \
		"per round $(round_ratio "$TMPD/c-diff.ms" "$TMPD/c-full.ms"). The memory file's" \
		"allocated size after the Diff is the Full's plus whatever the Diff wrote into holes." \
		"The restore source, the template's first Full (when it had just booted), took" \
		"${SRC_FULL_MS:-–} ms."
	echo
}

# ---------------------------------------------------------------- restore vs cold
# contender NAME -> CMD, TEXTS (coldstart up -w arguments), LABEL
contender() {
	case $1 in
	restore)
		CMD=("$EMBER" --level Info --snapshot-load "$LOAD")
		TEXTS=(-w "idle: tick")
		LABEL="restore: \`ember --snapshot-load\`, exec → first line (\`idle: tick N\`)" ;;
	cold)
		CMD=("$EMBER" --level Info --kernel "$GUEST" --mem "$MEM_MIB" --cmdline "$CMDLINE")
		TEXTS=(-w "idle: polling" -w "idle: tick")
		LABEL="cold boot: \`ember --kernel guest-min\`, exec → \`idle: polling\` line" ;;
	linux-restore)
		CMD=("$EMBER" --level Info --snapshot-load "$LLOAD")
		TEXTS=(-w "L2: bench tick")
		LABEL="restore: \`ember --snapshot-load\`" ;;
	linux-cold)
		CMD=("$EMBER" --level Info --kernel "$KERNEL" --initrd "$LINITRD" --mem "$LINUX_MEM"
			--cmdline "$LINUX_ARGS")
		TEXTS=(-w "L2: bench tick")
		LABEL="cold boot: \`ember --kernel vmlinux --initrd ...\`" ;;
	esac
}

# run_up NAME N LOG: coldstart up for N copies of contender NAME; its lines into LOG.out,
# its stderr and the copies' into LOG.err, the copies' consoles into LOG.con.I.
run_up() {
	contender "$1"
	"$CS" up -n "$2" "${TEXTS[@]}" -t "$RUN_TIMEOUT" -o "$3.con" -- "${CMD[@]}" >"$3.out" 2>"$3.err"
}

restore_bench() {
	local names=(restore cold) r i name log st t1 t2 us first
	for name in "${names[@]}"; do : >"$TMPD/r-up.$name"; done
	: >"$TMPD/r-tick.cold"
	: >"$TMPD/r-ember"
	: >"$TMPD/r-first-tick"
	# One untimed run each: page cache, KVM module state.
	for name in "${names[@]}"; do run_up "$name" 1 "$TMPD/warm.$name"; done
	for ((r = 0; r < ROUNDS; r++)); do
		progress "restore vs cold boot: round $((r + 1))/$ROUNDS"
		for ((i = 0; i < 2; i++)); do
			name=${names[$(((i + r) % 2))]}
			log=$TMPD/r.$name.$r
			run_up "$name" 1 "$log"
			read -r st _ _ _ _ _ _ t1 t2 <"$log.out"
			if [[ ${st:-} == 0 && ${t1:--1} -ge 0 && ( $name == restore || ${t2:--1} -ge 0 ) ]]; then
				echo "$t1" >>"$TMPD/r-up.$name"
				if [[ $name == cold ]]; then
					echo "$t2" >>"$TMPD/r-tick.cold"
				else
					us=$(sed -n 's/.*restored in \([0-9]*\) us.*/\1/p' "$log.err" | head -n1)
					echo "${us:-FAIL}" >>"$TMPD/r-ember"
					first=$(tr -d '\r' <"$log.con.0" | sed -n 's/^idle: tick //p' | head -n1)
					echo "${first:-FAIL}" >>"$TMPD/r-first-tick"
				fi
			else
				echo FAIL >>"$TMPD/r-up.$name"
				[[ $name == cold ]] && echo FAIL >>"$TMPD/r-tick.cold"
				cat "$log.con.0" "$log.err" >"$log" 2>/dev/null
				echo "[coldstart up: $(cat "$log.out" 2>/dev/null); want status 0 and every line]" >>"$log"
				failed_run "restore round $((r + 1)) $name" "$log"
			fi
			rm -f "$log".*
		done
	done
	progress_end
}

restore_report() {
	echo "## Snapshot restore vs cold boot (guest-min)"
	echo
	echo "ember $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo '?')" \
		"(\`$EMBER\`), guest-min \`$GUEST\` ($(stat -c %s "$GUEST") bytes), \`$CMDLINE\`," \
		"$MEM_MIB MiB, one vCPU. A template VM (\`--api-sock\`, \`track_dirty_pages\`) boots it," \
		"and once it ticks it is paused for $((2 * TICK_MS)) ms and snapshotted (Full, files in" \
		"\`/tmp\`, so the memory file is in the page cache); every restore below maps that" \
		"memory file \`MAP_PRIVATE\`."
	echo
	echo "**The same point.** guest-min \`idle\` prints \`idle: polling, a tick every $TICK_MS ms\`" \
		"when its loop starts, then \`idle: tick N\` whenever N (TSC time since the start ÷ $TICK_MS ms)" \
		"grows. The snapshot holds the guest inside that loop. On restore the TSC goes on from" \
		"its saved value, which is more than a tick past the last tick line (the template sat" \
		"paused for two ticks before the snapshot), so the restored guest's first loop pass" \
		"prints its next tick at once: the first line after a restore is the guest running its" \
		"loop again. A cold boot reaches that loop at its \`idle: polling\` line; its first tick" \
		"comes $TICK_MS ms of guest time later, so that point is shown too but the ratio is" \
		"taken at \`idle: polling\`. The template's last tick before the snapshot was" \
		"${SRC_LAST_TICK:-?}; restored guests first printed tick $(cell "$TMPD/r-first-tick")."
	echo
	echo "\`perf/coldstart up\` (\`perf/coldstart.c\`) starts the contender with \`posix_spawn\`" \
		"(stdin \`/dev/null\`, stdout a pipe), times from just before the spawn to the end of" \
		"the first line holding the text, then sends SIGTERM. $ROUNDS rounds, the two" \
		"contenders alternating, the first one rotating, after one untimed run each; both run" \
		"with \`--level Info\` (ember's own restore time comes from it). A run counts when" \
		"ember exits 0 on the SIGTERM and every line came."
	echo
	echo "| contender | median, ms | min | max |"
	echo "|---|---|---|---|"
	local name label med min max n
	for name in restore cold; do
		contender "$name"
		label=$LABEL
		(($(fails "$TMPD/r-up.$name") > 0)) && label+=" ($(fails "$TMPD/r-up.$name") of $ROUNDS runs failed)"
		read -r med min max n <<<"$(stats "$TMPD/r-up.$name" 1000)"
		echo "| $label | $med | $min | $max |"
	done
	read -r med min max n <<<"$(stats "$TMPD/r-tick.cold" 1000)"
	echo "| cold boot, same runs, exec → first \`idle: tick 1\` line ($TICK_MS ms of guest time after \`idle: polling\`) | $med | $min | $max |"
	echo
	echo "Cold boot ÷ restore, to the same point: $(ratio "$TMPD/r-up.cold" "$TMPD/r-up.restore")" \
		"(medians), per round $(round_ratio "$TMPD/r-up.cold" "$TMPD/r-up.restore"); above 1" \
		"the restore is faster. To the cold boot's first tick:" \
		"$(ratio "$TMPD/r-tick.cold" "$TMPD/r-up.restore")."
	read -r med min max n <<<"$(stats "$TMPD/r-ember" 1000)"
	echo "ember's own restore time (\`snapshot ... restored in N us\`, from reading the state" \
		"file to the vCPUs set up, before they run): median $med ms (min $min, max $max) over" \
		"$n runs."
	echo
}

# ---------------------------------------------------------------- clones
clones_bench() {
	local n want r i name log ok st rss pss pc pd huge t1 t2 t_all avail est
	local names=(restore cold) done_n=()
	CLONE_NOTE=()
	avail=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)
	for want in $CLONES; do
		n=$want
		# Scale down where memory or time would not allow: the largest Rss measured so
		# far, twice over, must fit in half of MemAvailable; a group, extrapolated from
		# the last one's launch → all up per VM, in a quarter of BENCH_TIMEOUT.
		est=$(cat "$TMPD"/cl-rss.* 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n1)
		if [[ -n $est ]] && ((n * est * 2 > avail / 2)); then
			n=$((avail / 4 / est))
			((n < 1)) && n=1
			CLONE_NOTE+=("N = $want scaled down to $n: $want × 2 × ${est} KiB (largest Rss so far) would not fit in half of the $((avail / 1024)) MiB available")
		fi
		if [[ -n ${PER_VM_US:-} ]] && ((n * PER_VM_US > RUN_TIMEOUT * 250000)); then
			local m=$((RUN_TIMEOUT * 250000 / PER_VM_US))
			((m < 1)) && m=1
			if ((m < n)); then
				CLONE_NOTE+=("N = $want scaled down to $m: at ${PER_VM_US} µs per VM (the last group's launch → all up ÷ N) $n would take more than a quarter of BENCH_TIMEOUT ($RUN_TIMEOUT s)")
				n=$m
			fi
		fi
		((n > MAX_COPIES)) && n=$MAX_COPIES
		[[ " ${done_n[*]} " == *" $n "* ]] && continue
		done_n+=("$n")
		for name in "${names[@]}"; do
			: >"$TMPD/cl-all.$n.$name"
			: >"$TMPD/cl-rss.$n.$name"
			: >"$TMPD/cl-pss.$n.$name"
			: >"$TMPD/cl-priv.$n.$name"
			: >"$TMPD/cl-pdirty.$n.$name"
			: >"$TMPD/cl-huge.$n.$name"
			: >"$TMPD/cl-priv4k.$n.$name"
			: >"$TMPD/cl-gpss.$n.$name"
			: >"$TMPD/cl-bad.$n.$name"
		done
		for ((r = 0; r < CLONE_ROUNDS; r++)); do
			for ((i = 0; i < 2; i++)); do
				name=${names[$(((i + r) % 2))]}
				progress "clones: N = $n, round $((r + 1))/$CLONE_ROUNDS: $name"
				log=$TMPD/cl.$n.$name.$r
				run_up "$name" "$n" "$log"
				# launch → all up: the latest first line (restore) or `idle: polling`
				# line (cold) over the copies; the memory of every copy that got there.
				ok=0 t_all=0
				local gpss=0
				while read -r st rss pss pc pd huge _ t1 t2; do
					if [[ $st == 0 && $t1 -ge 0 && $rss -ge 0 ]] && [[ $name == restore || ${t2:--1} -ge 0 ]]; then
						ok=$((ok + 1))
						((t1 > t_all)) && t_all=$t1
						echo "$rss" >>"$TMPD/cl-rss.$n.$name"
						echo "$pss" >>"$TMPD/cl-pss.$n.$name"
						echo $((pc + pd)) >>"$TMPD/cl-priv.$n.$name"
						echo "$pd" >>"$TMPD/cl-pdirty.$n.$name"
						echo "$huge" >>"$TMPD/cl-huge.$n.$name"
						((huge == 0)) && echo $((pc + pd)) >>"$TMPD/cl-priv4k.$n.$name"
						gpss=$((gpss + pss))
					fi
				done <"$log.out"
				if ((ok == n)); then
					echo "$t_all" >>"$TMPD/cl-all.$n.$name"
					echo "$gpss" >>"$TMPD/cl-gpss.$n.$name"
				else
					echo FAIL >>"$TMPD/cl-all.$n.$name"
					echo FAIL >>"$TMPD/cl-gpss.$n.$name"
					echo $((n - ok)) >>"$TMPD/cl-bad.$n.$name"
					local bad
					bad=$(awk '$1 != 0 || $8 < 0 { print NR - 1; exit }' "$log.out")
					cat "${log}.con.${bad:-0}" "$log.err" >"$log" 2>/dev/null
					echo "[coldstart up -n $n: $((n - ok)) of $n copies failed; copy ${bad:-?}: $(sed -n "$((${bad:-0} + 1))p" "$log.out")]" >>"$log"
					failed_run "clones N = $n round $((r + 1)) $name" "$log"
				fi
				rm -f "$log".*
			done
		done
		# Per VM, for the next N's time estimate: the slower contender's median.
		local a b
		read -r a _ <<<"$(stats "$TMPD/cl-all.$n.restore")"
		read -r b _ <<<"$(stats "$TMPD/cl-all.$n.cold")"
		[[ $a == - ]] && a=0
		[[ $b == - ]] && b=0
		((b > a)) && a=$b
		((a > 0)) && PER_VM_US=$((a / n + 1))
	done
	CLONE_NS=("${done_n[@]}")
	progress_end
}

clones_report() {
	local thp
	thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
	echo "## Snapshot clones: N restores of one snapshot at once"
	echo
	echo "\`perf/coldstart up -n N\` starts N copies at once (one \`posix_spawn\` after the" \
		"other, each with its own stdout pipe) and times from just before the first spawn to" \
		"the moment the last copy has printed its line: for N restores from the one snapshot" \
		"(\`ember --snapshot-load\`, all mapping the same memory file \`MAP_PRIVATE\`) the first" \
		"line after the restore, for N cold boots the \`idle: polling\` line (the same point as" \
		"above). Once every copy is there (cold boots: at their first tick), it reads each" \
		"one's \`/proc/PID/smaps_rollup\`, then SIGTERMs them all. $CLONE_ROUNDS rounds per N, the" \
		"two contenders alternating, the first one rotating; a group counts when all N copies" \
		"got there and exited 0. The machine has $(nproc) CPUs; every idle guest polls without" \
		"pause, so N VMs share them."
	echo
	echo "Memory, per VM: the whole ember process with its guest RAM, median (min–max) over" \
		"every VM of every round. Rss; Pss (a page mapped by k processes counts 1/k in each);" \
		"private = Private_Clean + Private_Dirty, pages no other process maps (with N = 1 that" \
		"includes the memory file's and ember's own file pages, which N > 1 copies share);" \
		"Private_Dirty alone (a restore's copy-on-write copies of the file, a cold boot's" \
		"written RAM and heap); AnonHugePages, the part of Rss in transparent huge pages" \
		"(THP here: \`${thp:-?}\`; with \`always\` a cold boot's anonymous guest RAM gets a 2 MiB" \
		"page where the first page it touches lies in a 2 MiB-aligned stretch of the mapping," \
		"which depends on where the mapping landed; a restore's file-backed RAM never does)." \
		"\"Σ Pss\" is the whole group's, median over the rounds."
	local note
	for note in "${CLONE_NOTE[@]}"; do echo "**Scaled down:** $note."; done
	echo
	echo "| N | contender | launch → all up, ms | Rss, KiB | Pss, KiB | private, KiB | Private_Dirty, KiB | AnonHugePages, KiB | Σ Pss, MiB |"
	echo "|---|---|---|---|---|---|---|---|---|"
	local n name label bad
	for n in "${CLONE_NS[@]}"; do
		for name in restore cold; do
			label="restores"
			[[ $name == cold ]] && label="cold boots"
			bad=$(awk '{ s += $1 } END { print s + 0 }' "$TMPD/cl-bad.$n.$name")
			(($(fails "$TMPD/cl-all.$n.$name") > 0)) &&
				label+=" ($(fails "$TMPD/cl-all.$n.$name") of $CLONE_ROUNDS groups failed, $bad VMs)"
			echo "| $n | $label | $(cell "$TMPD/cl-all.$n.$name" 1000) | $(cell "$TMPD/cl-rss.$n.$name") |" \
				"$(cell "$TMPD/cl-pss.$n.$name") | $(cell "$TMPD/cl-priv.$n.$name") |" \
				"$(cell "$TMPD/cl-pdirty.$n.$name") | $(cell "$TMPD/cl-huge.$n.$name") |" \
				"$(cell "$TMPD/cl-gpss.$n.$name" 1024) |"
		done
	done
	echo
	local k m
	for n in "${CLONE_NS[@]}"; do
		read -r _ _ _ k <<<"$(stats "$TMPD/cl-priv4k.$n.cold")"
		read -r _ _ _ m <<<"$(stats "$TMPD/cl-priv.$n.cold")"
		((k > 0 && k < m)) &&
			echo "N = $n: the $k of $m cold-booted VMs whose RAM got no huge page had" \
				"$(cell "$TMPD/cl-priv4k.$n.cold") KiB private each, $(ratio "$TMPD/cl-priv4k.$n.cold" "$TMPD/cl-priv.$n.restore")×" \
				"the restores' median."
	done
	echo
	echo "Cold boots ÷ restores, per N (of the medians; above 1 the restores are faster or smaller):"
	echo
	echo "| N | launch → all up | the same, per round | Pss per VM | private per VM | Private_Dirty per VM | Σ Pss |"
	echo "|---|---|---|---|---|---|---|"
	for n in "${CLONE_NS[@]}"; do
		echo "| $n | $(ratio "$TMPD/cl-all.$n.cold" "$TMPD/cl-all.$n.restore") |" \
			"$(round_ratio "$TMPD/cl-all.$n.cold" "$TMPD/cl-all.$n.restore") |" \
			"$(ratio "$TMPD/cl-pss.$n.cold" "$TMPD/cl-pss.$n.restore") |" \
			"$(ratio "$TMPD/cl-priv.$n.cold" "$TMPD/cl-priv.$n.restore") |" \
			"$(ratio "$TMPD/cl-pdirty.$n.cold" "$TMPD/cl-pdirty.$n.restore") |" \
			"$(ratio "$TMPD/cl-gpss.$n.cold" "$TMPD/cl-gpss.$n.restore") |"
	done
	echo
}

# ---------------------------------------------------------------- Linux
# Why the Linux part cannot run here, or nothing.
linux_skip_reason() {
	if skipped linux; then
		echo "BENCH_SKIP"
	elif [[ -d /sys/module/kvm_pvm ]]; then
		echo "this /dev/kvm is kvm-pvm, which cannot run Linux guests (perf/nested_bench.sh boots Linux in an L1 of its own)"
	elif [[ ! -f $KERNEL ]]; then
		echo "$KERNEL is missing (make guest-kernel)"
	elif ! "$(dirname "$0")/../tests/nested/make-l2-initrd.sh" "$LINITRD" >"$TMPD/initrd.log" 2>&1; then
		echo "building the L2 initramfs failed: $(tail -n1 "$TMPD/initrd.log")"
	fi
}

# The Linux template (l2-init's l2bench=tick), its restore source, then one more Full
# and a Diff for their times; sets LLOAD and the LC_* figures.
linux_template() {
	TN=l TICK="L2: bench tick "
	local pause_ms
	pause_ms=$(awk -v t="$LINUX_TICK" 'BEGIN { printf "%d", t * 2000 }')
	start_template &&
		api PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": $LINUX_MEM, \"track_dirty_pages\": true}" &&
		api PUT /boot-source "{\"kernel_image_path\": \"$(readlink -f "$KERNEL")\", \"initrd_path\": \"$(readlink -f "$LINITRD")\", \"boot_args\": \"$LINUX_ARGS\"}" &&
		api PUT /actions '{"action_type": "InstanceStart"}' || return 1
	wait_ticks 5 "$RUN_TIMEOUT" || { say "Linux template: no ticks within $RUN_TIMEOUT s"; return 1; }
	pause "$pause_ms" || return 1
	LSRC_LAST_TICK=$(last_tick)
	create Full "$TMPD/l.snap" "$TMPD/l.mem" || return 1
	LLOAD=$(load_body "$TMPD/l.snap" "$TMPD/l.mem")
	LC_SRC_MS=$(awk -v s="$SECS" 'BEGIN { printf "%.0f", s * 1000 }') LC_SRC_EMBER=$EMBER_US
	read -r LC_MEM_APP LC_MEM_ALLOC <<<"$(sizes "$TMPD/l.mem")"
	read -r LC_STATE _ <<<"$(sizes "$TMPD/l.snap")"
	# A second Full a little later, then a Diff onto its memory file.
	resume && sleep_ms $((5 * pause_ms)) && pause "$pause_ms" && create Full "$TMPD/l2.snap" "$TMPD/l2.mem" || return 0
	LC_FULL_MS=$(awk -v s="$SECS" 'BEGIN { printf "%.0f", s * 1000 }') LC_FULL_EMBER=$EMBER_US
	resume && sleep_ms "$DIFF_MS" && pause "$pause_ms" && create Diff "$TMPD/l2d.snap" "$TMPD/l2.mem" || return 0
	LC_DIFF_MS=$(awk -v s="$SECS" 'BEGIN { printf "%.0f", s * 1000 }') LC_DIFF_EMBER=$EMBER_US LC_DIFF_PAGES=$PAGES
	rm -f "$TMPD/l2.snap" "$TMPD/l2d.snap" "$TMPD/l2.mem"
}

# linux_group NAME N ROUND: N copies of contender NAME at once; appends launch → all
# up (or FAIL) and every copy's memory to $TMPD/lx-*.N.NAME
linux_group() {
	local name=$1 n=$2 r=$3 log=$TMPD/lx.$1.$2.$3 ok=0 t_all=0 st rss pss pc pd huge t1 us gpss=0
	run_up "$name" "$n" "$log"
	while read -r st rss pss pc pd huge _ t1; do
		[[ $st == 0 && $t1 -ge 0 && $rss -ge 0 ]] || continue
		ok=$((ok + 1))
		((t1 > t_all)) && t_all=$t1
		echo "$rss" >>"$TMPD/lx-rss.$n.$name"
		echo "$pss" >>"$TMPD/lx-pss.$n.$name"
		echo $((pc + pd)) >>"$TMPD/lx-priv.$n.$name"
		echo "$huge" >>"$TMPD/lx-huge.$n.$name"
		gpss=$((gpss + pss))
	done <"$log.out"
	if ((ok == n)); then
		echo "$t_all" >>"$TMPD/lx-all.$n.$name"
		echo "$gpss" >>"$TMPD/lx-gpss.$n.$name"
		if [[ $name == linux-restore && $n == 1 ]]; then
			us=$(sed -n 's/.*restored in \([0-9]*\) us.*/\1/p' "$log.err" | head -n1)
			echo "${us:-FAIL}" >>"$TMPD/lx-ember"
			tr -d '\r' <"$log.con.0" | sed -n "s/^L2: bench tick //p" | head -n1 >>"$TMPD/lx-first-tick"
		fi
	else
		echo FAIL >>"$TMPD/lx-all.$n.$name"
		local bad
		bad=$(awk '$1 != 0 || $8 < 0 { print NR - 1; exit }' "$log.out")
		cat "${log}.con.${bad:-0}" "$log.err" >"$log" 2>/dev/null
		echo "[coldstart up -n $n: $((n - ok)) of $n copies failed; copy ${bad:-?}: $(sed -n "$((${bad:-0} + 1))p" "$log.out")]" >>"$log"
		failed_run "Linux $name x$n round $((r + 1))" "$log"
	fi
	rm -f "$log".*
}

linux_bench() {
	local names=(linux-restore linux-cold) r i n name f
	for n in 1 "$LINUX_CLONES"; do
		for name in "${names[@]}"; do
			for f in all rss pss priv huge gpss; do : >"$TMPD/lx-$f.$n.$name"; done
		done
	done
	: >"$TMPD/lx-ember"
	: >"$TMPD/lx-first-tick"
	say "Linux: template: boot, snapshot"
	if ! linux_template; then
		stop_template
		cp "$TMPD/l.err" "$TMPD/linux-template.log" 2>/dev/null
		tr -d '\r' <"$TMPD/l.out" | tail -n 5 >>"$TMPD/linux-template.log" 2>/dev/null
		failed_run "the Linux template VM" "$TMPD/linux-template.log"
		LINUX_SKIP="the Linux template VM could not be booted and snapshotted (see stderr)"
		return
	fi
	stop_template
	# One untimed run each, then the rounds; then the groups of LINUX_CLONES.
	for name in "${names[@]}"; do run_up "$name" 1 "$TMPD/lwarm.$name"; done
	for ((r = 0; r < LINUX_ROUNDS; r++)); do
		for ((i = 0; i < 2; i++)); do
			name=${names[$(((i + r) % 2))]}
			progress "Linux: round $((r + 1))/$LINUX_ROUNDS: $name"
			linux_group "$name" 1 "$r"
		done
	done
	if ((LINUX_CLONES > 1)); then
		for ((r = 0; r < CLONE_ROUNDS; r++)); do
			for ((i = 0; i < 2; i++)); do
				name=${names[$(((i + r) % 2))]}
				progress "Linux: $LINUX_CLONES at once, round $((r + 1))/$CLONE_ROUNDS: $name"
				linux_group "$name" "$LINUX_CLONES" "$r"
			done
		done
	fi
	progress_end
}

linux_report() {
	echo "## Snapshot restore vs cold boot: Linux"
	echo
	if [[ -n ${LINUX_SKIP:-} ]]; then
		echo "SKIP: $LINUX_SKIP"
		echo
		return
	fi
	echo "The L2 kernel of the nested tests (\`$KERNEL\`, \`make guest-kernel\`) with their" \
		"initramfs (busybox, \`tests/nested/l2-init\`; here \`$LINITRD\`), $LINUX_MEM MiB, one" \
		"vCPU, command line ember's defaults and \`$LINUX_ARGS\`: \`/init\` prints" \
		"\`L2: bench init\`, then \`L2: bench tick N\` every $LINUX_TICK s for ever, the first" \
		"one at once. A template VM boots it over the API (\`track_dirty_pages\`), and after 5" \
		"ticks it is paused for two tick periods (so the sleep it is in has run out when the" \
		"snapshot saves its clock) and snapshotted Full. **The same point**: the first" \
		"\`L2: bench tick\` line, for a cold boot tick 1 (the kernel booted, \`/init\` runs its" \
		"loop), for a restore the loop's next line (the template's last tick before the" \
		"snapshot was ${LSRC_LAST_TICK:-?}, restored guests first printed $(cell "$TMPD/lx-first-tick"))." \
		"\`perf/coldstart up\` as above; $LINUX_ROUNDS rounds of one VM each, then" \
		"$CLONE_ROUNDS rounds of $LINUX_CLONES at once (restores from the one snapshot against" \
		"cold boots), the contenders alternating, the first one rotating, after one untimed run" \
		"each. Memory per VM as above (smaps_rollup when every VM of the group has printed its" \
		"line), median (min–max) over the VMs."
	echo
	echo "| contender | at once | launch → all up, ms | Rss, KiB | Pss, KiB | private, KiB | AnonHugePages, KiB | Σ Pss, MiB |"
	echo "|---|---|---|---|---|---|---|---|"
	local n name label ns=(1)
	((LINUX_CLONES > 1)) && ns+=("$LINUX_CLONES")
	for n in "${ns[@]}"; do
		for name in linux-restore linux-cold; do
			contender "$name"
			label=$LABEL
			(($(fails "$TMPD/lx-all.$n.$name") > 0)) && label+=" ($(fails "$TMPD/lx-all.$n.$name") groups failed)"
			echo "| $label | $n | $(cell "$TMPD/lx-all.$n.$name" 1000) | $(cell "$TMPD/lx-rss.$n.$name") |" \
				"$(cell "$TMPD/lx-pss.$n.$name") | $(cell "$TMPD/lx-priv.$n.$name") |" \
				"$(cell "$TMPD/lx-huge.$n.$name") | $(cell "$TMPD/lx-gpss.$n.$name" 1024) |"
		done
	done
	echo
	echo "Cold boot ÷ restore, exec → first tick: $(ratio "$TMPD/lx-all.1.linux-cold" "$TMPD/lx-all.1.linux-restore")" \
		"(medians), per round $(round_ratio "$TMPD/lx-all.1.linux-cold" "$TMPD/lx-all.1.linux-restore");"
	if ((LINUX_CLONES > 1)); then
		n=$LINUX_CLONES
		echo "$n at once, launch → all up: $(ratio "$TMPD/lx-all.$n.linux-cold" "$TMPD/lx-all.$n.linux-restore")," \
			"Pss per VM $(ratio "$TMPD/lx-pss.$n.linux-cold" "$TMPD/lx-pss.$n.linux-restore")," \
			"private per VM $(ratio "$TMPD/lx-priv.$n.linux-cold" "$TMPD/lx-priv.$n.linux-restore")," \
			"Σ Pss $(ratio "$TMPD/lx-gpss.$n.linux-cold" "$TMPD/lx-gpss.$n.linux-restore")."
	fi
	local med min max thp
	read -r med min max n <<<"$(stats "$TMPD/lx-ember" 1000)"
	echo "ember's own restore time: median $med ms (min $min, max $max) over $n runs."
	thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
	echo "Transparent huge pages here: \`${thp:-?}\`; where a cold boot's guest RAM is mostly" \
		"AnonHugePages, its Rss is that many 2 MiB pages rather than what the guest wrote" \
		"(the memory file's allocated size below, its non-zero pages, is that)."
	echo "The snapshot: state file $LC_STATE bytes, memory file $((LC_MEM_APP / 1048576)) MiB" \
		"apparent, $((LC_MEM_ALLOC / 1024)) KiB allocated; \`PUT /snapshot/create\` Full took" \
		"$LC_SRC_MS ms (ember's own $(awk -v u="${LC_SRC_EMBER:-0}" 'BEGIN { printf "%.1f", u / 1000 }') ms)," \
		"a second Full ${LC_FULL_MS:-–} ms ($(awk -v u="${LC_FULL_EMBER:-0}" 'BEGIN { printf "%.1f", u / 1000 }') ms)," \
		"and a Diff onto it after $DIFF_MS ms more ${LC_DIFF_MS:-–} ms" \
		"($(awk -v u="${LC_DIFF_EMBER:-0}" 'BEGIN { printf "%.1f", u / 1000 }') ms, ${LC_DIFF_PAGES:-–} pages of $((LINUX_MEM * 256)) written)."
	echo
}

# ---------------------------------------------------------------- run
say "template: boot, snapshot (restore source)"
if ! template; then
	cp "$TMPD/t.err" "$TMPD/template.log" 2>/dev/null
	tr -d '\r' <"$TMPD/t.out" | tail -n 3 >>"$TMPD/template.log" 2>/dev/null
	failed_run "the template VM" "$TMPD/template.log"
	head_skip "the template VM could not be booted and snapshotted (see stderr)"
fi
if skipped create; then CREATE_SKIPPED=1; else CREATE_SKIPPED=0; create_bench; fi
stop_template
T_RESTORE=$SECONDS
if ! skipped restore; then restore_bench; fi
T_CLONES=$SECONDS
if ! skipped clones; then clones_bench; fi
T_LINUX=$SECONDS
LINUX_SKIP=$(linux_skip_reason)
[[ -z $LINUX_SKIP ]] && linux_bench
[[ -n $LINUX_SKIP ]] && say "Linux part: SKIP: $LINUX_SKIP"
T_END=$SECONDS

if skipped restore; then
	printf '## Snapshot restore vs cold boot (guest-min)\n\nSKIP: BENCH_SKIP\n\n'
else
	restore_report
fi
if skipped clones; then
	printf '## Snapshot clones: N restores of one snapshot at once\n\nSKIP: BENCH_SKIP\n\n'
else
	clones_report
fi
if ((CREATE_SKIPPED)); then
	printf "## Snapshot create: \`PUT /snapshot/create\` latency and file sizes\n\nSKIP: BENCH_SKIP\n\n"
else
	create_report
fi
linux_report
echo "Snapshot benchmarks: $((T_END - T_START)) s wall (template and create $((T_RESTORE - T_START)) s," \
	"restore $((T_CLONES - T_RESTORE)) s, clones $((T_LINUX - T_CLONES)) s, Linux $((T_END - T_LINUX)) s)." \
	"Load average (1, 5, 15 min)" \
	"at the start: $LOAD_AVG_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs," \
	"shared with other work)."
echo
exit 0
