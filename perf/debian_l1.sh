#!/bin/sh
# L1 hook of perf/debian_bench.sh (tests/nested/nested-run.sh --l1-hook): the whole
# benchmark runs in "pre", inside the nested harness's L1. Settings come from
# /nb/bench.conf (written by debian_bench.sh): ROUNDS, VCPUS, MEM, MAC, RUN_TIMEOUT,
# QEMU_ARGS, CMDLINE. The Debian root file system is the harness's first disk
# ($NESTED_DISK0); L1 serves DHCP on tap0 (tests/nested/l1-debian.sh, copied to
# /nb/l1-debian.sh).
# Every result is one console line (the L2 consoles go to files in /tmp/db):
#   DB: info KEY VALUE...
#   DB: run MODE ROUND CONTENDER key=value...   (nested_timer's report)
#   DB: log MODE ROUND CONTENDER | LINE         (the end of a failed run's console)
#   DB: skip CONTENDER REASON                   (its warm-up failed: no more runs)
#   DB: l2log FILE LINE                         (with DUMP_LOGS=1: every L2 console)
#   DB: done
# MODE is warm (one untimed first boot per contender) or boot. Each run boots the same
# disk with ember.bench=poweroff on the kernel command line: the guest powers itself
# off a few seconds after its login prompt, so every run ends cleanly and the next one
# boots a clean file system.
[ "$1" = pre ] || exit 0
# shellcheck disable=SC1091 # written by debian_bench.sh
. /nb/bench.conf
T=/nb/nested_timer
mkdir -p /tmp/db
sh /nb/l1-debian.sh pre noping

echo "DB: info l1_kernel $(uname -r)"
echo "DB: info l1_cpus $(grep -c '^processor' /proc/cpuinfo)"
echo "DB: info qemu $(qemu-system-x86_64 --version 2>&1 | head -n1)"

# run MODE ROUND CONTENDER: one timed boot, its report on the console; status 0 when
# it counts (both markers seen, exit status 0).
run() {
  mode=$1 round=$2 c=$3 log=/tmp/db/$1.$2.$3.log
  set -- -i "EXT4-fs (vda): mounted filesystem" -m "ember-debian: login prompt on ttyS0" \
    -t "$RUN_TIMEOUT" -o "$log" --
  # shellcheck disable=SC2086 # QEMU_ARGS is a word list
  case $c in
    ember) set -- "$@" /ember --kernel /l2/kernel --initrd /l2/initrd --vcpus "$VCPUS" \
             --mem "$MEM" --cmdline "$CMDLINE" \
             --drive "path=$NESTED_DISK0,root,id=root,engine=async" \
             --net "tap=tap0,mac=$MAC,id=net0" ;;
    # ember's defaults and its root= words come first on its guest's command line:
    # the same for QEMU.
    qemu) set -- "$@" qemu-system-x86_64 $QEMU_ARGS -smp "$VCPUS" -m "$MEM" \
            -kernel /l2/kernel -initrd /l2/initrd \
            -append "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw $CMDLINE" \
            -drive "id=root,file=$NESTED_DISK0,format=raw,if=none" \
            -device virtio-blk-device,drive=root \
            -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
            -device "virtio-net-device,netdev=n0,mac=$MAC" ;;
  esac
  # Every run starts from as nearly the same L1 as can be: the previous run's writes on
  # L1's disk, not written back during this one; no page cache; free memory compacted.
  # (It does not remove the 2-3x spread between runs: see the report's text.)
  sync
  echo 3 >/proc/sys/vm/drop_caches
  echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
  idle0=$(awk '/^cpu / { print $5 + $6 }' /proc/stat)
  res=$($T "$@")
  # L1's idle and iowait time during the run (USER_HZ ticks, 10 ms): with the monitor's
  # CPU time, whether something else in L1 took the CPU from the guest.
  idle=$(($(awk '/^cpu / { print $5 + $6 }' /proc/stat) - idle0))
  # The L2 kernel's own clock on its root mount line: the guest's share of the time.
  k=$(tr -d '\r' <"$log" | sed -n 's/^\[ *\([0-9]*\)\.\([0-9]\{3\}\)[0-9]*\] EXT4-fs (vda): mounted filesystem.*/\1\2/p' | head -n1)
  echo "DB: run $mode $round $c $res kernel_mount_ms=${k:--1} l1_idle_ms=$((idle * 10)) console_lines=$(wc -l <"$log")"
  case " $res " in
    *" marker_ns=-1 "* | *" interim_ns=-1 "* | *" status=timeout "*) ;;
    *" status=0 "*) return 0 ;;
  esac
  tail -n 8 "$log" | tr -d '\r' | sed "s/^/DB: log $mode $round $c | /"
  return 1
}

contenders=
for c in ember qemu; do
  if run warm 0 "$c"; then
    contenders="$contenders $c"
  else
    echo "DB: skip $c its warm-up boot failed"
  fi
done
# The first contender alternates: as listed in odd rounds, reversed in even ones.
r=1
while [ "$r" -le "$ROUNDS" ]; do
  order="ember qemu"
  [ $((r % 2)) = 0 ] && order="qemu ember"
  for c in $order; do
    case " $contenders " in *" $c "*) run boot "$r" "$c" ;; esac
  done
  r=$((r + 1))
done
# BENCH_DEBIAN_KEEP=1: every L2 console, for the host's kept directory.
if [ "${DUMP_LOGS:-0}" = 1 ]; then
  for f in /tmp/db/*.log; do
    [ -f "$f" ] || continue
    tr -d '\r' <"$f" | sed "s|^|DB: l2log ${f##*/} |"
  done
fi
echo "DB: done"
