#!/usr/bin/env bash
# `make bench`: every benchmark in perf/, one Markdown report, printed on stdout and
# written to perf/RESULTS.md (rewritten each time, replaced only when the run ends):
# the machine, then irqchip_cost, then virtio_bench.sh. Progress goes to stderr.
# Benchmarks report, they never fail the build: the status is 0 whatever the numbers.
#
# usage: perf/bench.sh [BUILD_DIR]   (default build; needs BUILD_DIR/perf/irqchip_cost,
#                                     BUILD_DIR/ember, BUILD_DIR/guest-min)
# virtio_bench.sh's settings (BENCH_ROUNDS, BENCH_BLK_MIB, ...) pass through.
set -u
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/RESULTS.md
tmp=$(mktemp /tmp/ember-bench.XXXXXX) || exit 1
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
	if [[ -d /sys/module/kvm_pvm ]]; then
		kvm="\`/dev/kvm\` is kvm-pvm, a software-nested hypervisor (PVM): every guest exit,"
		kvm+=" port or MMIO access is slow and a guest runs close to one instruction per"
		kvm+=" microsecond, so absolute figures are far below hardware KVM's."
	elif [[ -d /sys/module/kvm_amd ]]; then
		kvm="\`/dev/kvm\` is hardware KVM (kvm_amd)."
	elif [[ -d /sys/module/kvm_intel ]]; then
		kvm="\`/dev/kvm\` is hardware KVM (kvm_intel)."
	fi
	[[ -n $kvm ]] && echo "$kvm"
	echo
}

irqchip() {
	echo "## irqchip_cost: a VM's life per interrupt-controller choice"
	echo
	echo "Create a VM, register 128 MiB, set up the irqchip, create one vCPU, run two" \
		"instructions, tear it all down; the four modes alternate, 40 rounds (\`perf/irqchip_cost.c\`)."
	echo
	if [[ -x $BUILD/perf/irqchip_cost ]]; then
		echo "irqchip_cost: running" >&2
		"$BUILD/perf/irqchip_cost" || echo "(irqchip_cost failed with status $?: see stderr)"
	else
		echo "SKIP: $BUILD/perf/irqchip_cost is not built"
	fi
	echo
}

{
	machine
	irqchip
	"$here/virtio_bench.sh" "$BUILD"
} | tee "$tmp"
cat "$tmp" >"$out"
exit 0
