#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed, N skipped".
#   structure       scripts/include-graph.sh --check: no include cycle between folders;
#                   scripts/architecture.sh: the README's pictures match the code
#   unit tests      build/unit-tests (Criterion, glibc + ASan/UBSan)
#   integration     tests/integration/*.sh, against build/ember and build/ember-asan
#   fuzz            build/fuzz/fuzz_api and build/fuzz/fuzz_virtio (libFuzzer), each for
#                   FUZZ_SECONDS (default 60)
#   nested          tests/nested/test-*.sh: Linux guests under QEMU-TCG nested KVM
# A test script prints PASS:/FAIL:/SKIP: lines (one per case) and exits 0, 1 or 77.
# TESTS_NO_NESTED=1 leaves the nested tests out (make check).
# Without a usable /dev/kvm (scripts/kvm-box.sh --host-kvm) the integration tests run
# inside the KVM box, a nested-KVM L1 under QEMU TCG, with the same lines and counts.
# tests/run.sh --integration runs the integration tests alone (what the box runs).
set -u
cd "$(dirname "$0")/.."

pass=0 fail=0 skip=0
failed_names=()

count_lines() { # $1: output of a script, $2: its exit status, $3: its name
	local out=$1 rc=$2 name=$3 p f s
	p=$(grep -c '^PASS:' <<<"$out"); f=$(grep -c '^FAIL:' <<<"$out"); s=$(grep -c '^SKIP:' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name: exited $rc without saying why"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_names+=("$name")
	return 0
}

run_script() { # $1: script, $2: label, rest: env assignments
	local script=$1 label=$2 out rc
	shift 2
	out=$(env "$@" timeout 900 bash "$script" 2>&1); rc=$?
	[ $rc -eq 124 ] && out+=$'\n'"FAIL: $label: timed out"
	sed "s/^\(PASS\|FAIL\|SKIP\): /\1: $label: /" <<<"$out" | grep -E '^(PASS|FAIL|SKIP):|^  ' || true
	count_lines "$out" "$rc" "$label"
}

# The unit suites that boot guest-min on /dev/kvm (tests/unit/test_vm_lifecycle.c).
UNIT_KVM_SUITES='vm_*'
unit_tested=0
count_unit() { # $1: Criterion's output, $2: its exit status, $3: label
	local out=$1 rc=$2 label=$3 synth ut up uf uc
	grep -E 'Synthesis|\[FAIL\]|ERROR|runtime error' <<<"$out"
	synth=$(grep -o 'Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' <<<"$out" | tail -1)
	if [ -z "$synth" ]; then
		echo "FAIL: $label: no Criterion summary (exit $rc)"
		fail=$((fail + 1)); failed_names+=("$label")
		return
	fi
	read -r ut up uf uc < <(tr -cs '0-9' ' ' <<<"$synth")
	unit_tested=$((unit_tested + ut)); pass=$((pass + up)); fail=$((fail + uf + uc))
	[ $((uf + uc)) -gt 0 ] && failed_names+=("$label")
	return 0
}

run_unit() { # $1: label, rest: Criterion options
	local label=$1 out rc
	shift
	out=$(build/unit-tests --jobs 2 "$@" 2>&1); rc=$?
	count_unit "$out" "$rc" "$label"
}

run_integration() {
	local bin t name
	for bin in build/ember build/ember-asan; do
		for t in tests/integration/*.sh; do
			name=$(basename "$t" .sh)
			[ "$bin" = build/ember-asan ] && name="$name[asan]"
			run_script "$t" "$name" EMBER="$bin"
		done
	done
}

summary() {
	[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}

# What needs KVM, in the KVM box (tests/run.sh --kvm there): its output streams
# through; its Criterion synthesis and PASS/FAIL/SKIP lines are counted here; a box
# that fails on its own is one FAIL.
run_kvm_tests_in_box() {
	local log rc p f s
	log=$(mktemp)
	scripts/kvm-box.sh --timeout 3000 -- tests/run.sh --kvm 2>&1 | tee "$log" |
		grep --line-buffered -E '^(PASS|FAIL|SKIP):|^  |^kvm-box:|Synthesis|\[FAIL\]'
	rc=${PIPESTATUS[0]}
	grep -q '^FAIL: unit-kvm' "$log" || count_unit "$(grep Synthesis "$log")" "$rc" unit-kvm >/dev/null
	p=$(grep -c '^PASS:' "$log"); f=$(grep -c '^FAIL:' "$log"); s=$(grep -c '^SKIP:' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$rc" -ne 1 ]; then
		echo "FAIL: kvm-box: the KVM box exited $rc"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	# shellcheck disable=SC2207
	failed_names+=($(sed -n 's/^FAIL: \([^:]*\):.*/\1/p' "$log" | sort -u))
	rm -f "$log"
}

# Inside the KVM box: the unit suites that need KVM, then every integration script.
if [ "${1:-}" = --kvm ]; then
	run_unit unit-kvm --filter "$UNIT_KVM_SUITES/*"
	run_integration
	summary
	exit
fi

box=
scripts/kvm-box.sh --host-kvm || box=1

echo "== structure (scripts/include-graph.sh, scripts/architecture.sh)"
graph_out=$(scripts/include-graph.sh --check 2>&1); graph_rc=$?
echo "$graph_out"
count_lines "$graph_out" "$graph_rc" include-graph
arch_out=$(scripts/architecture.sh 2>&1); arch_rc=$?
echo "$arch_out"
count_lines "$arch_out" "$arch_rc" architecture

echo "== unit tests (ASan/UBSan)"
unit_listed=$(build/unit-tests --list 2>/dev/null | grep -cE '^(├|└)')
if [ -n "$box" ]; then
	run_unit unit --filter "!($UNIT_KVM_SUITES)/*"
else
	run_unit unit
fi

echo "== fuzz (libFuzzer over the API's request path, ${FUZZ_SECONDS:-60} s)"
fuzz_out=$(tests/fuzz/run.sh build/fuzz/fuzz_api "${FUZZ_SECONDS:-60}" 2>&1); fuzz_rc=$?
echo "$fuzz_out"
count_lines "$fuzz_out" "$fuzz_rc" fuzz_api

echo "== fuzz (libFuzzer over the guest boundary: virtqueues, virtio-blk, virtio-net, ${FUZZ_SECONDS:-60} s)"
fuzz_out=$(tests/fuzz/run.sh build/fuzz/fuzz_virtio "${FUZZ_SECONDS:-60}" tests/fuzz/corpus_virtio 2>&1)
fuzz_rc=$?
echo "$fuzz_out"
count_lines "$fuzz_out" "$fuzz_rc" fuzz_virtio

if [ -z "$box" ]; then
	echo "== integration (guest-min, native KVM)"
	run_integration
else
	echo "== unit tests that need KVM, and integration (guest-min): in the KVM box, this machine has no usable /dev/kvm"
	run_kvm_tests_in_box
fi
# Criterion counts a skipped test nowhere in its synthesis: what did not run is a skip.
if [ "$unit_tested" -lt "$unit_listed" ]; then
	echo "SKIP: unit: $((unit_listed - unit_tested)) of $unit_listed tests did not run (Criterion skipped them)"
	skip=$((skip + unit_listed - unit_tested))
fi

if [ -z "${TESTS_NO_NESTED:-}" ]; then
	echo "== nested (Linux guests, QEMU TCG + nested KVM)"
	for t in tests/nested/test-*.sh; do
		[ -e "$t" ] || continue
		run_script "$t" "$(basename "$t" .sh)" EMBER=build/ember
	done
fi

summary
