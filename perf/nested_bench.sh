#!/usr/bin/env bash
# Linux boot, ember vs QEMU microvm, inside ONE L1 of the nested harness
# (tests/nested/nested-run.sh: QEMU TCG with an emulated AMD SVM CPU, Debian's cloud
# kernel with kvm-amd, a real /dev/kvm). In L1 the two monitors boot the same L2
# kernel and initramfs, alternating, the first one rotating per round:
#   boot     exec to the first "L2: bench init" line of L2's /init on the serial
#            console (l2-init's l2bench=boot, kernel "quiet"), and to the monitor's
#            exit after the guest's reboot -f
#   bootlog  the same with the kernel's boot log on the console (no "quiet")
#   mem      l2bench=hold: while L2 sleeps in /init, the monitor's /proc/PID/smaps:
#            Rss without the guest RAM mapping, the guest RAM's, VmHWM; peak RSS of
#            a whole boot run from wait4
# Timing and sampling are done in L1 by perf/nested_timer.c (static musl, built
# here into BUILD/perf/nested_timer); perf/nested_l1.sh is the L1 hook that runs
# the rounds. Under TCG the absolute times mean little: read the ratios.
# A benchmark reports, it never fails on a number: exit status 0 whatever happened
# (the Markdown says SKIP or "k of n runs failed"), 2 only for bad settings.
#
# usage: perf/nested_bench.sh [BUILD_DIR]      (default: $BUILD, else build)
# Markdown on stdout, progress on stderr.
# Environment: BENCH_NESTED_ROUNDS (5), BENCH_NESTED_VCPUS (1), BENCH_NESTED_MEM
#   (MiB, 256), BENCH_NESTED_CMDLINE (more L2 kernel words, for both monitors),
#   BENCH_NESTED_BOOTLOG (1; 0: no bootlog runs), BENCH_NESTED_HUGE (the --huge-pages
#   modes ember also boots with in the boot runs, "Transparent 2M"; empty: none),
#   BENCH_NESTED_RUN_TIMEOUT (s per VM run in L1, 40), BENCH_NESTED_TIMEOUT (s for
#   the whole L1, 540: a cap; what came back by then is reported),
#   BENCH_NESTED_L1_MEM (MiB, 1024), QEMU (the QEMU copied into L1,
#   qemu-system-x86_64), NESTED_WORK (harness work dir, BUILD_DIR/nested),
#   BENCH_NESTED_KEEP=1 (keep L1's console, the L2 consoles of round 1 and the L1
#   run directory).
set -u

T_START=$SECONDS
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib.bash
. "$ROOT/perf/lib.bash"
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
EMBER=$BUILD/ember
KERNEL=$BUILD/guest-kernel/vmlinux
ROUNDS=${BENCH_NESTED_ROUNDS:-5}
VCPUS=${BENCH_NESTED_VCPUS:-1}
MEM=${BENCH_NESTED_MEM:-256}
CMDLINE=${BENCH_NESTED_CMDLINE:-}
HUGE_MODES=${BENCH_NESTED_HUGE-Transparent 2M}
BOOT_MODES="boot bootlog"
[[ ${BENCH_NESTED_BOOTLOG:-1} == 0 ]] && BOOT_MODES=boot
RUN_TIMEOUT=${BENCH_NESTED_RUN_TIMEOUT:-40}
L1_TIMEOUT=${BENCH_NESTED_TIMEOUT:-540}
L1_MEM=${BENCH_NESTED_L1_MEM:-1024}
QEMU=${QEMU:-qemu-system-x86_64}
KEEP=${BENCH_NESTED_KEEP:-0}
export NESTED_WORK=${NESTED_WORK:-$BUILD/nested}
HOLD_S=30            # l2bench=hold:N; the run is killed once sampled
SAMPLE_DELAY_MS=300  # from "L2: bench hold" to the smaps sample

for v in ROUNDS VCPUS MEM RUN_TIMEOUT L1_TIMEOUT L1_MEM; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "nested_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
case $CMDLINE in *[\'\"\\\$\`]* | *$'\n'*)
	echo "nested_bench: BENCH_NESTED_CMDLINE: no quotes, backslashes, \$ or newlines" >&2
	exit 2 ;;
esac

say() { echo "nested_bench: $*" >&2; }
skip() {
	echo "SKIP: $*"
	echo
	say "SKIP: $*"
	exit 0
}

echo "## Linux boot in the nested harness: ember vs QEMU microvm"
echo

[[ -x $EMBER ]] || skip "$EMBER is missing (run make)"
[[ -f $KERNEL ]] || skip "$KERNEL is missing (run make guest-kernel)"
qemu_l1_files "$QEMU" || skip "$QEMU_L1_WHY"
command -v musl-gcc >/dev/null || skip "musl-gcc not found (needed for nested_timer)"

TMPD=$(mktemp -d /tmp/ember-nested-bench.XXXXXX) || exit 1
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if [[ $KEEP == 1 ]]; then say "kept $TMPD"; else rm -rf "$TMPD"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The timing helper (perf/lib.bash).
TIMER=$BUILD/perf/nested_timer
err=$(nested_timer_build "$ROOT" "$BUILD") || skip "building nested_timer failed: $err"

INITRD=$NESTED_WORK/l2-initrd.cpio.gz
"$ROOT/tests/nested/make-l2-initrd.sh" "$INITRD" >&2 || skip "building the L2 initrd failed"

# In L1: QEMU (perf/lib.bash's qemu_l1_files), the timer, the settings and the hook.
# shellcheck disable=SC2054 # the commas belong to QEMU's options
QEMU_ARGS=(-M microvm,x-option-roms=off,rtc=off,acpi=off,pit=off,pic=off,auto-kernel-cmdline=off
	-enable-kvm -cpu host -nodefaults -no-user-config -display none -no-reboot
	-serial stdio)
# reboot=t for QEMU: microvm has no i8042, so Linux's reboot=k (ember's default,
# an i8042 reset there) would leave the guest spinning; a triple fault is a reset
# that -no-reboot turns into QEMU's exit. Later words win in Linux.
QEMU_CMDLINE="reboot=t"
{
	echo "ROUNDS=$ROUNDS"
	echo "BOOT_MODES='$BOOT_MODES'"
	echo "VCPUS=$VCPUS"
	echo "MEM=$MEM"
	echo "CMDLINE='$CMDLINE'"
	echo "QEMU_CMDLINE='$QEMU_CMDLINE'"
	echo "QEMU_ARGS='${QEMU_ARGS[*]}'"
	echo "RUN_TIMEOUT=$RUN_TIMEOUT"
	echo "HOLD_S=$HOLD_S"
	echo "SAMPLE_DELAY_MS=$SAMPLE_DELAY_MS"
	echo "DUMP_LOGS=$KEEP"
	echo "HUGE_MODES='$HUGE_MODES'"
} >"$TMPD/bench.conf"
FILES=("${QEMU_L1_FILES[@]}" --file "$TIMER=/nb/nested_timer" --file "$TMPD/bench.conf=/nb/bench.conf"
	--l1-hook "$ROOT/perf/nested_l1.sh")

L2_VERSION=$(strings -n 16 "$KERNEL" 2>/dev/null | grep -m1 '^Linux version ' | cut -d' ' -f3)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "booting one L1 (QEMU TCG) that runs $ROUNDS rounds of boot and memory runs;" \
	"expect about $((ROUNDS * 20 / 60 + 1))-$((ROUNDS * 40 / 60 + 2)) minutes"

# The L1 console, as it comes: NB lines become progress lines.
LOG=$TMPD/console.log
progress() {
	local line mode round c kv ms exit_ms
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$LOG"
		case $line in
		"NESTED: /dev/kvm ready") say "L1 is up (/dev/kvm ready); the rounds start" ;;
		"NESTED: no /dev/kvm") say "L1 has no /dev/kvm" ;;
		"NB: run "*)
			read -r _ _ mode round c kv <<<"$line"
			ms=$(sed -n 's/.*marker_ns=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$kv")
			exit_ms=$(sed -n 's/.*exit_ns=\([0-9]*\).*/\1/p' <<<"$kv")
			ms=$(awk -v n="${ms:--1}" 'BEGIN { print n < 0 ? "never" : sprintf("%.0f ms", n / 1e6) }')
			exit_ms=$(awk -v n="${exit_ms:-0}" 'BEGIN { printf "%.0f ms", n / 1e6 }')
			case $mode in
			warm) say "warm-up: $c: /init after $ms, exit after $exit_ms ($(grep -o 'status=[^ ]*' <<<"$kv"))" ;;
			boot | bootlog) say "$mode round $round/$ROUNDS: $c: /init after $ms, exit after $exit_ms ($(grep -o 'status=[^ ]*' <<<"$kv"))" ;;
			mem) say "mem round $round/$ROUNDS: $c: $(grep -o 'other_rss_kib=[0-9]*' <<<"$kv" || echo 'no sample') (/init after $ms)" ;;
			esac ;;
		"NB: log "*) say "  ${line#NB: log }" ;;
		"NB: skip "*) say "${line#NB: }" ;;
		esac
	done
}
: >"$LOG"
KEEP_OPT=()
[[ $KEEP == 1 ]] && KEEP_OPT=(--keep)
"$ROOT/tests/nested/nested-run.sh" --ember "$EMBER" --kernel "$KERNEL" --initrd "$INITRD" \
	--timeout "$L1_TIMEOUT" --l1-mem "$L1_MEM" "${KEEP_OPT[@]}" \
	"${FILES[@]}" -- --version 2>"$TMPD/harness.err" | progress
HARNESS_RC=${PIPESTATUS[0]}
say "L1 finished (harness status $HARNESS_RC) after $((SECONDS - T_START)) s in all"

info() { sed -n "s/^NB: info $1 //p" "$LOG" | head -n1; }
if ! grep -q '^NB: ' "$LOG"; then
	case $HARNESS_RC in
	2) skip "L1 (QEMU TCG, EPYC+svm+npt+erms) has no /dev/kvm" ;;
	124) skip "the L1 run timed out after ${L1_TIMEOUT}s before any result" ;;
	*) skip "the nested harness failed (status $HARNESS_RC) before any result: $(tail -n 3 "$TMPD/harness.err" | tr '\n' ' ')" ;;
	esac
fi

# ---- results -------------------------------------------------------------------
# field MODE CONTENDER KEY: "ROUND VALUE" lines of the counted runs of MODE (boot
# runs count with status=0 and the marker seen, mem runs with one guest mapping).
field() {
	awk -v mode="$1" -v c="$2" -v key="$3" '
		$1 == "NB:" && $2 == "run" && $3 == mode && $5 == c {
			delete kv
			for (i = 6; i <= NF; i++) { split($i, a, "="); kv[a[1]] = a[2] }
			if (kv["marker_ns"] == "" || kv["marker_ns"] < 0) next
			if (mode == "boot" && kv["status"] != "0") next
			if (mode == "mem" && kv["guest_maps"] != "1") next
			if (key == "outside_ms") {
				# exec to the marker minus the L2 kernel clock at "Run /init"
				if (kv["kernel_init_s"] == "" || kv["kernel_init_s"] < 0) next
				print $4, kv["marker_ns"] / 1e6 - kv["kernel_init_s"] * 1000
				next
			}
			if (kv[key] == "" || kv[key] < 0) next
			print $4, kv[key]
		}' "$LOG"
}
# attempted MODE CONTENDER: how many runs were made.
attempted() {
	awk -v mode="$1" -v c="$2" '$1 == "NB:" && $2 == "run" && $3 == mode && $5 == c { n++ }
		END { print n + 0 }' "$LOG"
}
# column_stats SCALE: "median min max n" of the second column of stdin divided by SCALE.
column_stats() {
	awk -v s="$1" '{ print $2 / s }' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%s %s %s %d\n", m, v[1], v[NR], NR
		}'
}
# fmt DECIMALS VALUE
fmt() {
	if [[ $2 == - ]]; then echo –; else awk -v d="$1" -v v="$2" 'BEGIN { printf "%." d "f", v }'; fi
}
# per_round A_FILE B_FILE: median (min–max) of B/A over the rounds both have.
per_round() {
	join <(sort -k1,1 "$1") <(sort -k1,1 "$2") |
		awk '$2 > 0 { print $3 / $2 }' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "–"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f (%.2f–%.2f)\n", m, v[1], v[NR]
		}'
}
# table_rows MODE KEY SCALE DECIMALS: ember and QEMU rows with median, min, max and,
# on QEMU's row, QEMU ÷ ember of the medians and per round.
table_rows() {
	local mode=$1 key=$2 scale=$3 dec=$4 c label med min max n tries em=- note
	for c in ember qemu; do
		field "$mode" "$c" "$key" >"$TMPD/f.$c"
		read -r med min max n <<<"$(column_stats "$scale" <"$TMPD/f.$c")"
		tries=$(attempted "$mode" "$c")
		label=ember
		[[ $c == qemu ]] && label="QEMU microvm"
		note=
		if ((tries == 0)); then
			note=" (no runs: $(sed -n "s/^NB: skip $c //p" "$LOG" | head -n1 || true))"
			[[ $note == " (no runs: )" ]] && note=" (no runs)"
		elif ((n < tries)); then
			note=" ($((tries - n)) of $tries runs failed)"
		fi
		if [[ $c == ember ]]; then
			em=$med
			echo "| $label$note | $(fmt "$dec" "$med") | $(fmt "$dec" "$min") | $(fmt "$dec" "$max") | | |"
		else
			local r=–
			[[ $em != - && $med != - ]] && r=$(awk -v a="$em" -v b="$med" 'BEGIN { if (a > 0) printf "%.2f", b / a; else printf "–" }')
			echo "| $label$note | $(fmt "$dec" "$med") | $(fmt "$dec" "$min") | $(fmt "$dec" "$max") | $r | $(per_round "$TMPD/f.ember" "$TMPD/f.qemu") |"
		fi
	done
}

QEMU_VERSION=$(info qemu)
L1_KERNEL=$(info l1_kernel)
echo "One L1 of the nested harness (\`tests/nested/nested-run.sh\`): QEMU TCG on the host" \
	"with an emulated AMD CPU with SVM and NPT (\`-cpu EPYC,+svm,+npt,+erms\`), $(info l1_cpus) vCPU," \
	"$L1_MEM MiB, Debian's cloud kernel $L1_KERNEL with \`kvm-amd\`. Inside it, round after" \
	"round, ember and ${QEMU_VERSION:-QEMU} (\`-M microvm,x-option-roms=off,rtc=off,acpi=off,pit=off,pic=off,auto-kernel-cmdline=off" \
	"-enable-kvm -cpu host\`; its libraries and qboot copied into L1) boot the same L2 Linux" \
	"${L2_VERSION:-?} \`vmlinux\` (ember: its 64-bit entry; QEMU: its PVH entry, after qboot)" \
	"with the same initramfs (busybox, \`tests/nested/l2-init\`), $MEM MiB, $VCPUS vCPU(s)," \
	"console on ttyS0. $ROUNDS round(s) after one untimed warm-up run each; the first" \
	"contender alternates from round to round. The L2 command line is the same for both:" \
	"\`console=ttyS0 reboot=k panic=1 pci=off [quiet]${CMDLINE:+ $CMDLINE} l2bench=boot\`" \
	"(ember's defaults, then the benchmark's words; ember adds \`ember.*\` words Linux" \
	"ignores; QEMU's guest gets \`reboot=t\` at the end because microvm has no i8042 to" \
	"reset through)."
echo
echo "Timed in L1 by \`perf/nested_timer\` (CLOCK_MONOTONIC): from just before it forks" \
	"the monitor to the end of the first serial console line \`L2: bench init\`, which L2's" \
	"\`/init\` prints before anything else (\`l2bench=boot\`), as read from the monitor's" \
	"stdout; then to the monitor's exit after the guest's \`reboot -f\`. Under TCG every one" \
	"of these runs is slow and noisy; only the ratios mean something. QEMU ÷ ember > 1" \
	"means ember is faster (or smaller): the ratio of the medians, and the median" \
	"(min–max) of the ratios of the two runs of each round."
echo
# boot_table MODE: the rows of one kind of boot run.
# shellcheck disable=SC2016 # the backquotes are Markdown
boot_table() {
	echo "| measure, contender | median | min | max | QEMU ÷ ember (medians) | QEMU ÷ ember per round |"
	echo "|---|---|---|---|---|---|"
	table_rows "$1" marker_ns 1e6 0 | sed 's/^| /| **exec to `L2: bench init`**: /'
	table_rows "$1" kernel_init_s 0.001 0 | sed 's/^| /| L2 kernel clock at `Run \/init`: /'
	table_rows "$1" outside_ms 1 0 | sed 's/^| /| exec to `\/init` minus that clock: /'
	table_rows "$1" exit_ns 1e6 0 | sed 's/^| /| exec to exit after `reboot -f`: /'
	echo
}
echo "Each table has, in ms: exec to the \`L2: bench init\` line (the boot time); the L2" \
	"kernel's own clock at its \`Run /init as init process\` line (\`l2-init\` prints it" \
	"from the kernel's log buffer): the guest's share; the difference of the two: the" \
	"monitor's setup, the firmware (qboot, for QEMU), the kernel before its clock starts," \
	"and \`/init\`'s first line; and exec to the monitor's exit after the guest's \`reboot -f\`."
echo
echo "### Boot to \`/init\`, kernel \`quiet\`"
echo
boot_table boot
# huge_table: ember's quiet boot per guest RAM backing, against None (ember's row above).
# shellcheck disable=SC2016 # the backquotes are Markdown
huge_table() {
	local h c med min max n tries note
	echo "### The same boot per guest RAM backing (\`--huge-pages\`)"
	echo
	echo "ember alone, in the same rounds as the boots above, with its guest RAM as 4 KiB" \
		"pages (None: ember's row above), transparent huge pages (\`MADV_HUGEPAGE\`; L1's" \
		"THP setting: \`$(info thp)\`) or 2 MiB pages from L1's hugetlbfs pool" \
		"($(info hugepages_free) free at the start). None ÷ mode > 1: the mode is faster."
	echo
	echo "| measure, backing | median | min | max | None ÷ mode (medians) | None ÷ mode per round |"
	echo "|---|---|---|---|---|---|"
	for spec in "marker_ns:1e6:exec to \`L2: bench init\`" "kernel_init_s:0.001:L2 kernel clock at \`Run /init\`" \
		"exit_ns:1e6:exec to exit after \`reboot -f\`"; do
		IFS=: read -r key scale label <<<"$spec"
		field boot ember "$key" >"$TMPD/h.None"
		read -r em _ <<<"$(column_stats "$scale" <"$TMPD/h.None")"
		echo "| $label: None | $(column_stats "$scale" <"$TMPD/h.None" | awk '{ printf "%.0f | %.0f | %.0f", $1, $2, $3 }') | | |"
		for h in $HUGE_MODES; do
			c=ember-$h
			field boot "$c" "$key" >"$TMPD/h.$h"
			read -r med min max n <<<"$(column_stats "$scale" <"$TMPD/h.$h")"
			tries=$(attempted boot "$c")
			note=
			((n < tries)) && note=" ($((tries - n)) of $tries runs failed)"
			((tries == 0)) && note=" (no runs)"
			local r=–
			[[ $em != - && $med != - ]] && r=$(awk -v a="$em" -v b="$med" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "–" }')
			echo "| $label: $h$note | $(fmt 0 "$med") | $(fmt 0 "$min") | $(fmt 0 "$max") | $r | $(per_round "$TMPD/h.$h" "$TMPD/h.None") |"
		done
	done
	echo
}
[[ -n $HUGE_MODES ]] && huge_table
if [[ $BOOT_MODES == *bootlog* ]]; then
	echo "### Boot to \`/init\` with the kernel's boot log on the console"
	echo
	lines=$(field bootlog ember console_lines | awk 'NR == 1 { print $2 }')
	echo "The same without \`quiet\`: the L2 kernel writes its whole boot log" \
		"(${lines:-?} lines on the console) to the 8250 UART, one trapped \`out\` per byte, which" \
		"under nested virtualization measures the monitors' serial emulation more than anything."
	echo
	boot_table bootlog
fi
echo "### Memory of the monitor with a running Linux guest (nested)"
echo
echo "The same L2 (\`quiet\`) with \`l2bench=hold\`: \`/init\` prints \`L2: bench hold\` and sleeps;" \
	"${SAMPLE_DELAY_MS} ms later \`nested_timer\` reads the monitor's \`/proc/PID/smaps\` in L1" \
	"and sums Rss over every mapping but the guest RAM (the anonymous mapping exactly" \
	"$MEM MiB long; a run where there is not exactly one such mapping does not count)," \
	"then kills the monitor; Pss the same (shared pages divided among the processes" \
	"mapping them). Guest RAM resident is that mapping's Rss (what L2 touched)." \
	"Peak RSS is the whole process, guest RAM included: VmHWM at the sample, and wait4's" \
	"ru_maxrss of the \`quiet\` boot runs (exec to exit). ${ROUNDS} round(s), alternating as above. MiB."
echo
echo "| measure, contender | median | min | max | QEMU ÷ ember (medians) | QEMU ÷ ember per round |"
echo "|---|---|---|---|---|---|"
table_rows mem other_rss_kib 1024 2 | sed 's/^| /| RSS without guest RAM: /'
table_rows mem other_pss_kib 1024 2 | sed 's/^| /| Pss without guest RAM: /'
table_rows mem guest_rss_kib 1024 1 | sed 's/^| /| guest RAM resident: /'
table_rows mem hwm_kib 1024 1 | sed 's/^| /| peak RSS (VmHWM at the sample): /'
table_rows boot maxrss_kib 1024 1 | sed 's/^| /| peak RSS of a boot run (ru_maxrss): /'
echo
if ! grep -q '^NB: done' "$LOG"; then
	echo "The L1 run ended before all rounds were done (harness status $HARNESS_RC):" \
		"the tables hold what came back."
	echo
fi
bench_footer "$T_START" "$LOAD_START"
if [[ $KEEP == 1 ]]; then
	# The L2 consoles of round 1, one file each, next to the L1 console.
	l2logs_split NB: "$LOG" "$TMPD"
	say "console log: $LOG; L2 consoles of round 1: $TMPD/*.1.*.log"
fi
exit 0
