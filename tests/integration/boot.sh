#!/usr/bin/env bash
# guest-min boots natively: greeting and timings, 64-bit and PVH entries, vCPUs, RAM sizes.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

timing_re='boot timings: monitor setup [0-9]+ us, guest entry \+[0-9]+ us, greeting \+[0-9]+ us'

run_ember --kernel "$GUEST" --cmdline hello
if [ $rc -eq 0 ] && grep -qx 'Hello from guest-min' <<<"$out" && grep -qE "$timing_re" <<<"$out"; then
	pass hello
else
	fail hello "rc=$rc out=[$out] err=[$err]"
fi

run_ember --kernel "$GUEST"
if [ $rc -eq 0 ] && grep -qx 'Hello from guest-min' <<<"$out"; then
	pass default-program-is-hello
else
	fail default-program-is-hello "rc=$rc out=[$out]"
fi

# The same file as a 32-bit ELF keeps only the PVH note as a usable entry.
objcopy -O elf32-i386 "$GUEST" "$TMP/guest-min32"
run_ember --kernel "$TMP/guest-min32" --cmdline hello --level Info
if [ $rc -eq 0 ] && grep -qx 'Hello from guest-min' <<<"$out" && grep -q '(PVH)' <<<"$err"; then
	pass pvh-entry
else
	fail pvh-entry "rc=$rc out=[$out] err=[$err]"
fi

for n in 2 8 32; do
	run_ember --kernel "$GUEST" --cmdline hello --vcpus $n --level Info
	if [ $rc -eq 0 ] && grep -qx 'Hello from guest-min' <<<"$out" && grep -q "$n vCPU" <<<"$err"; then
		pass "vcpus-$n"
	else
		fail "vcpus-$n" "rc=$rc out=[$out] err=[$err]"
	fi
done

# 3500 MiB crosses the 32-bit MMIO gap: RAM continues at 4 GiB.
for mib in 16 3500; do
	run_ember --kernel "$GUEST" --cmdline hello --mem $mib
	if [ $rc -eq 0 ] && grep -qx 'Hello from guest-min' <<<"$out"; then
		pass "mem-$mib"
	else
		fail "mem-$mib" "rc=$rc out=[$out] err=[$err]"
	fi
done

# The log line format is Firecracker's: time, [id:thread], message; the level and the
# source file and line only when asked for (show_level, show_log_origin).
run_ember --kernel "$GUEST" --cmdline hello --level Info --id test-vm_1
if grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z \[test-vm_1:main\] VM built' <<<"$err"; then
	pass log-format
else
	fail log-format "err=[$err]"
fi
run_ember --kernel "$GUEST" --cmdline hello --level Info --id test-vm_1 --show-level --show-log-origin
if grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z \[test-vm_1:main:INFO:vmm\.c:[0-9]+\] VM built' <<<"$err"; then
	pass log-format-level-origin
else
	fail log-format-level-origin "err=[$err]"
fi
finish
