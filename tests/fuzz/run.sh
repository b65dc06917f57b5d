#!/usr/bin/env bash
# Runs a fuzz target for a while over a scratch copy of its seed corpus; prints one
# PASS:/FAIL: line named after the target.
# Usage: tests/fuzz/run.sh FUZZER SECONDS [CORPUS]   (CORPUS: tests/fuzz/corpus, the API's)
# A crash, a sanitizer report or a failed check leaves its input in build/fuzz/ as
# NAME-crash-*/NAME-leak-*/NAME-timeout-*; replay it with `FUZZER FILE`.
set -u
fuzzer=$1 secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
corpus=${3:-$here/corpus}
name=$(basename "$fuzzer")
work=$(dirname "$fuzzer")
rm -rf "$work/$name-corpus-run" && mkdir -p "$work/$name-corpus-run"
log="$work/$name.log"
"$fuzzer" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/$name-" "$work/$name-corpus-run" "$corpus" \
	>"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
if [ $rc -eq 0 ] && [ -n "$runs" ]; then
	echo "PASS: $name: ${secs}s, $runs inputs, $cov, nothing found"
else
	echo "FAIL: $name: exit $rc after ${runs:-?} inputs; see $log"
	grep -E 'ERROR|Assertion|check failed|runtime error|Test unit written' "$log" | head -5 |
		sed 's/^/  /'
	exit 1
fi
