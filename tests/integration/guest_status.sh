#!/usr/bin/env bash
# The guest decides ember's exit status: debug-exit port, i8042 reset, its own errors.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

for s in 0 7 255; do
	run_ember --kernel "$GUEST" --cmdline "exit $s"
	[ $rc -eq $s ] && pass "exit-$s" || fail "exit-$s" "rc=$rc err=[$err]"
done

run_ember --kernel "$GUEST" --cmdline frobnicate
if [ $rc -eq 2 ] && grep -q "unknown program 'frobnicate'" <<<"$out"; then
	pass unknown-program
else
	fail unknown-program "rc=$rc out=[$out]"
fi

# reboot=k's path: the guest pulses the reset line through the i8042; ember ends with 0.
run_ember --kernel "$GUEST" --cmdline reboot --level Info
if [ $rc -eq 0 ] && grep -q 'i8042: guest pulsed the reset line' <<<"$err" &&
   ! grep -q 'still running' <<<"$out"; then
	pass i8042-reset
else
	fail i8042-reset "rc=$rc out=[$out] err=[$err]"
fi
finish
