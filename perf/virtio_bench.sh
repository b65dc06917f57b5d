#!/usr/bin/env bash
# Device throughput, ember vs QEMU microvm, the same guest (guest-min) side by side:
#   blk  guest-min `blk N`: write N MiB (+ FLUSH), read them back; MB/s of each half
#   net  guest-min `net COUNT`: ICMP echo over a TAP to the host; packets/s
# Contenders alternate within every round (ember, qemu, ember, qemu, ..., the starting
# one rotating from round to round) and are reported as medians with min and max over
# the rounds, plus ember ÷ QEMU, because these machines are noisy: only ratios measured
# in one run mean anything. A benchmark reports, it never fails on a number: the exit
# status is 0 unless the script was called wrongly.
#
# usage: perf/virtio_bench.sh [BUILD_DIR]      (default: $BUILD, else build)
# Markdown on stdout, one progress line per VM run on stderr.
# Environment: BENCH_ROUNDS (7), BENCH_BLK_MIB (4), BENCH_NET_COUNT (400),
#   BENCH_TIMEOUT (seconds per VM run, 120), QEMU (qemu-system-x86_64),
#   BENCH_SKIP (space-separated: blk net qemu).
set -u
# shellcheck source=perf/lib.bash
. "$(dirname "$0")/lib.bash" # round_ratio; this script keeps its own stats (one decimal)

BUILD=${1:-${BUILD:-build}}
EMBER=$BUILD/ember
GUEST=$BUILD/guest-min
ROUNDS=${BENCH_ROUNDS:-7}
BLK_MIB=${BENCH_BLK_MIB:-4}
NET_COUNT=${BENCH_NET_COUNT:-400}
RUN_TIMEOUT=${BENCH_TIMEOUT:-120}
QEMU=${QEMU:-qemu-system-x86_64}
SKIP=" ${BENCH_SKIP:-} "
IMG_MIB=64
MEM_MIB=128

for v in ROUNDS BLK_MIB NET_COUNT RUN_TIMEOUT; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "virtio_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
if ((BLK_MIB + 0 > IMG_MIB)); then
	echo "virtio_bench: BENCH_BLK_MIB must be at most $IMG_MIB" >&2
	exit 2
fi

say() { echo "virtio_bench: $*" >&2; }

echo "## virtio devices: ember vs QEMU microvm"
echo
if [[ ! -x $EMBER || ! -f $GUEST ]]; then
	echo "SKIP: $EMBER or $GUEST is missing (run make first)"
	say "SKIP: $EMBER or $GUEST is missing"
	exit 0
fi
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: /dev/kvm is not usable here"
	say "SKIP: /dev/kvm is not usable here"
	exit 0
fi

TMPD=$(mktemp -d /tmp/ember-virtio-bench.XXXXXX) || exit 1
TAP=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[[ -n $TAP ]] && ip link del "$TAP" 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Same clock for both: ember hands guest-min its TSC frequency (ember.tsc_khz=); under
# QEMU guest-min would take it from KVM's pvclock, so QEMU gets the same number as
# gm.tsc_khz=, which guest-min prefers to the pvclock.
TSC_KHZ=$("$EMBER" --kernel "$GUEST" --cmdline echo </dev/null 2>/dev/null |
	sed -n 's/.*ember\.tsc_khz=\([0-9]*\).*/\1/p')
if [[ -z $TSC_KHZ ]]; then
	echo "SKIP: \`$EMBER --kernel $GUEST --cmdline echo\` did not show ember.tsc_khz"
	say "SKIP: cannot read ember.tsc_khz from guest-min echo"
	exit 0
fi

HAVE_QEMU=1
QEMU_VERSION=
if [[ $SKIP == *" qemu "* ]]; then
	HAVE_QEMU=0 QEMU_NOTE="skipped (BENCH_SKIP)"
elif ! QEMU_VERSION=$("$QEMU" --version 2>/dev/null | head -n1); then
	HAVE_QEMU=0 QEMU_NOTE="$QEMU not found"
fi
# shellcheck disable=SC2054 # the commas belong to QEMU's options
QEMU_BASE=(-M microvm,x-option-roms=off,rtc=off,acpi=off,pit=off,pic=off
	-enable-kvm -cpu host,-arch-capabilities -nodefaults -no-user-config
	-nographic -no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4
	-global virtio-mmio.force-legacy=false -m "$MEM_MIB")

# run_vm NAME LOG EXPECTED_RC CMD...: one VM run, output in LOG; prints the wall
# seconds; status 0 when the VM exited with EXPECTED_RC (QEMU's isa-debug-exit turns
# guest status v into (v << 1) | 1).
run_vm() {
	local name=$1 log=$2 want=$3 t0 t1 rc
	shift 3
	t0=$(date +%s%N)
	timeout -k 5 "$RUN_TIMEOUT" "$@" </dev/null >"$log" 2>&1
	rc=$?
	t1=$(date +%s%N)
	sed -i 's/\r$//' "$log" # guest-min's serial sends \r\n
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
	if ((rc == 124 || rc == 137)); then
		echo "[timed out after ${RUN_TIMEOUT} s]" >>"$log"
		return 1
	fi
	if ((rc != want)); then
		echo "[exit status $rc, expected $want]" >>"$log"
		return 1
	fi
	return 0
}

# A failed run: say so on stderr with the end of its output, keep the log.
failed_run() {
	local what=$1 log=$2
	say "  FAILED: $what; last lines:"
	tail -n 5 "$log" | sed 's/^/    | /' >&2
	local keep
	keep=/tmp/ember-virtio-bench-failed.$$.$(basename "$log")
	cp "$log" "$keep" 2>/dev/null && say "  full output kept in $keep"
}

# stats FILE: "median min max n" over the numeric lines of FILE ("-" when none).
stats() {
	grep -E '^[0-9.]+$' "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f %d\n", m, v[1], v[NR], NR
		}'
}

# ratios A B: ember ÷ QEMU, "of medians | per round: median (min–max)".
ratios() {
	local a b
	read -r a _ <<<"$(stats "$1")"
	read -r b _ <<<"$(stats "$2")"
	if [[ $a == - || $b == - ]]; then
		echo "– | –"
		return
	fi
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f | ", a / b }'
	round_ratio "$1" "$2"
}

# row LABEL FILE [EMBER_FILE]: one table row; with EMBER_FILE, the ratio columns.
row() {
	local label=$1 f=$2 med min max n fails
	read -r med min max n <<<"$(stats "$f")"
	fails=$(grep -c '^FAIL' "$f")
	((fails > 0)) && label="$label ($fails of $((n + fails)) runs failed)"
	if [[ $# -ge 3 ]]; then
		echo "| $label | $med | $min | $max | $(ratios "$3" "$f") |"
	else
		echo "| $label | $med | $min | $max | | |"
	fi
}

echo "ember $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo '?')" \
	"(\`$EMBER\`), guest-min \`$GUEST\`, ${QEMU_VERSION:-QEMU: ${QEMU_NOTE:-?}};" \
	"$ROUNDS rounds, contenders alternating, the first one rotating per round," \
	"after one untimed warm-up run each. Both monitors give the guest $MEM_MIB MiB and one vCPU."
echo "Times are guest-min's own (TSC), at $TSC_KHZ kHz under both monitors: ember passes" \
	"\`ember.tsc_khz=$TSC_KHZ\`, QEMU's guest gets \`gm.tsc_khz=$TSC_KHZ\` on its command line."
echo "Higher is better; \"ember ÷ QEMU\" > 1 means ember is faster: the ratio of the" \
	"medians, and the median (min–max) of the ratios of runs next to each other in the same round."
echo

# ---------------------------------------------------------------- blk
blk_bench() {
	local img=$TMPD/disk.img
	if ! dd if=/dev/zero of="$img" bs=1M count=$IMG_MIB conv=fsync status=none; then
		echo "SKIP blk: cannot create a $IMG_MIB MiB image in $TMPD"
		say "SKIP blk: cannot create the image"
		return
	fi
	local names=(ember-sync) labels=("ember \`engine=sync\`")
	if ((HAVE_QEMU)); then
		names=(ember-sync qemu-threads ember-async qemu-io_uring)
		labels=("ember \`engine=sync\`" "QEMU \`cache=writeback,aio=threads\`"
			"ember \`engine=async\`" "QEMU \`cache=writeback,aio=io_uring\`")
	else
		names=(ember-sync ember-async)
		labels=("ember \`engine=sync\`" "ember \`engine=async\`")
	fi
	local k=${#names[@]} r i idx name log wall mbs qemu_tsc=
	for name in "${names[@]}"; do : >"$TMPD/blk-w.$name"; : >"$TMPD/blk-r.$name"; done

	blk_cmd() { # NAME TSC_PARAM -> CMD array
		case $1 in
		ember-sync | ember-async)
			CMD=("$EMBER" --kernel "$GUEST" --mem "$MEM_MIB" --cmdline "blk $BLK_MIB"
				--drive "path=$img,engine=${1#ember-}")
			WANT=0 ;;
		qemu-*)
			# shellcheck disable=SC2054
			CMD=("$QEMU" "${QEMU_BASE[@]}"
				-drive "id=d0,file=$img,format=raw,if=none,cache=writeback,aio=${1#qemu-}"
				-device virtio-blk-device,drive=d0 -kernel "$GUEST" -append "blk $BLK_MIB$2")
			WANT=1 ;;
		esac
	}
	# Warm-up; QEMU's first run without gm.tsc_khz shows what its own clock says.
	for name in "${names[@]}"; do
		log=$TMPD/blk-warm.$name.log
		if [[ $name == qemu-* && -z $qemu_tsc ]]; then blk_cmd "$name" ""; else blk_cmd "$name" " gm.tsc_khz=$TSC_KHZ"; fi
		wall=$(run_vm "$name" "$log" "$WANT" "${CMD[@]}") || failed_run "blk warm-up $name" "$log"
		say "blk warm-up: $name ${wall}s: $(grep -E '^blk: (wrote|tsc)' "$log" | tr '\n' ' ')"
		[[ $name == qemu-* && -z $qemu_tsc ]] &&
			qemu_tsc=$(sed -n 's/^blk: tsc \(.*\)/\1/p' "$log" | head -n1) && qemu_tsc=${qemu_tsc:-?}
	done
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < k; i++)); do
			idx=$(((i + r) % k))
			name=${names[$idx]}
			log=$TMPD/blk.$name.$r.log
			blk_cmd "$name" " gm.tsc_khz=$TSC_KHZ"
			if wall=$(run_vm "$name" "$log" "$WANT" "${CMD[@]}") &&
				mbs=$(sed -n 's/^blk: wrote .* (\([0-9.]*\) MB\/s), read .* (\([0-9.]*\) MB\/s), checksum .* ok$/\1 \2/p' "$log") &&
				[[ -n $mbs ]] && grep -q "^blk: tsc $TSC_KHZ kHz" "$log"; then
				echo "${mbs% *}" >>"$TMPD/blk-w.$name"
				echo "${mbs#* }" >>"$TMPD/blk-r.$name"
				say "blk round $((r + 1))/$ROUNDS: $name: write ${mbs% *} MB/s, read ${mbs#* } MB/s (${wall}s wall)"
			else
				echo FAIL >>"$TMPD/blk-w.$name"
				echo FAIL >>"$TMPD/blk-r.$name"
				failed_run "blk round $((r + 1)) $name (${wall}s)" "$log"
			fi
		done
	done

	echo "### blk: guest-min \`blk $BLK_MIB\`"
	echo
	echo "Writes $BLK_MIB MiB (128 KiB requests, 8 in flight) and a FLUSH, reads them back" \
		"and checks every byte; a fresh $IMG_MIB MiB raw image on $(df -PT "$TMPD" | awk 'NR == 2 { print $2 }')" \
		"in \`/tmp\`, zero-filled first, shared by all contenders. Only the I/O is timed, so" \
		"each half is the device, the monitor and the host file system together; the" \
		"write half includes the FLUSH (\`fdatasync\` on the host)."
	echo "Counterparts: ember opens the image without \`O_DIRECT\` (host page cache) and" \
		"flushes with \`fdatasync\`, so QEMU runs \`cache=writeback\`; ember's \`sync\` engine" \
		"(\`preadv\`/\`pwritev\` on the notifying thread) faces QEMU's \`aio=threads\`, its" \
		"\`async\` engine (io_uring) QEMU's \`aio=io_uring\`."
	[[ -n $qemu_tsc ]] && echo "(QEMU's guest, left to itself, read its TSC as $qemu_tsc.)"
	((HAVE_QEMU)) || echo "QEMU: ${QEMU_NOTE}; ember alone."
	echo
	local half f
	for half in w r; do
		[[ $half == w ]] && echo "write (+ FLUSH), MB/s:" || echo "read, MB/s:"
		echo
		echo "| contender | median | min | max | ember ÷ QEMU (medians) | ember ÷ QEMU per round |"
		echo "|---|---|---|---|---|---|"
		for i in "${!names[@]}"; do
			name=${names[$i]}
			f=$TMPD/blk-$half.$name
			case $name in
			qemu-threads) row "${labels[$i]}" "$f" "$TMPD/blk-$half.ember-sync" ;;
			qemu-io_uring) row "${labels[$i]}" "$f" "$TMPD/blk-$half.ember-async" ;;
			*) row "${labels[$i]}" "$f" ;;
			esac
		done
		echo
	done
}

# ---------------------------------------------------------------- net
net_bench() {
	local why=
	if [[ $(id -u) != 0 ]]; then
		why="needs root (a TAP, an address, a static neighbour)"
	elif [[ ! -c /dev/net/tun ]]; then
		why="/dev/net/tun is missing"
	elif ! command -v ip >/dev/null; then
		why="iproute2 (ip) is missing"
	fi
	# A /24 that nothing here routes directly: 10.201.x.0/24, x from 0 up.
	local x net=
	for ((x = 0; x < 256; x++)); do
		[[ -n $why ]] && break
		ip -4 -o addr show | grep -q " 10\.201\.$x\." && continue
		ip route get "10.201.$x.1" 2>/dev/null | grep -q ' via ' || continue
		net=10.201.$x
		break
	done
	[[ -z $why && -z $net ]] && why="no free 10.201.x.0/24 subnet"
	local tap=ebn$$ mac err
	mac=52:54:00:eb:$(printf '%02x:%02x' $((($$ >> 8) & 255)) $(($$ & 255)))
	if [[ -z $why ]]; then
		if err=$(ip tuntap add dev "$tap" mode tap 2>&1); then
			TAP=$tap
			sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null
			err=$({ ip addr add "$net.1/24" dev "$tap" &&
				ip link set "$tap" up &&
				ip neigh replace "$net.2" lladdr "$mac" dev "$tap" nud permanent; } 2>&1) ||
				why="cannot set up TAP $tap: $err"
		else
			why="cannot create a TAP: $err"
		fi
	fi
	echo "### net: guest-min \`net $NET_COUNT\`"
	echo
	if [[ -n $why ]]; then
		echo "SKIP: $why"
		echo
		say "SKIP net: $why"
		return
	fi
	local names=(ember) labels=(ember)
	((HAVE_QEMU)) && names=(ember qemu) labels=(ember "QEMU \`virtio-net-device\`, \`vhost=off\`")
	local k=${#names[@]} r i name log wall pps params="net.ip=$net.2 net.peer=$net.1"
	for name in "${names[@]}"; do : >"$TMPD/net.$name"; done
	net_cmd() {
		case $1 in
		ember)
			CMD=("$EMBER" --kernel "$GUEST" --mem "$MEM_MIB" --cmdline "net $NET_COUNT $params"
				--net "tap=$tap,mac=$mac")
			WANT=0 ;;
		qemu)
			CMD=("$QEMU" "${QEMU_BASE[@]}"
				-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
				-device "virtio-net-device,netdev=n0,mac=$mac" -kernel "$GUEST"
				-append "net $NET_COUNT $params gm.tsc_khz=$TSC_KHZ")
			WANT=1 ;;
		esac
	}
	for name in "${names[@]}"; do
		log=$TMPD/net-warm.$name.log
		net_cmd "$name"
		wall=$(run_vm "$name" "$log" "$WANT" "${CMD[@]}") || failed_run "net warm-up $name" "$log"
		say "net warm-up: $name ${wall}s: $(grep '^net: sent' "$log")"
	done
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < k; i++)); do
			name=${names[$(((i + r) % k))]}
			log=$TMPD/net.$name.$r.log
			net_cmd "$name"
			if wall=$(run_vm "$name" "$log" "$WANT" "${CMD[@]}") &&
				pps=$(sed -n "s/^net: sent $NET_COUNT, received $NET_COUNT echo replies in [0-9]* us (\([0-9]*\) packets\/s)$/\1/p" "$log") &&
				[[ -n $pps ]] && grep -q "^net: tsc $TSC_KHZ kHz" "$log"; then
				echo "$pps" >>"$TMPD/net.$name"
				say "net round $((r + 1))/$ROUNDS: $name: $pps packets/s (${wall}s wall)"
			else
				echo FAIL >>"$TMPD/net.$name"
				failed_run "net round $((r + 1)) $name (${wall}s)" "$log"
			fi
		done
	done
	echo "$NET_COUNT ICMP echo requests (32-byte payload, 32 outstanding) from the guest" \
		"($net.2, \`$mac\`) to the host's end of a TAP ($net.1, static neighbour entry," \
		"IPv6 off on the TAP); the host kernel answers. Every reply is checked. Both" \
		"monitors attach to the same TAP in turn; QEMU without vhost, i.e. its virtio-net" \
		"in user space like ember's."
	((HAVE_QEMU)) || echo "QEMU: ${QEMU_NOTE}; ember alone."
	echo
	echo "packets/s (echo round trips):"
	echo
	echo "| contender | median | min | max | ember ÷ QEMU (medians) | ember ÷ QEMU per round |"
	echo "|---|---|---|---|---|---|"
	row ember "$TMPD/net.ember"
	((HAVE_QEMU)) && row "${labels[1]}" "$TMPD/net.qemu" "$TMPD/net.ember"
	echo
	ip link del "$tap" 2>/dev/null
	TAP=
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ $SKIP == *" blk "* ]]; then
	echo "### blk"; echo; echo "SKIP: BENCH_SKIP"; echo
else
	blk_bench
fi
if [[ $SKIP == *" net "* ]]; then
	echo "### net"; echo; echo "SKIP: BENCH_SKIP"; echo
else
	net_bench
fi
echo "Load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)" \
	"($(nproc) CPUs): other work on the machine shares the CPUs with these runs."
echo
exit 0
