#!/usr/bin/env bash
# The chart of `make bench`: perf/startup_bench.sh's medians (BENCH_PLOT_DATA) as three
# bar charts in one SVG, drawn by gnuplot: cold start (exec -> first serial byte and
# exec -> exit, with the ratio to the floor), creation rate (1 and 2 at a time), and
# memory without guest RAM. Log scales: the contenders differ by orders of magnitude.
#
# usage: perf/plot.sh PLOT_DATA OUT.svg [SUBTITLE]
# PLOT_DATA lines: "cold first|exit NAME MEDIAN MIN MAX", "rate JOBS NAME VMS_S MIN MAX",
# "mem NAME KIB". Status 0 when the SVG was written, 1 otherwise (with a line on stderr).
set -u
data=$1 out=$2 sub=${3:-}
if ! command -v gnuplot >/dev/null; then
	echo "plot: gnuplot is missing (scripts/host-deps.sh installs gnuplot-nox)" >&2
	exit 1
fi
[[ -s $data ]] || { echo "plot: no data in $data" >&2; exit 1; }

get() { awk -v k="$1" '{ key = $1 " " $2 " " $3 } key == k { print $4; exit }' "$data"; }
getm() { awk -v k="$1" '$1 == "mem" && $2 == k { print $3; exit }' "$data"; }
num() { [[ ${1:-} =~ ^[0-9.]+$ ]] && awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }
# short V: 3 significant digits at most ("4.88", "65.3", "682"); times A B: "×7.2", "×96".
short() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r >= 10) printf "×%.0f", r; else printf "×%.1f", r }'; }
top=0
see() { top=$(awk -v t="$top" -v v="$1" 'BEGIN { print (v > t ? v : t) }'); }

# Cold start: groups at x = 0, 1, 2, 3; first byte at x - 0.18, exit at x + 0.18.
cold=() ticks=() x=0
fl_first=$(get "cold first floor")
fl_exit=$(get "cold exit floor")
for name in floor ember ember-exit qemu; do
	case $name in
	floor) tic="floor" ;;
	ember) tic="ember\\nhello" ;;
	ember-exit) tic="ember\\nexit 0" ;;
	qemu) tic="QEMU\\nhello" ;;
	esac
	f=$(get "cold first $name") e=$(get "cold exit $name")
	num "$e" || continue
	if num "$f"; then
		r=$(times "$f" "$fl_first")
		[[ $name == floor ]] && r=""
		cold+=("$(awk -v x="$x" 'BEGIN { printf "%.2f", x - 0.18 }') $f 1 \"$(short "$f")${r:+\\n$r}\"")
	fi
	r=$(times "$e" "$fl_exit")
	[[ $name == floor ]] && r=""
	cold+=("$(awk -v x="$x" 'BEGIN { printf "%.2f", x + 0.18 }') $e 2 \"$(short "$e")${r:+\\n$r}\"")
	see "$e"; num "$f" && see "$f"
	ticks+=("\"$tic\" $x")
	x=$((x + 1))
done
ncold=$x cold_top=$top top=0

rate=() rticks=() x=0
for name in floor ember qemu; do
	case $name in floor) tic=floor ;; ember) tic=ember ;; qemu) tic="QEMU microvm" ;; esac
	a=$(get "rate 1 $name") b=$(get "rate 2 $name")
	num "$a" || num "$b" || continue
	num "$a" && rate+=("$(awk -v x="$x" 'BEGIN { printf "%.2f", x - 0.18 }') $a 3 \"$(short "$a")\"") && see "$a"
	num "$b" && rate+=("$(awk -v x="$x" 'BEGIN { printf "%.2f", x + 0.18 }') $b 4 \"$(short "$b")\"") && see "$b"
	rticks+=("\"$tic\" $x")
	x=$((x + 1))
done
nrate=$x rate_top=$top top=0

mem=() mticks=() x=0 em=$(getm ember-idle)
for name in ember-idle qemu-idle; do
	v=$(getm "$name")
	num "$v" || continue
	lab=$(awk -v v="$v" 'BEGIN { if (v >= 10240) printf "%.1f MiB", v / 1024; else printf "%d KiB", v }')
	[[ $name == qemu-idle ]] && num "$em" && lab+="\\n$(times "$v" "$em") ember"
	mem+=("$x $v 5 \"$lab\"")
	[[ $name == ember-idle ]] && mticks+=("\"ember\" $x") || mticks+=("\"QEMU microvm\" $x")
	see "$v"
	x=$((x + 1))
done
nmem=$x mem_top=$top
((ncold + nrate + nmem > 0)) || { echo "plot: nothing to draw" >&2; exit 1; }

join() { local IFS=,; echo "$*"; }
tmp=$(mktemp /tmp/ember-plot.XXXXXX.svg) || exit 1
{
	cat <<EOF
set terminal svg size 1260,480 dynamic font "sans,11" background "white"
set output "$tmp"
set multiplot layout 1,3 title "ember benchmarks: medians of one run${sub:+ ($sub)}" font "sans,13"
set style fill solid 0.85 border -1
set boxwidth 0.34
set logscale y
set grid ytics lc rgb "#dddddd"
set key off
set border 3
set bmargin 4
set xtics nomirror scale 0 font "sans,9"
set ytics nomirror
set linetype 1 lc rgb "#4e79a7"
set linetype 2 lc rgb "#f28e2b"
set linetype 3 lc rgb "#59a14f"
set linetype 4 lc rgb "#b07aa1"
set linetype 5 lc rgb "#e15759"
EOF
	printf '$cold << EOD\n'; printf '%s\n' "${cold[@]}"; printf 'EOD\n'
	printf '$rate << EOD\n'; printf '%s\n' "${rate[@]}"; printf 'EOD\n'
	printf '$mem << EOD\n'; printf '%s\n' "${mem[@]}"; printf 'EOD\n'
	cat <<EOF
set title "Cold start, ms (log scale)\nblue: exec → first serial byte, orange: exec → exit; ×: vs the floor"
set xrange [-0.6:$ncold - 0.4]
set yrange [0.1:$cold_top * 5]
set xtics ($(join "${ticks[@]}"))
plot \$cold using 1:2:3 with boxes lc variable, '' using 1:2:4 with labels offset 0,1.2 font "sans,8"
set title "Creation rate, VMs/s (log scale)\ngreen: 1 at a time, purple: 2 at a time"
set xrange [-0.6:$nrate - 0.4]
set yrange [1:$rate_top * 3]
set xtics ($(join "${rticks[@]}"))
plot \$rate using 1:2:3 with boxes lc variable, '' using 1:2:4 with labels offset 0,0.7 font "sans,8"
set title "Resident memory without guest RAM\nguest-min idle, KiB (log scale)"
set xrange [-0.6:$nmem - 0.4]
set yrange [10:$mem_top * 4]
set boxwidth 0.5
set xtics ($(join "${mticks[@]}"))
plot \$mem using 1:2:3 with boxes lc variable, '' using 1:2:4 with labels offset 0,1.3 font "sans,9"
unset multiplot
EOF
} >"$tmp.gp"
if ! gnuplot "$tmp.gp" 2>"$tmp.err" || [[ ! -s $tmp ]]; then
	echo "plot: gnuplot failed: $(head -n 5 "$tmp.err")" >&2
	rm -f "$tmp" "$tmp.gp" "$tmp.err"
	exit 1
fi
mv "$tmp" "$out" && chmod 644 "$out"
rm -f "$tmp.gp" "$tmp.err"
exit 0
