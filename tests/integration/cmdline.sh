#!/usr/bin/env bash
# --cmdline reaches the guest after ember's defaults; limits give one-line errors.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

run_ember --kernel "$GUEST" --cmdline "echo alpha=1 beta two"
line=$(grep '^cmdline: ' <<<"$out")
if [ $rc -eq 0 ] && grep -q '^cmdline: console=ttyS0 reboot=k panic=1 pci=off echo alpha=1 beta two' <<<"$line" &&
   grep -qE 'ember.tsc_khz=[0-9]+' <<<"$line"; then
	pass arrives-in-guest
else
	fail arrives-in-guest "rc=$rc out=[$out]"
fi

long=$(printf 'x%.0s' $(seq 1 3000))
run_ember --kernel "$GUEST" --cmdline "$long"
if [ $rc -eq 153 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q 'command line is longer than 2047' <<<"$err"; then
	pass too-long-flag
else
	fail too-long-flag "rc=$rc err=[$err]"
fi

# Fits the flag, but not with ember's defaults added: a setup error, exit 1.
almost=$(printf 'y%.0s' $(seq 1 2040))
run_ember --kernel "$GUEST" --cmdline "$almost"
if [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q 'would be longer than 2047' <<<"$err"; then
	pass too-long-composed
else
	fail too-long-composed "rc=$rc err=[$err]"
fi
finish
