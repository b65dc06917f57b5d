#!/usr/bin/env bash
# Nested: the guest of issue 15 and its relatives, each with two drives and one
# vCPU, as reported; every request Linux makes with more than one segment goes
# through an indirect table (INDIRECT_DESC is offered):
#   slob        a second L2 kernel built unlike the first (make guest-kernel-slob:
#               SLOB, whose kmalloc gives indirect tables only 8-byte alignment;
#               ember once refused them and the guest hung at its first block
#               request), with virtio_blk as a module: loaded from the initrd,
#               then unloaded and loaded again at the end (the driver resets
#               both devices and sets them up anew), vda read back once more
#   slub-debug  the first kernel with slub_debug=FZPU: red zones before each
#               kmalloc object move its tables off 16-byte alignment too
# In each:
#   vda  a regular file in L1 (l1-blk.sh), written by L2 with fsync (1 MiB, the
#        second MiB of vdb) and read back bypassing the page cache; L1 finds
#        the same bytes in the file
#   vdb  ro: 2 MiB of random data; L2 reads the host's sha256, its write fails,
#        the host file is unchanged
export NAME=slob-blk
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
SLOB_DIR=${L2_SLOB_DIR:-$(dirname "$L2_KDIR")/guest-kernel-slob}
preflight "$SLOB_DIR/vmlinux" "$L2_VMLINUX"
grep -qx 'CONFIG_SLOB=y' "$SLOB_DIR/config" ||
  fail "$SLOB_DIR/config: not a SLOB kernel (make guest-kernel-slob)"
[ -f "$SLOB_DIR/modules/virtio_blk.ko" ] ||
  fail "$SLOB_DIR/modules/virtio_blk.ko missing (make guest-kernel-slob)"
grep -qx 'CONFIG_SLUB_DEBUG=y' "$(dirname "$L2_VMLINUX")/config" ||
  fail "$(dirname "$L2_VMLINUX")/config: no CONFIG_SLUB_DEBUG"

tmp=$(mktemp -d "$NESTED_WORK/slob.XXXXXX") || fail "mktemp failed"
[ -n "${NESTED_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
head -c 2097152 /dev/urandom >"$tmp/ro.img"
ro_sum=$(sha256sum <"$tmp/ro.img" | cut -d' ' -f1)
mib2_sum=$(dd if="$tmp/ro.img" bs=1048576 skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)

# The SLOB kernel's initrd: the common one plus its virtio_blk.ko (the kernel
# reads concatenated cpio archives as one).
mkdir -p "$tmp/mod/lib/modules"
cp "$SLOB_DIR/modules/virtio_blk.ko" "$tmp/mod/lib/modules/"
(cd "$tmp/mod" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip) >"$tmp/mod.cpio.gz"
cat "$L2_INITRD" "$tmp/mod.cpio.gz" >"$tmp/initrd-slob.cpio.gz"

HARNESS_OPTS=(--disk "$tmp/ro.img" --l1-hook "$NESTED_DIR/l1-blk.sh")
BLK_ARGS="l2test=run:/tests/blk.sh blk_ro=vdb blk_scratch=vda blk_pattern=vdb"

# two_drives LABEL KERNEL INITRD CMDLINE...: one run; the checks every run shares.
two_drives() {
  local label=$1 kernel=$2
  L2_INITRD=$3
  shift 3
  nested "$label" "$kernel" --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" --vcpus 1 \
    --drive path=/tmp/scratch.img,id=scratch --drive path=@DISK0@,ro,id=ro \
    --cmdline "$BLK_ARGS $*"
  expect "$label: boot" '^L2: init reached'
  expect "$label: vda-size" '^L2: blk vda sectors=2048 ro=0 '
  expect "$label: vdb-ro" '^L2: blk vdb sectors=4096 ro=1 '
  expect "$label: vdb-read" "^L2: blk vdb sha256=$ro_sum\$"
  expect "$label: vdb-refused" '^L2: blk vdb write refused'
  expect "$label: vda-wrote" "^L2: blk vda wrote sha256=$mib2_sum\$"
  expect "$label: vda-read" "^L2: blk vda read sha256=$mib2_sum\$"
  expect "$label: vda-l1" "^L1: blk scratch sha256=$mib2_sum\$"
  expect "$label: script" '^L2: run /tests/blk.sh status=0$'
  ! grep -q 'needs reset' "$LAST_LOG" ||
    fail "$label: ember marked a drive NEEDS_RESET: $(grep -m1 'needs reset' "$LAST_LOG")"
  expect_exit "$label" 0
  [ "$(sha256sum <"$tmp/ro.img" | cut -d' ' -f1)" = "$ro_sum" ] ||
    fail "$label: the read-only image changed on the host"
}

common_initrd=$L2_INITRD
two_drives slob "$SLOB_DIR/vmlinux" "$tmp/initrd-slob.cpio.gz" \
  blk_module=/lib/modules/virtio_blk.ko blk_reload=vda
expect "slob: module" '^L2: blk module loaded: virtio_blk '
expect "slob: reload" "^L2: blk vda after reload sha256=$mib2_sum\$"

two_drives slub-debug "$L2_VMLINUX" "$common_initrd" slub_debug=FZPU
expect "slub-debug: red zones" '^L2: blk slub red_zone=1$'
pass
