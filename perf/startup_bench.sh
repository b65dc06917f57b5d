#!/usr/bin/env bash
# Start-up benchmarks, the same guest-min file under every contender:
#   cold start  exec -> first serial byte and exec -> exit, one whole process each
#   rate        guest-min microVMs started and finished per second, 1 and 2 at a time
#   memory      resident memory but the guest's RAM, while guest-min idles; binary sizes
# Contenders: the floor (perf/floor.c: the least a KVM monitor must do), ember, and
# QEMU microvm booting guest-min through its PVH note. They alternate within every round
# (the first one rotating from round to round) and are reported as medians with min and
# max, plus ratios taken within this run: these machines are noisy. A benchmark
# reports, it never fails on a number: the exit status is 0 unless called wrongly.
#
# usage: perf/startup_bench.sh [BUILD_DIR]   (default: $BUILD, else build; needs
#        BUILD_DIR/ember, BUILD_DIR/guest-min, BUILD_DIR/perf/floor, BUILD_DIR/perf/coldstart)
# Markdown on stdout, progress on stderr.
# Environment: BENCH_COLD_ROUNDS (40), BENCH_RATE_SECONDS (10), BENCH_RATE_SLICES (5),
#   BENCH_MEM_ROUNDS (5), BENCH_TIMEOUT (seconds per VM run, 120), QEMU
#   (qemu-system-x86_64), BENCH_SKIP (space-separated: cold rate mem qemu),
#   BENCH_PLOT_DATA (a file: the medians for the chart are appended there),
#   BENCH_SUMMARY (a file: rows of a summary table, ember against the floor and QEMU).
set -u
# shellcheck source=perf/lib.bash
. "$(dirname "$0")/lib.bash"

BUILD=${1:-${BUILD:-build}}
EMBER=$BUILD/ember
GUEST=$BUILD/guest-min
FLOOR=$BUILD/perf/floor
CS=$BUILD/perf/coldstart
ROUNDS=${BENCH_COLD_ROUNDS:-40}
RATE_S=${BENCH_RATE_SECONDS:-10}
SLICES=${BENCH_RATE_SLICES:-5}
MEM_ROUNDS=${BENCH_MEM_ROUNDS:-5}
RUN_TIMEOUT=${BENCH_TIMEOUT:-120}
QEMU=${QEMU:-qemu-system-x86_64}
SKIP=" ${BENCH_SKIP:-} "
PLOT_DATA=${BENCH_PLOT_DATA:-}
SUMMARY=${BENCH_SUMMARY:-}
MEM_MIB=128

for v in ROUNDS RATE_S SLICES MEM_ROUNDS RUN_TIMEOUT; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "startup_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
if ((SLICES > RATE_S)); then
	echo "startup_bench: BENCH_RATE_SLICES ($SLICES) must not exceed BENCH_RATE_SECONDS ($RATE_S)" >&2
	exit 2
fi

say() { echo "startup_bench: $*" >&2; }
# One line that rewrites itself on a terminal, one line per call otherwise.
if [[ -t 2 ]]; then
	progress() { printf '\r\033[Kstartup_bench: %s' "$*" >&2; }
	progress_end() { printf '\r\033[K' >&2; }
else
	progress() { say "$@"; }
	progress_end() { :; }
fi
skipped() { [[ $SKIP == *" $1 "* ]]; }

for f in "$EMBER" "$FLOOR" "$CS"; do
	if [[ ! -x $f ]]; then
		echo "## Cold start, creation rate, memory"
		echo
		echo "SKIP: $f is missing (run \`make bench\`, which builds it)"
		echo
		say "SKIP: $f is missing"
		exit 0
	fi
done
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "## Cold start, creation rate, memory"
	echo
	echo "SKIP: /dev/kvm is not usable here"
	echo
	say "SKIP: /dev/kvm is not usable here"
	exit 0
fi

TMPD=$(mktemp -d /tmp/ember-startup-bench.XXXXXX) || exit 1
# shellcheck disable=SC2317 # run by the trap
cleanup() { rm -rf "$TMPD"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

HAVE_QEMU=1 QEMU_VERSION= QEMU_NOTE=
if skipped qemu; then
	HAVE_QEMU=0 QEMU_NOTE="QEMU skipped (BENCH_SKIP)"
elif ! QEMU_VERSION=$("$QEMU" --version 2>/dev/null | head -n1); then
	HAVE_QEMU=0 QEMU_NOTE="QEMU: $QEMU not found"
fi
# The issue's QEMU command line, plus -serial stdio (with -nodefaults there is no serial
# port otherwise, and guest-min's output goes nowhere) and the same RAM size as ember.
# shellcheck disable=SC2054 # the commas belong to QEMU's options
QEMU_BASE=("$QEMU" -M microvm,x-option-roms=off,rtc=off,acpi=off,pit=off,pic=off
	-enable-kvm -cpu host,-arch-capabilities -nodefaults -no-user-config -nographic
	-no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4 -m "$MEM_MIB"
	-kernel "$GUEST")

# contender NAME -> CMD (array), WANT (exit status), TEXT (what its output must hold),
# LABEL (for the tables).
contender() {
	case $1 in
	floor)
		CMD=("$FLOOR") WANT=0 TEXT=F LABEL="floor (\`perf/floor.c\`)" ;;
	ember)
		CMD=("$EMBER" --kernel "$GUEST" --mem "$MEM_MIB" --cmdline hello) WANT=0
		TEXT="Hello from guest-min" LABEL="ember, guest-min \`hello\`" ;;
	ember-exit)
		CMD=("$EMBER" --kernel "$GUEST" --mem "$MEM_MIB" --cmdline "exit 0") WANT=0 TEXT=
		LABEL="ember, guest-min \`exit 0\` (prints nothing)" ;;
	ember-bt)
		CMD=("$EMBER" --kernel "$GUEST" --mem "$MEM_MIB" --cmdline "gm.boot_timer hello"
			--boot-timer --level Info) WANT=0 TEXT="Hello from guest-min"
		LABEL="ember \`--boot-timer\`, guest-min \`gm.boot_timer hello\`" ;;
	qemu)
		CMD=("${QEMU_BASE[@]}" -append hello) WANT=1 TEXT="Hello from guest-min"
		LABEL="QEMU microvm, guest-min \`hello\` (PVH)" ;;
	ember-idle)
		CMD=("$EMBER" --kernel "$GUEST" --mem "$MEM_MIB" --cmdline idle) WANT=0 TEXT=
		LABEL="ember, guest-min \`idle\`" ;;
	qemu-idle)
		CMD=("${QEMU_BASE[@]}" -append idle) WANT=0 TEXT=
		LABEL="QEMU microvm, guest-min \`idle\`" ;;
	esac
}





plot() { [[ -n $PLOT_DATA ]] && echo "$*" >>"$PLOT_DATA"; }

# summary WHAT FLOOR EMBER QEMU LOWER_IS_BETTER(1|0): one row of the summary table
# (BENCH_SUMMARY), with ember against the floor and against QEMU in words.
summary() {
	[[ -n $SUMMARY ]] || return 0
	local what=$1 f=$2 e=$3 q=$4 low=$5
	vs() { # A B -> "N× slower|faster|more|less" for A against B
		awk -v a="$1" -v b="$2" -v low="$low" -v mem="$3" 'BEGIN {
			if (!match(a, /^[0-9.]+/)) { print "–"; exit }
			a = substr(a, 1, RLENGTH) + 0
			if (!match(b, /^[0-9.]+/)) { print "–"; exit }
			b = substr(b, 1, RLENGTH) + 0
			if (a <= 0 || b <= 0) { print "–"; exit }
			r = a > b ? a / b : b / a
			worse = low ? a > b : a < b
			if (mem) w = worse ? "more" : "less"; else w = worse ? "slower" : "faster"
			printf (r >= 10 ? "%.0f× %s" : "%.1f× %s"), r, w }'
	}
	local mem=0
	[[ $what == *KiB* ]] && mem=1
	echo "| $what | $f | $e | $q | $(vs "$e" "$f" $mem) | $(vs "$e" "$q" $mem) |" >>"$SUMMARY"
}

DESCRIBE="ember $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo '?') (\`$EMBER\`), guest-min \`$GUEST\` ($(stat -c %s "$GUEST") bytes), ${QEMU_VERSION:-$QEMU_NOTE}."

# ---------------------------------------------------------------- cold start
cold_bench() {
	local names=(floor ember ember-exit ember-bt) r i k name log out first exit rss st bt
	((HAVE_QEMU)) && names+=(qemu)
	k=${#names[@]}
	for name in "${names[@]}"; do : >"$TMPD/first.$name"; : >"$TMPD/exit.$name"; done
	: >"$TMPD/bt"
	: >"$TMPD/bt-first"
	# One untimed run each: page cache, KVM module state, QEMU's libraries.
	for name in "${names[@]}"; do
		contender "$name"
		"$CS" once -t "$RUN_TIMEOUT" -- "${CMD[@]}" >/dev/null 2>&1
	done
	for ((r = 0; r < ROUNDS; r++)); do
		progress "cold start: round $((r + 1))/$ROUNDS"
		for ((i = 0; i < k; i++)); do
			name=${names[$(((i + r) % k))]}
			contender "$name"
			log=$TMPD/cold.$name.$r.log
			if out=$("$CS" once -t "$RUN_TIMEOUT" -o "$log.out" -- "${CMD[@]}" 2>"$log.err") &&
				read -r first exit rss st <<<"$out" && [[ $st == "$WANT" ]] &&
				{ [[ -z $TEXT ]] || grep -q "$TEXT" "$log.out"; }; then
				echo "$exit" >>"$TMPD/exit.$name"
				if [[ -n $TEXT ]]; then echo "$first" >>"$TMPD/first.$name"; fi
				if [[ $name == ember-bt ]]; then
					bt=$(sed -n 's/.*Guest-boot-time = *\([0-9]*\) us.*/\1/p' "$log.err" | head -n1)
					echo "${bt:-FAIL}" >>"$TMPD/bt"
					[[ -n $bt ]] && echo "$first" >>"$TMPD/bt-first"
				fi
			else
				echo FAIL >>"$TMPD/exit.$name"
				echo FAIL >>"$TMPD/first.$name"
				[[ $name == ember-bt ]] && echo FAIL >>"$TMPD/bt"
				cat "$log.out" "$log.err" >"$log" 2>/dev/null
				echo "[coldstart: ${out:-no result}; expected status $WANT${TEXT:+ and '$TEXT'}]" >>"$log"
				failed_run "cold start round $((r + 1)) $name" "$log"
			fi
			rm -f "$log.out" "$log.err"
		done
	done
	progress_end

	echo "## Cold start: exec → first serial byte, exec → exit"
	echo
	echo "$DESCRIBE"
	echo "\`perf/coldstart\` (\`perf/coldstart.c\`) starts each contender with \`posix_spawn\`" \
		"(stdin \`/dev/null\`, stdout a pipe) and times, from just before the spawn, the first" \
		"byte on the pipe (the guest's first serial byte, as a person or a script waiting on" \
		"the console sees it) and the exit reaped by \`wait4\` (the whole process: set-up," \
		"guest, teardown). $ROUNDS rounds; in each every contender runs once, the first one" \
		"rotating, after one untimed run each. A run counts when it exits with the expected" \
		"status (QEMU's \`isa-debug-exit\` makes guest-min's 0 into 1) and printed what it should." \
		"Guest RAM $MEM_MIB MiB, one vCPU everywhere."
	echo "The floor's guest writes one byte; guest-min \`hello\` prints about 130 bytes, and" \
		"under PVM every byte costs a few exits (LSR poll, THR write), so the \`exit 0\` row" \
		"shows ember with almost no guest work. QEMU boots the same file through its PVH" \
		"note, so guest-min builds its own page tables there (a few ms more guest work than" \
		"under ember, which hands it long mode)."
	((HAVE_QEMU)) || echo "$QEMU_NOTE: no QEMU rows."
	echo
	local what f label n med min max flmed
	for what in first exit; do
		if [[ $what == first ]]; then
			echo "exec → first serial byte, ms:"
		else
			echo "exec → exit (whole process), ms:"
		fi
		echo
		echo "| contender | median | min | max | × floor (medians) | × floor per round |"
		echo "|---|---|---|---|---|---|"
		for name in "${names[@]}"; do
			[[ $what == first && $name == ember-exit ]] && continue
			contender "$name"
			f=$TMPD/$what.$name
			read -r med min max n <<<"$(stats "$f" 1000)"
			label=$LABEL
			(($(fails "$f") > 0)) && label+=" ($(fails "$f") of $ROUNDS runs failed)"
			if [[ $name == floor ]]; then
				echo "| $label | $med | $min | $max | 1 | |"
			else
				echo "| $label | $med | $min | $max | $(ratio "$f" "$TMPD/$what.floor") | $(round_ratio "$f" "$TMPD/$what.floor") |"
			fi
			plot "cold $what $name $med $min $max"
		done
		echo
		if ((HAVE_QEMU)); then
			echo "QEMU ÷ ember (\`hello\`): $(ratio "$TMPD/$what.qemu" "$TMPD/$what.ember") (medians)," \
				"per round $(round_ratio "$TMPD/$what.qemu" "$TMPD/$what.ember"): ember is that many times faster."
			echo
		fi
	done
	local m_f m_e m_q
	for what in first exit; do
		read -r m_f _ <<<"$(stats "$TMPD/$what.floor" 1000)"
		read -r m_e _ <<<"$(stats "$TMPD/$what.ember" 1000)"
		m_q=–
		((HAVE_QEMU)) && read -r m_q _ <<<"$(stats "$TMPD/$what.qemu" 1000)"
		if [[ $what == first ]]; then
			summary "exec → first serial byte, ms" "$m_f" "$m_e" "$m_q" 1
		else
			summary "exec → exit (whole process), ms" "$m_f" "$m_e" "$m_q" 1
		fi
	done
	read -r m_e _ <<<"$(stats "$TMPD/exit.ember-exit" 1000)"
	summary "exec → exit, guest-min \`exit 0\` under ember, ms" "$m_f" "$m_e" "–" 1
	read -r med min max n <<<"$(stats "$TMPD/bt" 1000)"
	echo "ember's own boot timer, same runs as the \`--boot-timer\` row: \`Guest-boot-time\`" \
		"(ember's start → guest-min's write to the boot-timer device, logged by ember)" \
		"median $med ms (min $min, max $max) over $n runs; the first serial byte seen" \
		"outside came $(round_ratio "$TMPD/bt-first" <(grep -E '^[0-9]+$' "$TMPD/bt"))" \
		"times as late (median, min–max per run): the outside view adds the process's exec" \
		"and start-up before ember's clock starts, and the pipe."
	echo
}

# ---------------------------------------------------------------- creation rate
rate_bench() {
	local names=(floor ember) jobs s i k name out ok fl us
	((HAVE_QEMU)) && names+=(qemu)
	k=${#names[@]}
	local slice_s=$((RATE_S / SLICES))
	for jobs in 1 2; do
		for name in "${names[@]}"; do : >"$TMPD/rate.$jobs.$name"; done
		for ((s = 0; s < SLICES; s++)); do
			for ((i = 0; i < k; i++)); do
				name=${names[$(((i + s) % k))]}
				contender "$name"
				progress "creation rate: $jobs at a time, slice $((s + 1))/$SLICES ($slice_s s): $name"
				if out=$("$CS" rate -j "$jobs" -s "$slice_s" -e "$WANT" -t "$RUN_TIMEOUT" -- "${CMD[@]}" 2>"$TMPD/rate.err") &&
					read -r ok fl us <<<"$out"; then
					echo "$ok $fl $us" >>"$TMPD/rate.$jobs.$name"
					((fl > 0)) && { progress_end; say "rate $name x$jobs: $fl of $((ok + fl)) runs failed"; }
				else
					progress_end
					say "FAILED: rate $name x$jobs slice $((s + 1)): $(tail -n 3 "$TMPD/rate.err")"
				fi
			done
		done
	done
	progress_end

	echo "## Creation rate: guest-min microVMs started and finished per second"
	echo
	echo "\`perf/coldstart rate\` keeps 1 (then 2) runs of a contender going back to back," \
		"stdout to \`/dev/null\`, and counts the runs that exit with the expected status" \
		"(guest-min \`hello\`, as above). Each contender gets $RATE_S s per level, in $SLICES" \
		"slices of $slice_s s that alternate with the other contenders' (first one rotating);" \
		"a slice starts no run after its $slice_s s and ends when its last run has exited." \
		"VMs/s is all ok runs ÷ all slice time; min and max are the slowest and fastest" \
		"slice. The machine has $(nproc) CPUs, shared with whatever else runs on it."
	echo
	echo "| contender | at a time | VMs/s | min | max | runs ok (failed) | ÷ ember |"
	echo "|---|---|---|---|---|---|---|"
	local tot mn mx e_rate q_rate
	for jobs in 1 2; do
		e_rate=$(awk '{ ok += $1; us += $3 } END { if (us > 0) printf "%.2f", ok / us * 1e6 }' "$TMPD/rate.$jobs.ember")
		for name in "${names[@]}"; do
			contender "$name"
			read -r tot mn mx ok fl <<<"$(awk '
				{ ok += $1; fl += $2; us += $3; r = $3 > 0 ? $1 / $3 * 1e6 : 0
				  if (NR == 1 || r < mn) mn = r; if (NR == 1 || r > mx) mx = r }
				END { if (us > 0) printf "%.1f %.1f %.1f %d %d\n", ok / us * 1e6, mn, mx, ok, fl
				      else print "- - - 0 0" }' "$TMPD/rate.$jobs.$name")"
			local rel="–"
			[[ $tot != - && -n $e_rate ]] && rel=$(awk -v a="$tot" -v b="$e_rate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "–" }')
			echo "| ${LABEL%%,*} | $jobs | $tot | $mn | $mx | $ok ($fl) | $rel |"
			plot "rate $jobs $name $tot $mn $mx"
			RATE[$name]=$tot
			[[ $name == qemu ]] && q_rate=$tot
		done
		summary "VMs/s, $jobs at a time" "${RATE[floor]:-–}" "${RATE[ember]:-–}" "${RATE[qemu]:-–}" 0
		if ((HAVE_QEMU)) && [[ -n $e_rate && ${q_rate:-–} != - ]]; then
			RATE_RATIO[jobs]=$(awk -v a="$e_rate" -v b="$q_rate" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "–" }')
		fi
	done
	echo
	if ((HAVE_QEMU)); then
		echo "ember starts and finishes ${RATE_RATIO[1]:-–}× as many guest-min VMs per second as" \
			"QEMU one at a time, ${RATE_RATIO[2]:-–}× two at a time."
		echo
	fi
}
declare -a RATE_RATIO
declare -A RATE

# ---------------------------------------------------------------- memory
mem_bench() {
	local names=(ember-idle) r i k name out rss pss grss gmap peak st log
	((HAVE_QEMU)) && names+=(qemu-idle)
	k=${#names[@]}
	for name in "${names[@]}"; do
		for f in rss pss grss peak; do : >"$TMPD/mem-$f.$name"; done
	done
	for ((r = 0; r < MEM_ROUNDS; r++)); do
		progress "memory: round $((r + 1))/$MEM_ROUNDS"
		for ((i = 0; i < k; i++)); do
			name=${names[$(((i + r) % k))]}
			contender "$name"
			log=$TMPD/mem.$name.$r.log
			if out=$("$CS" mem -w "idle: polling" -g "$MEM_MIB" -t "$RUN_TIMEOUT" -o "$log" -- "${CMD[@]}" 2>>"$log") &&
				read -r rss pss grss gmap peak st <<<"$out" && [[ $st == "$WANT" ]]; then
				echo "$rss" >>"$TMPD/mem-rss.$name"
				echo "$pss" >>"$TMPD/mem-pss.$name"
				echo "$grss" >>"$TMPD/mem-grss.$name"
				echo "$peak" >>"$TMPD/mem-peak.$name"
			else
				echo "[coldstart mem: ${out:-no result}; expected status $WANT]" >>"$log"
				failed_run "memory round $((r + 1)) $name" "$log"
			fi
		done
	done
	progress_end

	echo "## Memory overhead and size"
	echo
	echo "\`perf/coldstart mem\` starts the contender with guest-min \`idle\` ($MEM_MIB MiB of" \
		"guest RAM), waits for \`idle: polling\` on the console (the VM is up and running)," \
		"sums \`Rss\` and \`Pss\` over \`/proc/PID/smaps\` except the guest RAM (the one" \
		"mapping of exactly $MEM_MIB MiB, in ember and in QEMU alike), then ends it with" \
		"SIGTERM. Rss counts shared pages in full (QEMU's shared libraries), Pss shares" \
		"them out among the processes that map them. Peak is the process's maxrss from" \
		"\`wait4\`, guest RAM included; Linux keeps it in per-CPU counters, so it is only good" \
		"to a few hundred KiB. Medians (min–max) over $MEM_ROUNDS runs each, alternating."
	echo
	echo "| contender | Rss without guest RAM, KiB | Pss without guest RAM, KiB | guest RAM Rss, KiB | peak RSS, KiB |"
	echo "|---|---|---|---|---|"
	local cell f col
	for name in "${names[@]}"; do
		contender "$name"
		cell=()
		for col in rss pss grss peak; do
			f=$TMPD/mem-$col.$name
			read -r med min max n <<<"$(stats "$f")"
			if ((n == 0)); then cell+=("–"); elif [[ $min == "$max" ]]; then cell+=("$med"); else cell+=("$med ($min–$max)"); fi
		done
		echo "| ${LABEL%%,*} | ${cell[0]} | ${cell[1]} | ${cell[2]} | ${cell[3]} |"
		read -r med _ <<<"$(stats "$TMPD/mem-rss.$name")"
		plot "mem $name $med"
	done
	echo
	local r_e r_q=– p_e p_q=–
	read -r r_e _ <<<"$(stats "$TMPD/mem-rss.ember-idle")"
	read -r p_e _ <<<"$(stats "$TMPD/mem-peak.ember-idle")"
	if ((HAVE_QEMU)); then
		read -r r_q _ <<<"$(stats "$TMPD/mem-rss.qemu-idle")"
		read -r p_q _ <<<"$(stats "$TMPD/mem-peak.qemu-idle")"
	fi
	summary "Rss without guest RAM, KiB" "–" "$r_e" "$r_q" 1
	summary "peak RSS (maxrss), KiB" "–" "$p_e" "$p_q" 1
	if ((HAVE_QEMU)); then
		echo "QEMU ÷ ember, Rss without guest RAM: $(ratio "$TMPD/mem-rss.qemu-idle" "$TMPD/mem-rss.ember-idle");" \
			"Pss: $(ratio "$TMPD/mem-pss.qemu-idle" "$TMPD/mem-pss.ember-idle"); peak:" \
			"$(ratio "$TMPD/mem-peak.qemu-idle" "$TMPD/mem-peak.ember-idle")."
		echo
	fi
	local sz text data bss qbin qsz qlibs
	sz=$(stat -c %s "$EMBER")
	read -r text data bss _ <<<"$(size "$EMBER" | awk 'NR == 2')"
	echo "| binary | file, bytes | text + data + bss, bytes | linked |"
	echo "|---|---|---|---|"
	echo "| \`$EMBER\` | $sz ($((sz / 1024)) KiB, with debug info) | $((text + data + bss)) ($text + $data + $bss) | static (musl) |"
	sz=$(stat -c %s "$FLOOR")
	read -r text data bss _ <<<"$(size "$FLOOR" | awk 'NR == 2')"
	echo "| \`$FLOOR\` | $sz | $((text + data + bss)) ($text + $data + $bss) | static (musl) |"
	local f_kib e_kib q_kib=–
	f_kib=$(((text + data + bss + 1023) / 1024))
	read -r text data bss _ <<<"$(size "$EMBER" | awk 'NR == 2')"
	e_kib=$(((text + data + bss + 1023) / 1024))
	if ((HAVE_QEMU)) && qbin=$(command -v "$QEMU"); then
		qbin=$(readlink -f "$qbin")
		qsz=$(stat -c %s "$qbin")
		read -r text data bss _ <<<"$(size "$qbin" 2>/dev/null | awk 'NR == 2')"
		qlibs=$(ldd "$qbin" 2>/dev/null | grep -c '=>')
		echo "| \`$qbin\` | $qsz ($((qsz / 1048576)) MiB) | $((text + data + bss)) | dynamic, $qlibs shared libraries |"
		q_kib="$(((text + data + bss + 1023) / 1024)) + $qlibs libraries"
	fi
	echo
	summary "program text + data + bss, KiB" "$f_kib" "$e_kib" "$q_kib" 1
}

if skipped cold; then echo "## Cold start"; echo; echo "SKIP: BENCH_SKIP"; echo; else cold_bench; fi
if skipped rate; then echo "## Creation rate"; echo; echo "SKIP: BENCH_SKIP"; echo; else rate_bench; fi
if skipped mem; then echo "## Memory overhead and size"; echo; echo "SKIP: BENCH_SKIP"; echo; else mem_bench; fi
exit 0
