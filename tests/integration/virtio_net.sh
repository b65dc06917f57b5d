#!/usr/bin/env bash
# virtio-net seen from a guest: guest-min's `net` sends ICMP echo requests through ember's
# virtio-net to a TAP on the host, whose kernel answers; every reply must come back.
# Needs root and /dev/net/tun (a TAP of its own, removed at exit); otherwise SKIP.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: virtio_net: needs root to create a TAP device"
	exit 77
fi
if [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
	echo "SKIP: virtio_net: needs /dev/net/tun and ip(8)"
	exit 77
fi

# A TAP and a /24 of our own, so that tests running side by side do not meet.
tap=gmnet$$
tap=${tap:0:15}
subnet=""
for _ in 1 2 3 4 5 6 7 8; do
	try=10.$((RANDOM % 200 + 20)).$((RANDOM % 250))
	if ! ip -4 addr show | grep -q " $try\." && ! ip -4 route show | grep -q "^$try\."; then
		subnet=$try
		break
	fi
done
if [ -z "$subnet" ] || ! ip tuntap add "$tap" mode tap 2>"$TMP/tap.err"; then
	echo "SKIP: virtio_net: cannot create a TAP: $(cat "$TMP/tap.err" 2>/dev/null)"
	exit 77
fi
trap 'ip link del "$tap" 2>/dev/null; rm -rf "$TMP"' EXIT
guest_mac=52:54:00:6e:65:74
host=$subnet.1 guest=$subnet.2
ip addr add "$host/24" dev "$tap"
ip link set "$tap" up
# guest-min never asks ARP: the host knows the guest's MAC from the start.
ip neigh replace "$guest" lladdr "$guest_mac" dev "$tap" nud permanent
host_mac=$(cat "/sys/class/net/$tap/address")
args="net.ip=$guest net.peer=$host"

# 1000 echo requests, 32 in flight, to the TAP's own MAC.
run_ember --kernel "$GUEST" --cmdline "net 1000 $args net.peermac=$host_mac" --net "tap=$tap,mac=$guest_mac"
if [ $rc -eq 0 ] && ! crashed &&
   grep -qE '^net: sent 1000, received 1000 echo replies in [0-9]+ us \([0-9]+ packets/s\)$' <<<"$out"; then
	pass net-echo-1000
	grep '^net: sent' <<<"$out" | sed 's/^/  /'
else
	fail net-echo-1000 "rc=$rc out=[$out] err=[$err]"
fi

# The MAC given to ember is what the guest reads from config space.
if grep -q "mac $guest_mac," <<<"$out"; then
	pass net-mac-in-config
else
	fail net-mac-in-config "out=[$out]"
fi

# Broadcast destination, one request at a time.
run_ember --kernel "$GUEST" --cmdline "net 50 $args net.window=1" --net "tap=$tap,mac=$guest_mac"
if [ $rc -eq 0 ] && ! crashed && grep -q '^net: sent 50, received 50 echo replies' <<<"$out"; then
	pass net-echo-broadcast-window-1
else
	fail net-echo-broadcast-window-1 "rc=$rc out=[$out] err=[$err]"
fi

# The host asks for the guest's MAC (the static entry is gone): guest-min answers ARP.
ip neigh del "$guest" dev "$tap" 2>/dev/null
run_ember --kernel "$GUEST" --cmdline "net 20 $args net.peermac=$host_mac" --net "tap=$tap,mac=$guest_mac"
if [ $rc -eq 0 ] && ! crashed && grep -q '^net: sent 20, received 20 echo replies' <<<"$out" &&
   grep -q 'answered an ARP request' <<<"$out"; then
	pass net-answers-arp
else
	fail net-answers-arp "rc=$rc out=[$out] err=[$err]"
fi
ip neigh replace "$guest" lladdr "$guest_mac" dev "$tap" nud permanent

# Nobody answers (a peer that does not exist): guest-min gives up and says so, ember exits cleanly.
# Rate limits, per direction: 20 frames per second after a bucket of 20. 60 round trips
# cannot take less than (60 - 20) / 20 = 2 s of guest time however fast the machine.
for dir in tx rx; do
	run_ember --kernel "$GUEST" --cmdline "net 60 $args net.peermac=$host_mac net.timeout_ms=5000" \
		--net "tap=$tap,mac=$guest_mac,${dir}_ops=20/1000"
	us=$(sed -n 's/^net: sent 60, received 60 echo replies in \([0-9]*\) us.*/\1/p' <<<"$out")
	if [ $rc -eq 0 ] && ! crashed && [ -n "$us" ] && [ "$us" -ge 1800000 ]; then
		pass "net-${dir}-rate-limit-holds"
	else
		fail "net-${dir}-rate-limit-holds" "rc=$rc us=$us out=[$(grep '^net:' <<<"$out")] err=[$err]"
	fi
done

run_ember --kernel "$GUEST" --cmdline "net 5 net.ip=$guest net.peer=$subnet.99 net.timeout_ms=300" \
	--net "tap=$tap,mac=$guest_mac"
if [ $rc -eq 1 ] && ! crashed && grep -q '^net: sent 5, received 0 echo replies' <<<"$out"; then
	pass net-no-peer
else
	fail net-no-peer "rc=$rc out=[$out] err=[$err]"
fi
# hostile-net: broken TX and RX chains. Each attack must end with ember alive (an ARP
# round trip after a reset), at most one line on stderr, and no sanitizer report. Chains
# on memory outside RAM, and loops, must make the device say DEVICE_NEEDS_RESET.
for c in tx-oob tx-wrap tx-loop tx-huge tx-short tx-writable rx-readonly rx-oob rx-tiny; do
	run_ember --kernel "$GUEST" --cmdline "hostile-net $c hostile.reply=1 $args" --net "tap=$tap,mac=$guest_mac"
	lines=$(grep -c . <<<"$err")
	if [ $rc -ne 0 ] || crashed || ! grep -qx 'hostile-net: ember alive' <<<"$out"; then
		fail "hostile-net-$c" "rc=$rc out=[$out] err=[$err]"
	elif [ "$lines" -gt 1 ]; then
		fail "hostile-net-$c" "$lines lines on stderr: [$err]"
	elif case $c in tx-huge | tx-short | tx-writable) false ;; esac &&
	     ! grep -qx "hostile-net: $c: device needs reset" <<<"$out"; then
		fail "hostile-net-$c" "no DEVICE_NEEDS_RESET: out=[$out]"
	else
		pass "hostile-net-$c"
	fi
done
finish
