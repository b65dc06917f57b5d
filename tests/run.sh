#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed, N skipped".
#   unit tests      build/unit-tests (Criterion, glibc + ASan/UBSan)
#   integration     tests/integration/*.sh, against build/ember and build/ember-asan
#   fuzz            build/fuzz/fuzz_api (libFuzzer) for FUZZ_SECONDS (default 60)
#   nested          tests/nested/test-*.sh: Linux guests under QEMU-TCG nested KVM
# A test script prints PASS:/FAIL:/SKIP: lines (one per case) and exits 0, 1 or 77.
# TESTS_NO_NESTED=1 leaves the nested tests out (make check).
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

echo "== unit tests (ASan/UBSan)"
unit_out=$(build/unit-tests --jobs 2 2>&1); unit_rc=$?
grep -E 'Synthesis|\[FAIL\]|ERROR|runtime error' <<<"$unit_out"
synth=$(grep -o 'Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' <<<"$unit_out" | tail -1)
if [ -n "$synth" ]; then
	read -r up uf uc < <(sed 's/Tested: [0-9]* | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\)/\1 \2 \3/' <<<"$synth")
	pass=$((pass + up)); fail=$((fail + uf + uc))
	[ $((uf + uc)) -gt 0 ] && failed_names+=("unit")
else
	echo "FAIL: unit: no Criterion summary (exit $unit_rc)"; fail=$((fail + 1)); failed_names+=("unit")
fi

echo "== fuzz (libFuzzer over the API's request path, ${FUZZ_SECONDS:-60} s)"
fuzz_out=$(tests/fuzz/run.sh build/fuzz/fuzz_api "${FUZZ_SECONDS:-60}" 2>&1); fuzz_rc=$?
echo "$fuzz_out"
count_lines "$fuzz_out" "$fuzz_rc" fuzz_api

echo "== integration (guest-min, native KVM)"
for bin in build/ember build/ember-asan; do
	for t in tests/integration/*.sh; do
		name=$(basename "$t" .sh)
		[ "$bin" = build/ember-asan ] && name="$name[asan]"
		run_script "$t" "$name" EMBER="$bin"
	done
done

if [ -z "${TESTS_NO_NESTED:-}" ]; then
	echo "== nested (Linux guests, QEMU TCG + nested KVM)"
	for t in tests/nested/test-*.sh; do
		[ -e "$t" ] || continue
		run_script "$t" "$(basename "$t" .sh)" EMBER=build/ember
	done
fi

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
