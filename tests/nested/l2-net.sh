#!/bin/sh
# L2 side of tests/nested/test-net.sh, /tests/net.sh in the L2 initramfs
# (l2test=run:/tests/net.sh). Parameters from the kernel command line:
#   net_ip=A/P      eth0's address (default 10.0.2.2/24)
#   net_peer=IP     the L1 end of the TAP (default 10.0.2.1)
#   net_mb=N        MiB to fetch and to send (default 4; L1 serves NET_MB)
#   net_timeout=S   limit of each transfer (default 60 s); on expiry the
#                   counters and virtio interrupts are printed
# Steps: eth0 up, ping -c 3 the peer, fetch http://PEER:8000/blob with wget
# (L1 serves it), send N MiB to PEER:5000 with nc; prints sizes, sha256s and
# times. Every line starts with "L2: net ".
arg() {
  for w in $(cat /proc/cmdline); do
    case $w in "$1"=*) echo "${w#*=}"; return 0 ;; esac
  done
  return 1
}
say() { echo "L2: net $*"; }
sha() { sha256sum "$@" | cut -d' ' -f1; }
now() { cut -d' ' -f1 /proc/uptime; }
ip=$(arg net_ip) || ip=10.0.2.2/24
peer=$(arg net_peer) || peer=10.0.2.1
mb=$(arg net_mb) || mb=4
tmo=$(arg net_timeout) || tmo=60

ip link set lo up
ip addr add "$ip" dev eth0 && ip link set eth0 up ||
  { say "eth0 setup failed"; ip link; exit 1; }
say "eth0 mac=$(cat /sys/class/net/eth0/address) mtu=$(cat /sys/class/net/eth0/mtu) ip=$ip"

t0=$(now)
ping -c 3 -i 0.2 -W 10 "$peer" >/tmp/ping.out 2>&1
st=$?
say "ping status=$st $(grep 'packet loss' /tmp/ping.out) ($(grep round-trip /tmp/ping.out)) in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')s"
[ $st = 0 ] || cat /tmp/ping.out

# On a stall: the counters and the virtio interrupts, then on.
stats() {
  for f in rx_packets tx_packets rx_bytes tx_bytes rx_errors tx_errors rx_dropped tx_dropped; do
    printf '%s=%s ' "$f" "$(cat /sys/class/net/eth0/statistics/$f)"
  done | { read -r l; say "eth0 $l"; }
}
stalled() {
  say "$1 stalled or failed (status $2)"
  stats
  grep -i virtio /proc/interrupts | while read -r l; do say "irq $l"; done
}

t0=$(now)
timeout "$tmo" wget -q -O /tmp/rx "http://$peer:8000/blob"
st=$?
say "rx status=$st bytes=$(wc -c </tmp/rx) sha256=$(sha /tmp/rx) in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')s"
[ $st = 0 ] || stalled rx $st

# What goes up: the download with its halves swapped (not what L1 served, and
# no wait for the guest's entropy pool, which under nested TCG takes seconds);
# N MiB of /dev/urandom when the download failed.
half=$((mb * 524288))
if [ "$(wc -c </tmp/rx)" = $((mb * 1048576)) ]; then
  { tail -c "$half" /tmp/rx; head -c "$half" /tmp/rx; } >/tmp/tx
else
  dd if=/dev/urandom of=/tmp/tx bs=1048576 count="$mb" 2>/dev/null
fi
say "tx bytes=$(wc -c </tmp/tx) sha256=$(sha /tmp/tx)"
t0=$(now)
timeout "$tmo" nc "$peer" 5000 </tmp/tx
st=$?
say "tx status=$st in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')s"
[ $st = 0 ] || stalled tx $st
stats
