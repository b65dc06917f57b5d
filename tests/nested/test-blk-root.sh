#!/usr/bin/env bash
# Nested: Linux on ember's virtio-blk. Three drives, each a different case:
#   vda  the root: an ext4 image (make-rootfs-img.sh) attached to L1 as a
#        disk, given to ember as a block device with engine=async; L2 boots
#        from it (root=/dev/vda rw, no initrd), writes a random token to a
#        file, syncs and reboots; ember exits 0; on the host the image passes
#        e2fsck (journal replayed) and debugfs finds the token in the file
#   vdb  read-only (ro): 2 MiB of random data attached to L1 as a writable
#        disk (so only ember guards it); L2 sees ro=1 and the host's sha256,
#        its write attempt fails, and the host file is unchanged afterwards
#   vdc  a regular file in L1 (l1-blk.sh), engine=sync: L2 writes the second
#        MiB of vdb to it with fsync and reads it back; L1 finds those bytes
#        in the file
# L2 has 2 vCPUs, so notifications and completions can be on either.
export NAME=blk-root
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
command -v debugfs >/dev/null && command -v e2fsck >/dev/null ||
  export PATH=$PATH:/sbin:/usr/sbin
command -v debugfs >/dev/null || fail "debugfs not found (e2fsprogs)"

base=$NESTED_WORK/rootfs.img
"$NESTED_DIR/make-rootfs-img.sh" "$base" >&2 || fail "building the root image failed"
tmp=$(mktemp -d "$NESTED_WORK/blk.XXXXXX") || fail "mktemp failed"
[ -n "${NESTED_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
cp --sparse=always "$base" "$tmp/root.img"
head -c 2097152 /dev/urandom >"$tmp/ro.img"
ro_sum=$(sha256sum <"$tmp/ro.img" | cut -d' ' -f1)
mib2_sum=$(dd if="$tmp/ro.img" bs=1048576 skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
token=ember-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

HARNESS_OPTS=(--disk "$tmp/root.img" --disk "$tmp/ro.img" --l1-hook "$NESTED_DIR/l1-blk.sh")
nested blk "$L2_VMLINUX" --kernel @KERNEL@ --mem "$L2_MEM" --vcpus 2 \
  --drive path=@DISK0@,root,id=root,engine=async \
  --drive path=@DISK1@,ro,id=ro \
  --drive path=/tmp/scratch.img,id=scratch,engine=sync \
  --cmdline "l2test=run:/tests/blk.sh blk_token=$token blk_ro=vdb blk_scratch=vdc blk_pattern=vdb"

# L2's view.
expect boot '^L2: init reached'
expect root '^L2: root=vda ext4 rw$'
expect vda-size "^L2: blk vda sectors=$(( $(stat -c %s "$tmp/root.img") / 512 )) ro=0 "
expect vdb-ro '^L2: blk vdb sectors=4096 ro=1 '
expect vdc-size '^L2: blk vdc sectors=2048 ro=0 '
expect token "^L2: blk wrote /ember-token: $token\$"
expect vdb-read "^L2: blk vdb sha256=$ro_sum\$"
expect vdb-refused '^L2: blk vdb write refused'
expect vdc-wrote "^L2: blk vdc wrote sha256=$mib2_sum\$"
expect vdc-read "^L2: blk vdc read sha256=$mib2_sum\$"
expect vdc-l1 "^L1: blk scratch sha256=$mib2_sum\$"
expect script '^L2: run /tests/blk.sh status=0$'
expect_exit blk 0

# The host's view of the images.
[ "$(sha256sum <"$tmp/ro.img" | cut -d' ' -f1)" = "$ro_sum" ] ||
  fail "ro: the read-only image changed on the host"
fsck_rc=0
e2fsck -fy "$tmp/root.img" >"$LAST_LOG.fsck" 2>&1 || fsck_rc=$?
[ "$fsck_rc" -le 1 ] || { cat "$LAST_LOG.fsck" >&2; fail "e2fsck of the root image: status $fsck_rc"; }
got=$(debugfs -R 'cat /ember-token' "$tmp/root.img" 2>/dev/null)
[ "$got" = "$token" ] || fail "host: /ember-token in the image is '$got', expected '$token'"
pass
