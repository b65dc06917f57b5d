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
