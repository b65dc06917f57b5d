#!/bin/sh
# L2 side of tests/nested/test-blk-root.sh, /tests/blk.sh in the L2 root
# (run by l2-init with l2test=run:/tests/blk.sh). Parameters from the kernel
# command line, each step only when its parameter is given, in this order:
#   blk_module=PATH               insmod PATH (virtio_blk.ko of a kernel that has
#                                 it as a module) before anything else
#   blk_sum=vdX[,vdY...]          print each drive's sha256 (before any write)
#   blk_token=T [blk_file=/PATH]  write T into PATH (default /ember-token) on
#                                 the root file system, then sync
#   blk_ro=vdX                    a drive given read-only: print its sha256,
#                                 then try to write its first block (must fail;
#                                 the host checks that the file is unchanged)
#   blk_scratch=vdX               write 1 MiB at offset 0 with fsync, read it
#                                 back bypassing the page cache and print both
#                                 sha256s. The data: the second MiB of
#                                 blk_pattern=vdY if given (no wait for the
#                                 guest's entropy), else from /dev/urandom
#   blk_reload=vdX                rmmod virtio_blk (the driver resets every
#                                 device), insmod blk_module again (it sets
#                                 each one up anew), then read vdX's first MiB
#                                 bypassing the page cache and print its sha256
# Always, when SLUB debugging is on: "slub red_zone=1" (kmalloc-64's flag).
# Every line starts with "L2: blk ".
arg() {
  for w in $(cat /proc/cmdline); do
    case $w in "$1"=*) echo "${w#*=}"; return 0 ;; esac
  done
  return 1
}
say() { echo "L2: blk $*"; }
sha() { sha256sum "$@" | cut -d' ' -f1; }
mount -t tmpfs tmpfs /tmp 2>/dev/null

# wait_dev vdX: until /dev/vdX exists (the probe adds it), at most 10 s.
wait_dev() {
  i=0
  while [ ! -b "/dev/$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -b "/dev/$1" ]
}

if module=$(arg blk_module); then
  if insmod "$module" 2>/tmp/insmod.err; then
    say "module loaded: $(grep -o '^virtio_blk [0-9]*' /proc/modules)"
  else
    say "insmod $module failed: $(cat /tmp/insmod.err)"
  fi
fi
rz=/sys/kernel/slab/kmalloc-64/red_zone
[ "$(cat $rz 2>/dev/null)" = 1 ] && say "slub red_zone=1"

for b in /sys/block/vd*; do
  [ -e "$b" ] || continue
  say "${b##*/} sectors=$(cat "$b/size") ro=$(cat "$b/ro") dev=$(cat "$b/dev")"
done

if sums=$(arg blk_sum); then
  for d in $(echo "$sums" | tr , ' '); do
    say "$d sha256=$(sha "/dev/$d")"
  done
fi

if token=$(arg blk_token); then
  f=$(arg blk_file) || f=/ember-token
  if echo "$token" >"$f" && sync; then
    say "wrote $f: $(cat "$f")"
  else
    say "writing $f failed"
  fi
fi

if ro=$(arg blk_ro); then
  say "$ro sha256=$(sha "/dev/$ro")"
  if dd if=/dev/zero of="/dev/$ro" bs=4096 count=1 conv=notrunc,fsync 2>/tmp/dd.err; then
    say "$ro write accepted"
  else
    say "$ro write refused: $(grep -v records /tmp/dd.err | tail -n1)"
  fi
fi

if s=$(arg blk_scratch); then
  if p=$(arg blk_pattern); then
    dd if="/dev/$p" of=/tmp/pattern bs=65536 skip=16 count=16 2>/dev/null
  else
    dd if=/dev/urandom of=/tmp/pattern bs=65536 count=16 2>/dev/null
  fi
  if dd if=/tmp/pattern of="/dev/$s" bs=65536 conv=notrunc,fsync 2>/tmp/dd.err; then
    say "$s wrote sha256=$(sha /tmp/pattern)"
  else
    say "$s write failed: $(grep -v records /tmp/dd.err | tail -n1)"
  fi
  # The kernel logs drop_caches at KERN_INFO on the console, where it can land in the
  # middle of the line above (2 vCPUs): only warnings and worse from here on.
  echo 4 >/proc/sys/kernel/printk 2>/dev/null
  echo 3 >/proc/sys/vm/drop_caches
  say "$s read sha256=$(dd if="/dev/$s" bs=65536 count=16 iflag=direct 2>/dev/null | sha)"
fi
if r=$(arg blk_reload); then
  if ! rmmod virtio_blk 2>/tmp/rmmod.err; then
    say "rmmod virtio_blk failed: $(cat /tmp/rmmod.err)"
  elif [ -e "/sys/block/$r" ]; then
    say "$r still there after rmmod"
  elif ! insmod "$(arg blk_module)" 2>/tmp/insmod.err; then
    say "insmod again failed: $(cat /tmp/insmod.err)"
  elif ! wait_dev "$r"; then
    say "$r did not come back after insmod"
  else
    say "$r after reload sha256=$(dd if="/dev/$r" bs=65536 count=16 iflag=direct 2>/dev/null | sha)"
  fi
fi
sync
