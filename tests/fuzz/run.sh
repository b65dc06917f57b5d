#!/usr/bin/env bash
# Runs the API fuzz target for a while over a scratch copy of the seed corpus; prints one
# PASS:/FAIL: line. Usage: tests/fuzz/run.sh FUZZER SECONDS
# A crash, a sanitizer report or a failed check leaves its input in build/fuzz/ as
# crash-*/leak-*/timeout-*; replay it with `FUZZER FILE`.
set -u
fuzzer=$1 secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work=$(dirname "$fuzzer")
rm -rf "$work/corpus-run" && mkdir -p "$work/corpus-run"
log="$work/fuzz.log"
"$fuzzer" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus-run" "$here/corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
if [ $rc -eq 0 ] && [ -n "$runs" ]; then
	echo "PASS: fuzz_api: ${secs}s, $runs inputs, $cov, nothing found"
else
	echo "FAIL: fuzz_api: exit $rc after ${runs:-?} inputs; see $log"
	grep -E 'ERROR|Assertion|runtime error|Test unit written' "$log" | head -5 | sed 's/^/  /'
	exit 1
fi
