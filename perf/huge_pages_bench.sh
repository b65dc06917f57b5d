#!/usr/bin/env bash
# Guest RAM backing, side by side: ember with --huge-pages None (4 KiB pages), Transparent
# (MADV_HUGEPAGE) and 2M (the hugetlbfs pool), the same guest-min, in one run:
#   start    guest-min "hello": exec -> first serial byte and exec -> exit (what the
#            backing costs a VM that touches little)
#   touch    guest-min "touch MIB": writes a byte in each 4 KiB page of MIB MiB, then
#            exits: exec -> exit (every page faulted in on the host: what huge pages save)
# The modes alternate within every round, the first one rotating; medians with min and
# max, and None ÷ mode of the medians and per round (> 1: the mode is faster). 2M needs
# hugetlbfs pages: the pool is raised for the run when it is too small (root) and set
# back after; without them the 2M column says why it is empty. A benchmark reports, it
# never fails on a number.
#
# usage: perf/huge_pages_bench.sh [BUILD_DIR]   (default: $BUILD, else build; needs
#        BUILD_DIR/ember, BUILD_DIR/guest-min, BUILD_DIR/perf/coldstart)
# Markdown on stdout, progress on stderr.
# Environment: BENCH_HUGE_ROUNDS (10), BENCH_HUGE_MEM (guest MiB, 256),
#   BENCH_HUGE_TOUCH (MiB touched, 192), BENCH_TIMEOUT (seconds per run, 120).
set -u
# shellcheck source=perf/lib.bash
. "$(dirname "$0")/lib.bash"

BUILD=${1:-${BUILD:-build}}
EMBER=$BUILD/ember
GUEST=$BUILD/guest-min
CS=$BUILD/perf/coldstart
ROUNDS=${BENCH_HUGE_ROUNDS:-10}
MEM=${BENCH_HUGE_MEM:-256}
TOUCH=${BENCH_HUGE_TOUCH:-192}
RUN_TIMEOUT=${BENCH_TIMEOUT:-120}
MODES=(None Transparent 2M)

for v in ROUNDS MEM TOUCH RUN_TIMEOUT; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "huge_pages_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
if ((MEM % 2)); then
	echo "huge_pages_bench: BENCH_HUGE_MEM must be even (whole 2 MiB pages), not $MEM" >&2
	exit 2
fi
say() { echo "huge_pages_bench: $*" >&2; }
progress() { say "$@"; }
progress_end() { :; }

echo "## Guest RAM backing: 4 KiB pages, transparent huge pages, hugetlbfs"
echo
for f in "$EMBER" "$GUEST" "$CS"; do
	if [[ ! -x $f ]]; then
		echo "SKIP: $f is missing (make bench builds it)"
		echo
		exit 0
	fi
done
TMPD=$(mktemp -d /tmp/ember-huge-bench.XXXXXX) || exit 1
pool=/proc/sys/vm/nr_hugepages
pool_before=$(cat "$pool" 2>/dev/null || echo 0)
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[[ $(cat "$pool" 2>/dev/null) == "$pool_before" ]] || echo "$pool_before" >"$pool" 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The 2M mode takes MEM/2 pages from the pool for each run (one VM at a time).
need=$((MEM / 2))
free_pages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
if (($(free_pages) < need)); then
	echo $((pool_before + need - $(free_pages))) >"$pool" 2>/dev/null
fi
no_2m=
if (($(free_pages) < need)); then
	no_2m="the hugetlbfs pool has $(free_pages) free 2 MiB pages, a run needs $need (raise $pool as root)"
	MODES=(None Transparent)
	say "2M left out: $no_2m"
fi
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)

# run MEASURE MODE: one timed run; appends its times to the measure's files.
run() {
	local measure=$1 mode=$2 log=$TMPD/$1.$2.log words out first exit_us st
	words="hello"
	[[ $measure == touch ]] && words="touch $TOUCH"
	if out=$("$CS" once -t "$RUN_TIMEOUT" -o "$log.out" -- "$EMBER" --kernel "$GUEST" \
		--mem "$MEM" --huge-pages "$mode" --cmdline "$words" 2>"$log.err") &&
		read -r first exit_us _ st <<<"$out" && [[ $st == 0 ]] &&
		{ [[ $measure != touch ]] || grep -q "^touch: $TOUCH MiB" "$log.out"; }; then
		echo "$first" >>"$TMPD/$measure-first.$mode"
		echo "$exit_us" >>"$TMPD/$measure-exit.$mode"
	else
		failed_run "$measure $mode ($out)" "$log.err"
		echo "x" >>"$TMPD/$measure-first.$mode"
		echo "x" >>"$TMPD/$measure-exit.$mode"
		echo "FAIL" >>"$TMPD/fails"
	fi
}

say "$ROUNDS rounds of ${MODES[*]}, guest-min with $MEM MiB (touching $TOUCH MiB)"
for m in "${MODES[@]}"; do run start "$m" && run touch "$m"; done # warm-up, untimed
rm -f "$TMPD"/start-* "$TMPD"/touch-* "$TMPD/fails"
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ${#MODES[@]}; i++)); do
		m=${MODES[(r + i) % ${#MODES[@]}]}
		run start "$m"
		run touch "$m"
	done
	progress "round $((r + 1))/$ROUNDS"
done
: >>"$TMPD/fails"

echo "ember boots the same guest-min with \`--mem $MEM --huge-pages MODE\`, the modes" \
	"alternating within each of $ROUNDS rounds (the first one rotating), timed by" \
	"\`perf/coldstart once\` from just before the spawn. **start**: \`hello\`, to the" \
	"first serial byte and to the exit. **touch**: \`touch $TOUCH\` writes a byte in each" \
	"4 KiB page of $TOUCH MiB, so every page of it faults in on the host; to the exit." \
	"Transparent huge pages here: \`${thp:-?}\` (ember asks with \`MADV_HUGEPAGE\`, which" \
	"\`madvise\` and \`always\` honour; under \`always\` the kernel may give None's RAM huge" \
	"pages too, so None and Transparent differ only where it is \`madvise\`). ms; None ÷" \
	"mode > 1: the mode is faster." \
	"$(fails "$TMPD/fails") failed run(s)."
[[ -n $no_2m ]] && echo "2M not run: $no_2m."
echo
echo "| measure | mode | median | min | max | None ÷ mode (medians) | None ÷ mode per round |"
echo "|---|---|---|---|---|---|---|"
for spec in "start-first:start, exec to first byte" "start-exit:start, exec to exit" \
	"touch-exit:touch $TOUCH MiB, exec to exit"; do
	f=${spec%%:*} label=${spec#*:}
	for m in "${MODES[@]}"; do
		read -r med min max _ <<<"$(stats "$TMPD/$f.$m" 1000)"
		r="" pr=""
		if [[ $m != None ]]; then
			r=$(ratio "$TMPD/$f.None" "$TMPD/$f.$m")
			pr=$(round_ratio "$TMPD/$f.None" "$TMPD/$f.$m")
		fi
		echo "| $label | $m | $med | $min | $max | $r | $pr |"
	done
done
echo
exit 0
