#!/usr/bin/env bash
# The KVM box itself (scripts/kvm-box.sh), run on this machine whether it has
# /dev/kvm or not: a command runs as root in L1 at the same path with a real
# nested /dev/kvm, sees this shell's environment, writes into the checkout (and
# nowhere else on the host), and its output and exit status come back; the time
# limit and the boot watchdog end a run with their own line and status; make run
# boots guest-min (in the box when this machine has no usable /dev/kvm).
# One line per case: PASS:/FAIL: <case>[: why].
cd "$(dirname "$0")/../.." || exit 1
box=scripts/kvm-box.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
pass() { echo "PASS: kvm-box-$1"; }
fail() { echo "FAIL: kvm-box-$1: $2"; failures=$((failures + 1)); }

# box ARGS...: runs the box; $out (stdout), $err (stderr), $rc.
box() {
	"$box" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	out=$(cat "$TMP/out") err=$(cat "$TMP/err")
}

token=$RANDOM$RANDOM
host_only=/etc/kvm-box-probe-$token
export EMBER_BOX_TEST_VAR="two words $token"
box -- bash -c "
	echo pwd=\$PWD
	[ -c /dev/kvm ] && echo kvm=char
	echo nested=\$(cat /sys/module/kvm_amd/parameters/nested)
	echo var=\$EMBER_BOX_TEST_VAR
	echo uid=\$(id -u)
	echo to-stderr >&2
	echo $token >build/kvm-box-token
	echo $token >$host_only && echo etc-written
	exit 7"
if [ $rc -ne 7 ]; then
	fail exit-status "rc=$rc (want 7): $err"
else
	pass exit-status
fi
want="pwd=$PWD kvm=char nested=1 var=two words $token uid=0 to-stderr etc-written"
if [ "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')" = "$want" ]; then
	pass same-path-env-root-kvm
else
	fail same-path-env-root-kvm "output [$out], want [$want]"
fi
if [ "$(cat build/kvm-box-token 2>/dev/null)" = "$token" ] && [ ! -e "$host_only" ]; then
	pass writes-checkout-only
else
	fail writes-checkout-only "checkout token [$(cat build/kvm-box-token 2>/dev/null)], $host_only exists: $([ -e "$host_only" ] && echo yes || echo no)"
fi
rm -f build/kvm-box-token

box --timeout 3 -- bash -c 'echo started; sleep 300; echo never'
if grep -q 'building the L1 initramfs' <<<"$err"; then
	fail cached "the second run built the initramfs again: [$err]"
else
	pass cached
fi
if [ $rc -eq 124 ] && grep -qx started <<<"$out" && ! grep -qx never <<<"$out" &&
	grep -q 'sleep 300' <<<"$out" && grep -q 'ran past --timeout 3s' <<<"$err"; then
	pass time-limit
else
	fail time-limit "rc=$rc (want 124) out=[$out] err=[$err]"
fi

box --boot-timeout 1 -- true
if [ $rc -eq 125 ] && grep -q 'not ready within 1s (boot watchdog)' <<<"$err"; then
	pass boot-watchdog
else
	fail boot-watchdog "rc=$rc (want 125) err=[$err]"
fi

box --timeout zero -- true
if [ $rc -eq 125 ] && [ "$err" = "kvm-box: --timeout wants a positive number, got 'zero'" ]; then
	pass bad-option
else
	fail bad-option "rc=$rc (want 125) err=[$err]"
fi

# make run: guest-min's greeting and boot timings, status 0; without a usable
# /dev/kvm one line says the box runs it.
out=$(make -s run 2>&1 </dev/null)
rc=$?
notice="make run: this machine has no usable /dev/kvm: booting guest-min inside the KVM box"
if $box --host-kvm; then has_notice=0; else has_notice=1; fi
if [ $rc -eq 0 ] && grep -q 'Hello from guest-min' <<<"$out" && grep -q 'guest-min: boot timings:' <<<"$out" &&
	[ "$(grep -c "^$notice" <<<"$out")" -eq $has_notice ]; then
	pass make-run
else
	fail make-run "rc=$rc, notice expected $has_notice times: [$out]"
fi
[ "$failures" -eq 0 ]
