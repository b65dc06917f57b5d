#!/usr/bin/env bash
# Nested: Linux in a jailed ember (--jail), with a drive on each kind of file
# and a TAP. L1 switch_roots onto a tmpfs first (--l1-switch-root: pivot_root
# cannot leave an initramfs), mounts cgroup2, owns the TAP and the drives to
# the jail's uid (l1-jail.sh); ember runs as uid 4321, gid 4322:
#   vda  a host file (2 MiB random) attached to L1 as a disk, i.e. an L1 block
#        device, engine=async: L2 reads the host's sha256, copies its second
#        MiB over its first (fsync, read back O_DIRECT); after QEMU exits the
#        host file's first MiB is the old second MiB, the second unchanged
#   vdb  a regular L1 file (1 MiB random, 0400 for the uid), ro: L2 reads
#        L1's sha256, its write is refused, L1's file unchanged
#   net  tap0 (10.0.2.1/24, owned by the uid): L2 pings it, 3 of 3 answered,
#        then fetches L1's http "sampled" marker (see below) over TCP
# While ember runs, L1 looks at it from outside (l1-jail.sh): every thread
# has uid and gid the jail's (real, effective, saved, fs), no supplementary
# groups, CapEff/CapPrm/CapBnd/CapAmb 0, NoNewPrivs 1, Seccomp 2 (filter);
# its root is <base>/ember/<id>/root and holds only dev, l2 (kernel, initrd)
# and var (the ro drive); its mount table is exactly the jail's; its cgroup
# is /ember/<id>. L2 reboots and ember exits 0.
# JAIL_EXTRA_ARGS: more ember arguments (e.g. --no-seccomp, to watch it fail).
export NAME=jail
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
command -v musl-gcc >/dev/null || command -v cc >/dev/null || fail "no musl-gcc or cc (for l1-tap-owner)"
juid=4321 jgid=4322 jid=nested-jail base=/srv/ember ro=/var/jail/ro.img
mac=02:00:5e:00:53:03

tmp=$(mktemp -d "$NESTED_WORK/jail.XXXXXX") || fail "mktemp failed"
[ -n "${NESTED_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
head -c 2097152 /dev/urandom >"$tmp/disk.img"
disk_sum=$(sha256sum <"$tmp/disk.img" | cut -d' ' -f1)
mib2_sum=$(dd if="$tmp/disk.img" bs=1048576 skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
cat >"$tmp/jail.env" <<ENV
JAIL_UID=$juid
JAIL_GID=$jgid
JAIL_ID=$jid
JAIL_BASE=$base
JAIL_RO=$ro
JAIL_TAP=tap0
ENV

HARNESS_OPTS=(--l1-switch-root --disk "$tmp/disk.img" --tap "tap0=10.0.2.1/24,user=$juid:$jgid"
              --file "$tmp/jail.env=/l1/jail.env" --l1-hook "$NESTED_DIR/l1-jail.sh")
# shellcheck disable=SC2086
nested jail "$L2_VMLINUX" --jail --id "$jid" --uid "$juid" --gid "$jgid" --chroot-base "$base" \
  --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" --vcpus 2 --level Info \
  --drive path=@DISK0@,id=disk,engine=async --drive "path=$ro,ro,id=ro" \
  --net "tap=tap0,mac=$mac,id=net0" ${JAIL_EXTRA_ARGS:-} \
  --cmdline "l2test=run:/tests/jail.sh blk_sum=vda blk_ro=vdb blk_scratch=vda blk_pattern=vda net_ip=10.0.2.2/24 net_peer=10.0.2.1"

# L1 as the host of a jail.
expect switch-root '^NESTED: root switched: tmpfs on /$'
expect tap "^NESTED: tap tap0 10.0.2.1/24 ready owner=$juid group=$jgid\$"
expect cgroup2 '^L1: jail cgroup2 controllers: .*\<cpu\>.*\<memory\>.*\<pids\>'
expect disk0 "^L1: jail disk0 /dev/vd[a-z] block special file $juid:$jgid 600\$"
ro_sum=$(sed -n "s|^L1: jail ro $ro $juid:$jgid 400 sha256=\([0-9a-f]\{64\}\)\$|\1|p" "$LAST_LOG")
[ -n "$ro_sum" ] || fail "L1: no ro drive made"
expect jailed "jailed in $base/ember/$jid/root as $juid:$jgid"

# ember from outside, while L2 runs.
expect sampled '^L1: jail pid=[0-9]+ tap_rx_packets=[1-9]'
threads=$(grep -c '^L1: jail thread ' "$LAST_LOG")
want=$(sed -n 's/^L1: jail threads=\([0-9]*\)$/\1/p' "$LAST_LOG")
[ "$threads" -ge 3 ] && [ "$threads" = "$want" ] ||
  fail "threads: $threads thread lines, L1 counted '${want:-none}' (main + 2 vCPUs at least)"
z=0000000000000000
ok=$(grep -cE "^L1: jail thread [0-9]+ comm=[^ ]+ Uid=$juid,$juid,$juid,$juid Gid=$jgid,$jgid,$jgid,$jgid Groups= CapInh=$z CapPrm=$z CapEff=$z CapBnd=$z CapAmb=$z NoNewPrivs=1 Seccomp=2 \$" "$LAST_LOG")
[ "$ok" = "$threads" ] || {
  grep -E '^L1: jail thread ' "$LAST_LOG" >&2
  fail "threads: $ok of $threads have uid $juid, gid $jgid, no groups, no capabilities, no_new_privs and a seccomp filter"
}
expect root-entries '^L1: jail root entries: dev l2 var $'
expect root-is-jail "^L1: jail root is $base/ember/$jid/root: yes "
expect mounts "^L1: jail mounts: / /dev /dev/vd[a-z] /l2/initrd /l2/kernel $ro \$"
expect cgroup "^L1: jail cgroup: 0::/ember/$jid \$"

# L2: the drives, the network, the end.
expect boot '^L2: init reached'
expect vda-size '^L2: blk vda sectors=4096 ro=0 '
expect vdb-size '^L2: blk vdb sectors=2048 ro=1 '
expect vda-read "^L2: blk vda sha256=$disk_sum\$"
expect vdb-read "^L2: blk vdb sha256=$ro_sum\$"
expect vdb-refused '^L2: blk vdb write refused'
expect vda-wrote "^L2: blk vda wrote sha256=$mib2_sum\$"
expect vda-read-back "^L2: blk vda read sha256=$mib2_sum\$"
expect ro-unchanged "^L1: jail ro after sha256=$ro_sum\$"
expect mac "^L2: jail eth0 mac=$mac "
expect ping '^L2: jail ping status=0 3 packets transmitted, 3 packets received, 0% packet loss'
expect l2-waited '^L2: jail L1 sampled: [0-9]+$'
expect script '^L2: run /tests/jail.sh status=0$'
expect reboot '^L2: rebooting'
expect_exit jail 0

# The host's file: L2's write landed, the rest is as it was.
got1=$(head -c 1048576 "$tmp/disk.img" | sha256sum | cut -d' ' -f1)
got2=$(dd if="$tmp/disk.img" bs=1048576 skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$got1" = "$mib2_sum" ] || fail "host: vda's first MiB is not what L2 wrote"
[ "$got2" = "$mib2_sum" ] || fail "host: vda's second MiB changed"
pass
