#!/bin/sh
# L1 hook of perf/nested_bench.sh (tests/nested/nested-run.sh --l1-hook): the
# whole benchmark runs in "pre", inside the nested harness's L1, before l1-init's
# own (trivial) ember run. Settings come from /nb/bench.conf (written by
# nested_bench.sh): ROUNDS, BOOT_MODES, VCPUS, MEM, CMDLINE, QEMU_CMDLINE,
# QEMU_ARGS, RUN_TIMEOUT, HOLD_S, SAMPLE_DELAY_MS, HUGE_MODES.
# Every result is one console line, "NB: ..." (the host script reads them as they
# come; the L2 consoles go to files in /tmp/nb, never to L1's console):
#   NB: info KEY VALUE...
#   NB: run MODE ROUND CONTENDER key=value...    (nested_timer's report)
#   NB: log MODE ROUND CONTENDER | LINE          (the end of a failed run's log)
#   NB: skip CONTENDER REASON                    (its warm-up failed: no more runs)
#   NB: done
# MODE is
#   warm     an untimed first run of each contender (as boot)
#   boot     l2bench=boot with "quiet": to "L2: bench init", then to the exit after
#            the guest's reboot -f
#   bootlog  the same without "quiet": the kernel's boot log on the serial console
# boot runs report the "L2: bench kernel_init=S" line of l2-init as kernel_init_s:
# the L2 kernel's own timestamp on its "Run /init" line
#   mem      l2bench=hold, quiet: the monitor's smaps sampled while L2 sleeps in
#            /init, then SIGKILL
[ "$1" = pre ] || exit 0
# shellcheck disable=SC1091 # written by nested_bench.sh
. /nb/bench.conf
T=/nb/nested_timer
mkdir -p /tmp/nb

echo "NB: info l1_kernel $(uname -r)"
echo "NB: info l1_cpus $(grep -c '^processor' /proc/cpuinfo)"
echo "NB: info l1_mem_kib $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
echo "NB: info l1_cpu $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2-)"
echo "NB: info qemu $(qemu-system-x86_64 --version 2>&1 | head -n1)"

# run MODE ROUND CONTENDER: one timed run, its report on the console; status 0
# when it counts.
run() {
  mode=$1 round=$2 c=$3 log=/tmp/nb/$1.$2.$3.log
  set -- -m "L2: bench init" -t "$RUN_TIMEOUT" -o "$log"
  b=boot words="quiet $CMDLINE"
  [ "$mode" = bootlog ] && words=$CMDLINE
  if [ "$mode" = mem ]; then
    b=hold:$HOLD_S
    set -- "$@" -s "L2: bench hold" -g "$MEM" -d "$SAMPLE_DELAY_MS" -k
  fi
  # shellcheck disable=SC2086 # QEMU_ARGS is a word list
  case $c in
    ember) set -- "$@" -- /ember --kernel /l2/kernel --initrd /l2/initrd --vcpus "$VCPUS" \
             --mem "$MEM" --cmdline "$words l2bench=$b" ;;
    # ember-MODE: the same with its guest RAM backed by --huge-pages MODE
    ember-*) set -- "$@" -- /ember --kernel /l2/kernel --initrd /l2/initrd --vcpus "$VCPUS" \
             --mem "$MEM" --huge-pages "${c#ember-}" --cmdline "$words l2bench=$b" ;;
    # ember's defaults come first on its guest's command line: the same for QEMU.
    qemu) set -- "$@" -- qemu-system-x86_64 $QEMU_ARGS -smp "$VCPUS" -m "$MEM" \
            -kernel /l2/kernel -initrd /l2/initrd \
            -append "console=ttyS0 reboot=k panic=1 pci=off $words $QEMU_CMDLINE l2bench=$b" ;;
  esac
  res=$($T "$@")
  # The L2 kernel's own clock when it started /init (l2bench=boot prints it), to
  # tell the guest's share from the monitor's.
  k=$(tr -d '\r' <"$log" | sed -n 's|^L2: bench kernel_init=\([0-9.]*\)$|\1|p' | head -n1)
  echo "NB: run $mode $round $c $res kernel_init_s=${k:--1} console_lines=$(wc -l <"$log")"
  ok=1
  case " $res " in *" marker_ns=-1 "*|*" status=timeout "*|"  ") ok=0 ;; esac
  case $mode in
    mem) case " $res " in *" guest_maps=1 "*) ;; *) ok=0 ;; esac ;;
    *) case " $res " in *" status=0 "*) ;; *) ok=0 ;; esac ;;
  esac
  if [ $ok = 0 ]; then
    tail -n 8 "$log" | tr -d '\r' | sed "s/^/NB: log $mode $round $c | /"
    return 1
  fi
  return 0
}

# HUGE_MODES (bench.conf): ember again with each backing, in the boot runs only. 2M
# takes its RAM from the hugetlbfs pool, sized here for one VM at a time.
huge=
for h in $HUGE_MODES; do huge="$huge ember-$h"; done
case " $HUGE_MODES " in
  *" 2M "*) echo $((MEM / 2)) >/proc/sys/vm/nr_hugepages
            echo "NB: info hugepages_free $(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)" ;;
esac
echo "NB: info thp $(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled)"
contenders="ember qemu$huge"
for c in $contenders; do
  if ! run warm 0 "$c"; then
    echo "NB: skip $c warm-up run failed"
    left=
    for x in $contenders; do [ "$x" = "$c" ] || left="$left $x"; done
    contenders=$left
  fi
done
# rounds WHO MODE...: ROUNDS rounds, each running every MODE for the contenders in
# WHO; their order flips from round to round: as listed in odd rounds, reversed in
# even ones.
rounds() {
  who=$1 r=1
  shift
  while [ "$r" -le "$ROUNDS" ]; do
    order=$who
    if [ $((r % 2)) = 0 ]; then
      order=
      for c in $who; do order="$c $order"; done
    fi
    for m in "$@"; do
      for c in $order; do
        case " $contenders " in *" $c "*) run "$m" "$r" "$c" ;; esac
      done
    done
    r=$((r + 1))
  done
}
rounds "ember qemu$huge" boot
case " $BOOT_MODES " in *" bootlog "*) rounds "ember qemu" bootlog ;; esac
rounds "ember qemu" mem
# BENCH_NESTED_KEEP=1: the L2 consoles of round 1, for the host's kept directory.
if [ "${DUMP_LOGS:-0}" = 1 ]; then
  for f in /tmp/nb/*.1.*.log; do
    [ -f "$f" ] || continue
    tr -d '\r' <"$f" | sed "s|^|NB: l2log ${f##*/} |"
  done
fi
echo "NB: done"
