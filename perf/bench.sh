#!/usr/bin/env bash
# `make bench`: every benchmark in perf/, one Markdown report, printed on stdout and
# written to perf/RESULTS.md with its chart perf/results.svg (both replaced only when
# the run ends): the machine, a summary, then the floor and cold start, creation rate,
# memory and size (startup_bench.sh), irqchip_cost, virtio devices (virtio_bench.sh),
# snapshots (snapshot_bench.sh), huge pages (huge_pages_bench.sh), Linux under nested KVM (nested_bench.sh, when it
# exists), a whole Debian system booting, ember vs QEMU microvm with ACPI (debian_bench.sh).
# Progress goes to stderr.
# Benchmarks report, they never fail the build: the status is 0 whatever the numbers.
#
# usage: perf/bench.sh [BUILD_DIR]   (default build; needs BUILD_DIR/ember,
#        BUILD_DIR/guest-min, BUILD_DIR/perf/{floor,coldstart,irqchip_cost}: make bench)
# The scripts' settings (BENCH_COLD_ROUNDS, BENCH_RATE_SECONDS, BENCH_ROUNDS, ...) pass
# through; BENCH_SKIP="nested" leaves out the nested Linux part, "debian" the Debian
# boot, "snapshot" the snapshot part. See perf/README.md.
#
# Without a usable /dev/kvm (scripts/kvm-box.sh --host-kvm) the benchmarks that need
# one (start-up, rate, memory, irqchip_cost, virtio, snapshots) run inside the KVM box,
# floor, ember and QEMU microvm all in the same L1: `perf/bench.sh --kvm BUILD_DIR OUT_DIR`
# there writes their sections to OUT_DIR. The nested Linux and Debian parts boot their own
# L1s here.
set -u
kvm_only=
if [[ ${1:-} == --kvm ]]; then
	kvm_only=$3
	shift
fi
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/RESULTS.md
svg=$here/results.svg
tmp=$(mktemp -d /tmp/ember-bench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
t_start=$(date +%s)
step() { echo "bench: [$(($(date +%s) - t_start)) s] $*" >&2; }

machine() {
	local cpu kvm=
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	echo "# ember benchmarks"
	echo
	echo "Written by \`make bench\` (\`perf/bench.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC');" \
		"ember $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo '?')."
	echo "Only the ratios measured within one run mean anything: the machine is shared and noisy."
	echo
	echo "Machine: ${cpu:-unknown CPU}, $(nproc) CPUs," \
		"$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"Linux $(uname -r) ($(uname -m))."
	if grep -qw hypervisor /proc/cpuinfo; then
		echo "It is itself a virtual machine (CPUID hypervisor bit)."
	fi
	if [[ -n ${boxed:-} ]]; then
		kvm="This machine has no usable \`/dev/kvm\`: **these benchmarks ran nested**. The floor, ember"
		kvm+=" and QEMU microvm (start-up, rate, memory, irqchip, virtio, snapshots) ran side by side inside the KVM"
		kvm+=" box (\`scripts/kvm-box.sh\`): an L1 Linux under QEMU TCG, an emulated AMD CPU with SVM"
		kvm+=" and NPT, whose \`/dev/kvm\` is kvm_amd with nested=1 ($(cat "$kvm_dir/l1.txt" 2>/dev/null))."
		kvm+=" Still meaningful there: memory (Rss, Pss, peak RSS), sizes, and the order of"
		kvm+=" the contenders. Only indicative: every time ratio. Under TCG each L2 exit costs an"
		kvm+=" emulated world switch in L1 and L1's own process start-up and page faults are"
		kvm+=" emulated too, so costs shift between the contenders in ways hardware would not"
		kvm+=" show (the floor, for one, is far slower here than on hardware, which narrows"
		kvm+=" ember's distance to it). Absolute times and rates mean nothing."
	elif [[ -d /sys/module/kvm_pvm ]]; then
		kvm="\`/dev/kvm\` is kvm-pvm, a software-nested hypervisor (PVM): every guest exit,"
		kvm+=" port or MMIO access is slow and a guest runs close to one instruction per"
		kvm+=" microsecond, so absolute figures are far below hardware KVM's."
	elif [[ -d /sys/module/kvm_amd ]]; then
		kvm="\`/dev/kvm\` is hardware KVM (kvm_amd)."
	elif [[ -d /sys/module/kvm_intel ]]; then
		kvm="\`/dev/kvm\` is hardware KVM (kvm_intel)."
	fi
	[[ -n $kvm ]] && echo "$kvm"
	echo "Load average (1, 5, 15 min) at the start: $(cut -d' ' -f1-3 /proc/loadavg): other work shares the CPUs with these runs."
	echo
}

irqchip() {
	echo "## irqchip_cost: a VM's life per interrupt-controller choice"
	echo
	echo "Create a VM, register 128 MiB, set up the irqchip, create one vCPU, run two" \
		"instructions, tear it all down; the four modes alternate, 40 rounds (\`perf/irqchip_cost.c\`)."
	echo
	if [[ -x $BUILD/perf/irqchip_cost ]]; then
		"$BUILD/perf/irqchip_cost" || echo "(irqchip_cost failed with status $?: see stderr)"
	else
		echo "SKIP: $BUILD/perf/irqchip_cost is not built"
	fi
	echo
}

nested() {
	local nb=$here/nested_bench.sh rc
	if [[ " ${BENCH_SKIP:-} " == *" nested "* ]]; then
		printf '## Linux under nested KVM\n\nSKIP: BENCH_SKIP\n\n'
		return
	fi
	if [[ ! -x $nb ]]; then
		printf '## Linux under nested KVM\n\nMISSING: perf/nested_bench.sh does not exist yet (or is not executable).\n\n'
		step "perf/nested_bench.sh is missing: no nested Linux section"
		return
	fi
	step "nested Linux: perf/nested_bench.sh $BUILD"
	"$nb" "$BUILD" >"$tmp/nested.md"
	rc=$?
	# Its own heading if it prints one, ours otherwise.
	if ! head -n 1 "$tmp/nested.md" | grep -q '^#'; then
		printf '## Linux under nested KVM (`perf/nested_bench.sh`)\n\n'
	fi
	cat "$tmp/nested.md"
	echo
	((rc == 0)) || printf '(perf/nested_bench.sh ended with status %d: see its stderr)\n\n' "$rc"
}

debian() {
	if [[ " ${BENCH_SKIP:-} " == *" debian "* ]]; then
		printf '## A Debian system in the nested harness\n\nSKIP: BENCH_SKIP\n\n'
		return
	fi
	step "a Debian system, nested: perf/debian_bench.sh $BUILD"
	"$here/debian_bench.sh" "$BUILD"
}

# The chart, from startup_bench.sh's medians; the summary table and the chart go right
# after the machine's description in RESULTS.md.
chart() {
	step "chart: perf/plot.sh"
	if "$here/plot.sh" "$kvm_dir/plot.dat" "$tmp/results.svg" "$(date -u '+%Y-%m-%d'), $(nproc) CPUs"; then
		return 0
	fi
	rm -f "$tmp/results.svg"
	return 1
}

summary_block() {
	echo "## Summary"
	echo
	if [[ -s $kvm_dir/summary ]]; then
		echo "Medians of this run (details in the sections below); \"vs\" compares ember with the floor and with QEMU microvm, all booting guest-min."
		echo
		echo "| measure | floor | ember | QEMU microvm | ember vs floor | ember vs QEMU |"
		echo "|---|---|---|---|---|---|"
		cat "$kvm_dir/summary"
		echo
	else
		echo "(no summary: the start-up benchmarks did not run)"
		echo
	fi
	if [[ -s $tmp/results.svg ]]; then
		echo "![Cold start, creation rate and memory: floor, ember, QEMU microvm](results.svg)"
	else
		echo "(no chart: gnuplot missing or failed, see stderr)"
	fi
	echo
}

# The benchmarks that need /dev/kvm; plot data and summary rows into $1.
kvm_benchmarks() {
	step "cold start, creation rate, memory: perf/startup_bench.sh"
	BENCH_PLOT_DATA=$1/plot.dat BENCH_SUMMARY=$1/summary "$here/startup_bench.sh" "$BUILD"
	step "irqchip_cost"
	irqchip
	step "virtio devices: perf/virtio_bench.sh"
	"$here/virtio_bench.sh" "$BUILD"
	step "snapshots: perf/snapshot_bench.sh"
	"$here/snapshot_bench.sh" "$BUILD"
	step "guest RAM backing: perf/huge_pages_bench.sh"
	"$here/huge_pages_bench.sh" "$BUILD"
}

# In the KVM box: the KVM benchmarks' sections, plot data and summary into $kvm_only.
if [[ -n $kvm_only ]]; then
	echo "$(nproc) vCPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)" >"$kvm_only/l1.txt"
	kvm_benchmarks "$kvm_only" >"$kvm_only/kvm.md"
	exit 0
fi

boxed= kvm_dir=$tmp
if ! "$here/../scripts/kvm-box.sh" --host-kvm; then
	boxed=1
	kvm_dir=$BUILD/bench-box # in the checkout: the box shares it
	rm -rf "$kvm_dir"
	mkdir -p "$kvm_dir"
	step "no usable /dev/kvm here: the KVM benchmarks run in the KVM box (scripts/kvm-box.sh)"
	"$here/../scripts/kvm-box.sh" --timeout 5400 -- "$here/bench.sh" --kvm "$BUILD" "$kvm_dir" >&2 ||
		step "the KVM box ended with status $?"
fi
step "start: $BUILD"
machine >"$tmp/machine.md"
cat "$tmp/machine.md"
{
	if [[ -n $boxed ]]; then
		cat "$kvm_dir/kvm.md" 2>/dev/null || printf '## KVM benchmarks\n\n(none: the KVM box failed, see stderr)\n\n'
	else
		kvm_benchmarks "$tmp"
	fi
	nested
	debian
} | tee "$tmp/body.md"
chart
summary_block | tee "$tmp/summary.md"
{
	cat "$tmp/machine.md" "$tmp/summary.md" "$tmp/body.md"
	echo "Whole run: $(($(date +%s) - t_start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} >"$out"
if [[ -s $tmp/results.svg ]]; then
	cp "$tmp/results.svg" "$svg"
	step "done: $out, $svg"
else
	step "done: $out (no chart)"
fi
exit 0
