#!/bin/sh
# L2 side of tests/nested/test-jail.sh, /tests/jail.sh in the L2 initramfs
# (l2test=run:/tests/jail.sh), a guest of a jailed ember. Parameters from the
# kernel command line:
#   blk_*=...       the drives: /tests/blk.sh runs first, with its own parameters
#   net_ip=A/P      eth0's address (default 10.0.2.2/24)
#   net_peer=IP     the L1 end of the TAP (default 10.0.2.1)
# Then: eth0 up, ping -c 3 the peer, and a wait (60 s at most) until L1 has
# looked at the jailed ember from outside: l1-jail.sh serves
# http://PEER:8000/sampled once it has, so ember is still running while L1
# reads /proc/PID. Every line starts with "L2: jail " (blk.sh's "L2: blk ").
arg() {
  for w in $(cat /proc/cmdline); do
    case $w in "$1"=*) echo "${w#*=}"; return 0 ;; esac
  done
  return 1
}
say() { echo "L2: jail $*"; }
ip=$(arg net_ip) || ip=10.0.2.2/24
peer=$(arg net_peer) || peer=10.0.2.1

sh /tests/blk.sh
say "blk status=$?"

ip link set lo up
ip addr add "$ip" dev eth0 && ip link set eth0 up ||
  { say "eth0 setup failed"; ip link; exit 1; }
say "eth0 mac=$(cat /sys/class/net/eth0/address) ip=$ip"
ping -c 3 -i 0.2 -W 10 "$peer" >/tmp/ping.out 2>&1
st=$?
say "ping status=$st $(grep 'packet loss' /tmp/ping.out)"
[ $st = 0 ] || cat /tmp/ping.out

i=0
while [ $i -lt 120 ]; do
  # timeout(1), not wget -T: Debian's busybox 1.35 wget segfaults with -T.
  if timeout 5 wget -q -O /tmp/sampled "http://$peer:8000/sampled" 2>/dev/null; then
    say "L1 sampled: $(cat /tmp/sampled)"
    exit 0
  fi
  sleep 0.5
  i=$((i + 1))
done
say "L1 never sampled"
exit 1
