# shellcheck shell=bash
# What the benchmark scripts share (sourced, not run): statistics over files of one
# number per line, and the ratios between two such files.
# stats FILE [SCALE]: "median min max n" over the numeric lines of FILE divided by
# SCALE (default 1); "- - - 0" when there are none.
stats() {
	grep -E '^[0-9.]+$' "$1" | sort -g | awk -v s="${2:-1}" '
		{ v[NR] = $1 / s }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			d = s == 1 ? 0 : 2
			printf "%.*f %.*f %.*f %d\n", d, m, d, v[1], d, v[NR], NR
		}'
}

# ratio A B: median(A) / median(B), 2 decimals; "–" without data.
ratio() {
	local a b
	read -r a _ <<<"$(stats "$1")"
	read -r b _ <<<"$(stats "$2")"
	if [[ $a == - || $b == - || $b == 0 ]]; then echo "–"; return; fi
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }'
}

# round_ratio A B: median (min–max) of A/B line by line (the same round); "–" without data.
round_ratio() {
	paste "$1" "$2" | awk '$1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9.]+$/ && $2 > 0 { print $1 / $2 }' |
		sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "–"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f (%.2f–%.2f)\n", m, v[1], v[NR]
		}'
}

fails() { grep -c '^FAIL' "$1"; }

# A failed run: say so on stderr with the end of its output, keep the log.
failed_run() {
	local what=$1 log=$2 keep
	progress_end
	say "FAILED: $what; last lines:"
	tail -n 5 "$log" | sed 's/^/    | /' >&2
	keep=/tmp/ember-startup-bench-failed.$$.$(basename "$log")
	cp "$log" "$keep" 2>/dev/null && say "  full output kept in $keep"
}

# ---- the nested benchmarks (nested_bench.sh, debian_bench.sh) ----------------
# nested_timer_build ROOT BUILD: builds BUILD/perf/nested_timer, the timer they run
# in L1 (static musl, the project's flags, warnings as errors), when it is missing or
# older than its source. Status 1 with the compiler's first lines on stdout when that
# fails.
nested_timer_build() {
	local root=$1 timer=$2/perf/nested_timer cflags err
	[[ -x $timer && ! $root/perf/nested_timer.c -nt $timer ]] && return 0
	# shellcheck disable=SC2016 # $(COMMON_CFLAGS) is make's
	cflags=$(make -s --no-print-directory -C "$root" \
		--eval 'nested-print-cflags: ; @echo $(COMMON_CFLAGS)' nested-print-cflags 2>/dev/null)
	[[ -n $cflags ]] || cflags="-std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror"
	mkdir -p "$2/perf"
	# shellcheck disable=SC2086 # cflags is a word list
	err=$(musl-gcc $cflags -O2 -static -o "$timer" "$root/perf/nested_timer.c" 2>&1) && return 0
	head -n 3 <<<"$err" | tr '\n' ' '
	return 1
}

# qemu_l1_files QEMU: the nested-run.sh --file options that put QEMU (the command QEMU)
# into L1 at /usr/bin/qemu-system-x86_64 with its shared libraries (ldd) and microvm's
# qboot firmware (the only data file it opens there, checked with strace), into the
# array QEMU_L1_FILES; QEMU_BIN is its path. Status 1, with the reason in QEMU_L1_WHY,
# when QEMU or the firmware is missing.
# shellcheck disable=SC2034 # QEMU_L1_WHY and QEMU_L1_FILES are the callers'
qemu_l1_files() {
	local share lib
	QEMU_BIN=$(command -v "$1") || {
		QEMU_L1_WHY="$1 not found (it runs L1, and a copy of it runs in L1)"
		return 1
	}
	share=$(dirname "$(dirname "$(readlink -f "$QEMU_BIN")")")/share/qemu
	[[ -f $share/bios-microvm.bin ]] || {
		QEMU_L1_WHY="$share/bios-microvm.bin (microvm's qboot firmware) not found"
		return 1
	}
	QEMU_L1_FILES=(--file "$QEMU_BIN=/usr/bin/qemu-system-x86_64"
		--file "$share/bios-microvm.bin=/usr/share/qemu/bios-microvm.bin"
		--file "$share/bios-microvm.bin=/usr/share/qemu/qboot.rom")
	while read -r lib; do
		QEMU_L1_FILES+=(--file "$lib=$lib")
	done < <(ldd "$QEMU_BIN" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
}

# l2logs_split PREFIX LOG DIR: each "PREFIX l2log FILE LINE" line of the L1 console LOG
# (an L2 console line the L1 hook dumped) appended to DIR/FILE.
l2logs_split() {
	awk -v p="$1" -v d="$3" '$1 == p && $2 == "l2log" {
		f = d "/" $3; line = $0; sub(/^[^ ]+ l2log [^ ]* /, "", line); print line > f }' "$2"
}

# bench_footer T_START LOAD_START: a benchmark's closing Markdown line.
bench_footer() {
	echo "Whole benchmark: $((SECONDS - $1)) s wall. Load average (1, 5, 15 min) at the" \
		"start: $2; at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) host CPUs," \
		"shared with other work)."
	echo
}
