#!/bin/sh
# L2 side of tests/nested/test-snapshot.sh, /tests/snapshot.sh in the L2
# initramfs (l2test=run:/tests/snapshot.sh). Parameters from the kernel
# command line:
#   snap_ip=A/P    eth0's address (default 10.0.2.2/24)
#   snap_k=K       re-read the drive every K counts (default 5)
#   snap_sleep=S   pause between counts (default 0.3 s)
# Reads vda once (bypassing the page cache) and prints its sha256, brings
# eth0 up with the static address (L1 waits for it to answer ping before it
# snapshots), then counts for ever, one line per count:
#   L2: count N up=UPTIME
# and every K counts re-reads vda, again bypassing the page cache (a clone
# restored from a snapshot must really read its drive, not a cached copy):
#   L2: count N vda sha256=SUM
# The test never lets it end: ember is killed (the template) or stopped (the
# clones) by L1.
arg() {
  # shellcheck disable=SC2013 # words, not lines
  for w in $(cat /proc/cmdline); do
    case $w in "$1"=*) echo "${w#*=}"; return 0 ;; esac
  done
  return 1
}
say() { echo "L2: snap $*"; }
vda_sum() { dd if=/dev/vda bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; }
ip=$(arg snap_ip) || ip=10.0.2.2/24
k=$(arg snap_k) || k=5
pause=$(arg snap_sleep) || pause=0.3

i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
say "vda sectors=$(cat /sys/block/vda/size) ro=$(cat /sys/block/vda/ro) sha256=$(vda_sum)"
ip link set lo up
if ! ip addr add "$ip" dev eth0 || ! ip link set eth0 up; then
  say "eth0 setup failed"
  ip link
  exit 1
fi
say "eth0 mac=$(cat /sys/class/net/eth0/address) ip=$ip"
say "counting every ${pause}s, vda every $k"
n=0
while :; do
  n=$((n + 1))
  echo "L2: count $n up=$(cut -d' ' -f1 /proc/uptime)"
  [ $((n % k)) != 0 ] || echo "L2: count $n vda sha256=$(vda_sum)"
  sleep "$pause"
done
