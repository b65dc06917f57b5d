#!/usr/bin/env bash
# A hostile guest against ember's virtio-blk: guest-min's hostile-* programs break the
# ring one way at a time (loops, addresses outside RAM, lengths that wrap, indexes beyond
# the queue, bogus notifies, writes to read-only config, a reset in the middle of I/O,
# bad indirect tables). After each attack the device must react as the virtio spec asks
# (DEVICE_NEEDS_RESET for a broken ring, nothing for a bogus notify or config write),
# ember must stay alive and serve a good request after a reset, exit cleanly, log at most
# one line per attack, and (ember-asan) report nothing.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

# Cases whose attack breaks the ring: the device must say DEVICE_NEEDS_RESET.
ring_cases="loop:self loop:cycle
	oob:data oob:gap oob:regs oob:header oob:ring
	wrap:addr wrap:sum wrap:status
	index:head index:head-max index:jump index:next
	indirect:len indirect:empty indirect:nested indirect:oob indirect:loop indirect:huge"
# Cases that must leave the device working, and what they print when it is.
quiet_cases="notify:bogus config:write reset:midway"

img=$TMP/disk.img
truncate -s 64M "$img" # hostile-reset queues 32 reads of 1 MiB

# Ring-error lines on ember's stderr (its default level, Warning).
ring_log_lines() { grep -c 'device needs reset' <<<"$err"; }

for engine in sync async; do
	for c in $ring_cases $quiet_cases; do
		prog=hostile-${c%%:*} case=${c#*:} name="${c%%:*}-${c#*:}-$engine"
		run_ember --kernel "$GUEST" --cmdline "$prog $case" --drive "path=$img,engine=$engine"
		expect=""
		case " $quiet_cases " in
		*" $c "*)
			case $case in
			midway) expect="$prog: $case: no DMA after the reset" ;;
			*) expect="$prog: $case: device still working" ;;
			esac ;;
		*) expect="$prog: $case: device needs reset" ;;
		esac
		lines=$(wc -l <<<"$err")
		[ -z "$err" ] && lines=0
		if [ $rc -ne 0 ] || crashed; then
			fail "$name" "rc=$rc out=[$out] err=[$err]"
		elif ! grep -qx "$prog: ember alive" <<<"$out"; then
			fail "$name" "no '$prog: ember alive': out=[$out]"
		elif ! grep -qxF "$expect" <<<"$out"; then
			fail "$name" "expected '$expect': out=[$out] err=[$err]"
		elif [ "$(ring_log_lines)" -gt 1 ] || [ "$lines" -gt 2 ]; then
			fail "$name" "too much on stderr ($lines lines): [$err]"
		else
			pass "$name"
		fi
	done
done

# The same attack 30 times in one VM: the log stays bounded (ember stops after a few
# lines per device) and every round still ends with a working device.
run_ember --kernel "$GUEST" --cmdline "hostile-loop self hostile.repeat=30" --drive "path=$img"
n=$(grep -c 'hostile-loop: self: device needs reset' <<<"$out")
if [ $rc -eq 0 ] && ! crashed && [ "$n" -eq 30 ] && grep -qx 'hostile-loop: ember alive' <<<"$out" &&
   [ "$(ring_log_lines)" -le 10 ]; then
	pass ring-errors-log-bounded
else
	fail ring-errors-log-bounded "rc=$rc, $n resets seen, $(ring_log_lines) log lines: err=[$err]"
fi

# Every attack of every program in one VM, on a device that is reset between them.
all_ok=1
for p in loop oob wrap index notify config reset indirect; do
	run_ember --kernel "$GUEST" --cmdline "hostile-$p" --drive "path=$img"
	if [ $rc -ne 0 ] || crashed || ! grep -qx "hostile-$p: ember alive" <<<"$out"; then
		fail "all-cases-$p" "rc=$rc out=[$out] err=[$err]"
		all_ok=0
	fi
done
[ $all_ok -eq 1 ] && pass all-cases-in-one-vm
finish
