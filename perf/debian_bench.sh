#!/usr/bin/env bash
# A whole Debian 12 system booting, ember vs QEMU microvm with ACPI, inside ONE L1 of
# the nested harness (tests/nested/nested-run.sh: QEMU TCG with an emulated AMD SVM
# CPU, a real /dev/kvm). Both monitors boot the same thing, the way
# tests/nested/test-debian.sh does under ember: Debian's cloud kernel (unmodified, it
# finds its machine through each monitor's ACPI tables), Debian's initramfs
# (mkinitramfs with virtio_mmio, virtio_blk and virtio_net), and the Debian root file
# system of scripts/debian-rootfs.sh on virtio-blk, with virtio-net on a TAP where L1
# serves DHCP. Timed in L1 by perf/nested_timer (CLOCK_MONOTONIC) from just before it
# forks the monitor to
#   root mount    the kernel's "EXT4-fs (vda): mounted filesystem" line (the
#                 initramfs mounted the root file system)
#   login prompt  the line /etc/issue puts above the serial login prompt
#   exit          the monitor's exit: the guest powers itself off (ember.bench=poweroff)
# The L1 hook is perf/debian_l1.sh. Under TCG the absolute times mean little: read the
# ratios. A benchmark reports, it never fails on a number: exit status 0 whatever
# happened (the Markdown says SKIP or "k of n runs failed"), 2 only for bad settings.
#
# usage: perf/debian_bench.sh [BUILD_DIR]      (default: $BUILD, else build)
# Markdown on stdout, progress on stderr.
# Environment: BENCH_DEBIAN_ROUNDS (5), BENCH_DEBIAN_VCPUS (1), BENCH_DEBIAN_MEM (MiB,
#   512), BENCH_DEBIAN_RUN_TIMEOUT (s per boot in L1, 400), BENCH_DEBIAN_TIMEOUT (s for
#   the whole L1, 3000), QEMU (the QEMU copied into L1, qemu-system-x86_64),
#   NESTED_WORK (harness work dir, BUILD_DIR/nested), BENCH_DEBIAN_KEEP=1 (keep L1's
#   console and the run directory).
set -u

T_START=$SECONDS
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib.bash
. "$ROOT/perf/lib.bash"
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
EMBER=$BUILD/ember
ROUNDS=${BENCH_DEBIAN_ROUNDS:-5}
VCPUS=${BENCH_DEBIAN_VCPUS:-1}
MEM=${BENCH_DEBIAN_MEM:-512}
RUN_TIMEOUT=${BENCH_DEBIAN_RUN_TIMEOUT:-400}
L1_TIMEOUT=${BENCH_DEBIAN_TIMEOUT:-3000}
QEMU=${QEMU:-qemu-system-x86_64}
KEEP=${BENCH_DEBIAN_KEEP:-0}
MAC=02:00:5e:00:53:12
CMDLINE=ember.bench=poweroff
export NESTED_WORK=${NESTED_WORK:-$BUILD/nested}
export PATH=$PATH:/usr/sbin:/sbin

for v in ROUNDS VCPUS MEM RUN_TIMEOUT L1_TIMEOUT; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "debian_bench: $v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done

say() { echo "debian_bench: $*" >&2; }
skip() {
	echo "SKIP: $*"
	echo
	say "SKIP: $*"
	exit 0
}

echo "## A Debian system in the nested harness: ember vs QEMU microvm (ACPI)"
echo

[[ -x $EMBER ]] || skip "$EMBER is missing (run make)"
KERNEL=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' | sort -V | tail -n1)
[[ -n $KERNEL ]] || skip "no /boot/vmlinuz-*-cloud-amd64 (scripts/host-deps.sh installs linux-image-cloud-amd64)"
qemu_l1_files "$QEMU" || skip "$QEMU_L1_WHY"
command -v musl-gcc >/dev/null || skip "musl-gcc not found (needed for nested_timer)"

TMPD=$(mktemp -d "$NESTED_WORK/debian-bench.XXXXXX" 2>/dev/null || mktemp -d /tmp/ember-debian-bench.XXXXXX) || exit 1
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

say "the Debian root file system (scripts/debian-rootfs.sh) and Debian's initramfs"
"$ROOT/scripts/debian-rootfs.sh" "$TMPD/root.img" >&2 || skip "building the Debian root file system failed"
KVER=${KERNEL#/boot/vmlinuz-}
"$ROOT/scripts/debian-initrd.sh" "$KVER" "$TMPD/initrd.img" 2>"$TMPD/mkinitramfs.err" ||
	skip "Debian's initramfs for $KVER failed: $(tail -n 2 "$TMPD/mkinitramfs.err" | tr '\n' ' ')"

# QEMU's microvm with ACPI (what Debian's kernel needs), no legacy devices ember lacks
# either (PIT, PIC, RTC), no option ROMs; qboot loads the bzImage.
# shellcheck disable=SC2054 # the commas belong to QEMU's options
QEMU_ARGS=(-M microvm,acpi=on,x-option-roms=off,rtc=off,pit=off,pic=off,auto-kernel-cmdline=off
	-enable-kvm -cpu host -nodefaults -no-user-config -display none -no-reboot -serial stdio)
{
	echo "ROUNDS=$ROUNDS"
	echo "VCPUS=$VCPUS"
	echo "MEM=$MEM"
	echo "MAC=$MAC"
	echo "RUN_TIMEOUT=$RUN_TIMEOUT"
	echo "CMDLINE='$CMDLINE'"
	echo "QEMU_ARGS='${QEMU_ARGS[*]}'"
	echo "DUMP_LOGS=$KEEP"
} >"$TMPD/bench.conf"
FILES=("${QEMU_L1_FILES[@]}" --file "$TIMER=/nb/nested_timer" --file "$TMPD/bench.conf=/nb/bench.conf"
	--file "$ROOT/tests/nested/l1-debian.sh=/nb/l1-debian.sh" --l1-hook "$ROOT/perf/debian_l1.sh")

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "booting one L1 (QEMU TCG) for a warm-up boot per monitor and $ROUNDS round(s);" \
	"expect about $(((ROUNDS + 1) * 2 + 1)) minutes"
LOG=$TMPD/console.log
progress() {
	local line mode round c kv
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$LOG"
		case $line in
		"NESTED: /dev/kvm ready") say "L1 is up (/dev/kvm ready)" ;;
		"NESTED: no /dev/kvm") say "L1 has no /dev/kvm" ;;
		"DB: run "*)
			read -r _ _ mode round c kv <<<"$line"
			say "$mode $round/$ROUNDS $c: $(awk '{
				for (i = 1; i <= NF; i++) { split($i, a, "="); kv[a[1]] = a[2] }
				s(kv["interim_ns"], "root mount"); s(kv["marker_ns"], ", login prompt")
				s(kv["exit_ns"], ", exit"); printf ", status %s", kv["status"] }
				function s(v, what) { printf "%s %s", what, v < 0 ? "never" : sprintf("%.1f s", v / 1e9) }' <<<"$kv")" ;;
		"DB: log "* | "DB: skip "*) say "  ${line#DB: }" ;;
		esac
	done
}
: >"$LOG"
KEEP_OPT=()
[[ $KEEP == 1 ]] && KEEP_OPT=(--keep)
"$ROOT/tests/nested/nested-run.sh" --ember "$EMBER" --kernel "$KERNEL" --initrd "$TMPD/initrd.img" \
	--disk "$TMPD/root.img" --tap tap0=10.0.2.1/24 --l1-mem $((MEM + 1024)) \
	--timeout "$L1_TIMEOUT" "${KEEP_OPT[@]}" "${FILES[@]}" -- --version \
	2>"$TMPD/harness.err" | progress
HARNESS_RC=${PIPESTATUS[0]}
say "L1 finished (harness status $HARNESS_RC) after $((SECONDS - T_START)) s in all"
if ! grep -q '^DB: run ' "$LOG"; then
	case $HARNESS_RC in
	2) skip "L1 (QEMU TCG) has no /dev/kvm" ;;
	124) skip "the L1 run timed out after ${L1_TIMEOUT}s before any result" ;;
	*) skip "the nested harness failed (status $HARNESS_RC) before any result: $(tail -n 3 "$TMPD/harness.err" | tr '\n' ' ')" ;;
	esac
fi

# column CONTENDER KEY: one line per round, the KEY of that round's boot in ms (KEY
# *_ns in ns, others in ms already), or
# "-" when the run did not count (both markers seen, exit status 0).
column() {
	local r
	for ((r = 1; r <= ROUNDS; r++)); do
		awk -v c="$1" -v key="$2" -v r="$r" '
			$1 == "DB:" && $2 == "run" && $3 == "boot" && $4 == r && $5 == c {
				delete kv
				for (i = 6; i <= NF; i++) { split($i, a, "="); kv[a[1]] = a[2] }
				if (kv["user_ms"] != "") kv["cpu_ms"] = kv["user_ms"] + kv["sys_ms"]
				ok = kv["status"] == "0" && kv["marker_ns"] >= 0 && kv["interim_ns"] >= 0
				v = !ok || kv[key] == "" || kv[key] < 0 ? "-" : key ~ /_ns$/ ? sprintf("%.0f", kv[key] / 1e6) : kv[key]
			}
			END { print v == "" ? "-" : v }' "$LOG"
	done
}
info() { sed -n "s/^DB: info $1 //p" "$LOG" | head -n1; }
QEMU_VERSION=$(info qemu)
echo "One L1 of the nested harness (\`tests/nested/nested-run.sh\`): QEMU TCG on the host" \
	"with an emulated AMD CPU with SVM and NPT (\`-cpu EPYC,+svm,+npt,+erms\`), $(info l1_cpus) vCPU," \
	"$((MEM + 1024)) MiB, Debian's cloud kernel $(info l1_kernel) with \`kvm-amd\`. Inside it," \
	"after one untimed warm-up boot each, $ROUNDS round(s) in which ember and" \
	"${QEMU_VERSION:-QEMU} (\`${QEMU_ARGS[*]}\`, its libraries and qboot copied into L1) boot" \
	"the same Debian 12 system, the first contender alternating from round to round:" \
	"Debian's cloud kernel $KVER (unmodified bzImage; ACPI tables from each monitor)," \
	"Debian's initramfs (\`mkinitramfs\` with \`virtio_mmio\`, \`virtio_blk\` and \`virtio_net\`)," \
	"the root file system of \`scripts/debian-rootfs.sh\` (debootstrap minbase with systemd, ext4)" \
	"on virtio-blk (ember: \`engine=async\`, io_uring; QEMU: its defaults, a thread pool and" \
	"the page cache), virtio-net on a TAP where L1's udhcpd answers systemd-networkd, $VCPUS" \
	"vCPU(s), $MEM MiB, the kernel's whole boot log and systemd's status on the serial console." \
	"Both guests' command line: \`console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw $CMDLINE\`" \
	"(ember adds its \`virtio_mmio.device=\` and \`ember.*\` words; the kernel ignores the former" \
	"when ACPI declares the devices). Every boot uses the same disk; each ends with the guest's own" \
	"poweroff (\`ember.bench=poweroff\`), so the next one finds a clean file system."
echo
echo "Seconds from just before \`perf/nested_timer\` forks the monitor in L1 to: the kernel's" \
	"\`EXT4-fs (vda): mounted filesystem\` line (the initramfs mounted the root), the" \
	"\`ember-debian: login prompt on ttyS0\` line of \`/etc/issue\` (agetty's login prompt) and" \
	"the monitor's exit after the guest's poweroff; and the L2 kernel's own clock on its" \
	"root mount line: the guest's share of the time to it (the rest is the monitor's setup," \
	"the firmware, qboot for QEMU, and the kernel before its clock starts); and the CPU time" \
	"the monitor used, user and system, from its exec to its exit (wait4's rusage: a KVM" \
	"guest's time counts as its vCPU threads' user time). QEMU ÷ ember > 1 means ember is faster (or used less CPU):" \
	"the ratio of the medians, and the median (min–max) of the ratios of each round's two runs."
echo
echo "| to, contender | median | min | max | QEMU ÷ ember (medians) | QEMU ÷ ember per round |"
echo "|---|---|---|---|---|---|"
for spec in "interim_ns:root mount" "kernel_mount_ms:L2 kernel clock at the root mount" \
	"marker_ns:login prompt" "exit_ns:exit after poweroff" \
	"cpu_ms:the monitor's CPU time, the guest's included, exec to exit"; do
	key=${spec%%:*} label=${spec#*:}
	column ember "$key" >"$TMPD/ember"
	column qemu "$key" >"$TMPD/qemu"
	for c in ember qemu; do
		read -r med min max n <<<"$(stats "$TMPD/$c" 1000)"
		name=ember
		[[ $c == qemu ]] && name="QEMU microvm"
		note=
		((n < ROUNDS)) && note=" ($((ROUNDS - n)) of $ROUNDS runs failed)"
		if [[ $c == ember ]]; then
			echo "| **$label**: $name$note | $med | $min | $max | | |"
		else
			echo "| $label: $name$note | $med | $min | $max | $(ratio "$TMPD/qemu" "$TMPD/ember") | $(round_ratio "$TMPD/qemu" "$TMPD/ember") |"
		fi
	done
done
echo
echo "Read the per-round ratios first. Under nested TCG the same boot by the same monitor" \
	"takes from about 15 to 50 s to the root mount; the spread is all in L1's kernel time" \
	"for the monitor (\`sys_ms\` in the kept console), not in the guest's user time or in" \
	"L1's idle time, and it follows the VM's place in L1, not the monitor: in every run so" \
	"far the 1st and the 6th VM started in a fresh L1 were fast, the 11th half-way. With" \
	"this order those are ember's warm-up, round 2 and round 5, so each contender's median" \
	"leans towards ember; a round's ratio compares two neighbouring slots."
echo
grep -q '^DB: skip ' "$LOG" && { sed -n 's/^DB: skip \(.*\)/Skipped: \1./p' "$LOG"; echo; }
if ! grep -q '^DB: done' "$LOG"; then
	echo "The L1 run ended before all rounds were done (harness status $HARNESS_RC): the table" \
		"holds what came back."
	echo
fi
bench_footer "$T_START" "$LOAD_START"
if [[ $KEEP == 1 ]]; then
	# Every L2 console, one file each, next to the L1 console.
	l2logs_split DB: "$LOG" "$TMPD"
	say "console log: $LOG; L2 consoles: $TMPD/*.*.*.log"
fi
exit 0
