#!/usr/bin/env bash
# Nested: the guest of issue 15. A second L2 kernel built unlike the first
# (make guest-kernel-slob: SLOB, whose kmalloc gives virtio's indirect tables only
# 8-byte alignment; ember once refused them and the guest hung at its first block
# request) boots from the initrd with two drives, one vCPU, as reported:
#   vda  a regular file in L1 (l1-blk.sh), written by L2 with fsync (1 MiB, the
#        second MiB of vdb) and read back bypassing the page cache; L1 finds
#        the same bytes in the file
#   vdb  ro: 2 MiB of random data; L2 reads the host's sha256, its write fails,
#        the host file is unchanged
# Every request Linux makes here with more than one segment goes through an
# indirect table (INDIRECT_DESC is offered).
export NAME=slob-blk
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
L2_SLOB=${L2_SLOB:-$(dirname "$L2_KDIR")/guest-kernel-slob/vmlinux}
preflight "$L2_SLOB"
grep -qx 'CONFIG_SLOB=y' "$(dirname "$L2_SLOB")/config" ||
  fail "$(dirname "$L2_SLOB")/config: not a SLOB kernel (make guest-kernel-slob)"

tmp=$(mktemp -d "$NESTED_WORK/slob.XXXXXX") || fail "mktemp failed"
[ -n "${NESTED_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
head -c 2097152 /dev/urandom >"$tmp/ro.img"
ro_sum=$(sha256sum <"$tmp/ro.img" | cut -d' ' -f1)
mib2_sum=$(dd if="$tmp/ro.img" bs=1048576 skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)

HARNESS_OPTS=(--disk "$tmp/ro.img" --l1-hook "$NESTED_DIR/l1-blk.sh")
nested slob "$L2_SLOB" --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" --vcpus 1 \
  --drive path=/tmp/scratch.img,id=scratch \
  --drive path=@DISK0@,ro,id=ro \
  --cmdline "l2test=run:/tests/blk.sh blk_ro=vdb blk_scratch=vda blk_pattern=vdb"

expect boot '^L2: init reached'
expect vda-size '^L2: blk vda sectors=2048 ro=0 '
expect vdb-ro '^L2: blk vdb sectors=4096 ro=1 '
expect vdb-read "^L2: blk vdb sha256=$ro_sum\$"
expect vdb-refused '^L2: blk vdb write refused'
expect vda-wrote "^L2: blk vda wrote sha256=$mib2_sum\$"
expect vda-read "^L2: blk vda read sha256=$mib2_sum\$"
expect vda-l1 "^L1: blk scratch sha256=$mib2_sum\$"
expect script '^L2: run /tests/blk.sh status=0$'
grep -q 'needs reset' "$LAST_LOG" && fail "ember marked a drive NEEDS_RESET: $(grep -m1 'needs reset' "$LAST_LOG")"
expect_exit slob 0
[ "$(sha256sum <"$tmp/ro.img" | cut -d' ' -f1)" = "$ro_sum" ] ||
  fail "ro: the read-only image changed on the host"
pass
