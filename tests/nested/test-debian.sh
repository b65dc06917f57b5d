#!/usr/bin/env bash
# Nested: a whole Debian 12 system under ember, as a user would run one. Debian's own
# cloud kernel (unmodified, found its machine through ember's ACPI tables), Debian's own
# initramfs (mkinitramfs, virtio_mmio/virtio_blk/virtio_net as modules) and a Debian root
# file system (scripts/debian-rootfs.sh: debootstrap, systemd) on virtio-blk, with 2
# vCPUs and eth0 on a TAP. The test waits for the login prompt on the serial console,
# logs in as root, has the guest's shell compute a marker and report its CPUs and MAC,
# waits until L1 can ping the guest (systemd-networkd set 10.0.2.2/24), then types
# "poweroff": systemd shuts down, the kernel powers off through the FADT's sleep
# register, and ember exits 0.
# Synchronisation is by reading the console line by line. DEBIAN_STEP_TIMEOUT (default
# 300 s: systemd under nested TCG is slow) bounds each wait.
export NAME=debian
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)
[ -n "$kernel" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (scripts/host-deps.sh installs linux-image-cloud-amd64)"
preflight "$kernel"
step_timeout=${DEBIAN_STEP_TIMEOUT:-300}
mac=02:00:5e:00:53:12
export PATH=$PATH:/usr/sbin:/sbin

tmp=$(mktemp -d "$NESTED_WORK/debian.XXXXXX") || fail "mktemp failed"
"$ROOT/scripts/debian-rootfs.sh" "$tmp/root.img" || fail "building the Debian root file system failed"
kver=${kernel#/boot/vmlinuz-}
initrd=$tmp/initrd.img
conf=$tmp/initramfs-tools
cp -r /etc/initramfs-tools "$conf"
printf '%s\n' virtio_mmio virtio_blk virtio_net >"$conf/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$conf/initramfs.conf"
mkinitramfs -d "$conf" -o "$initrd" "$kver" >&2 || fail "mkinitramfs $kver failed"

LAST_LOG=$LOGDIR/$NAME.log
: >"$LAST_LOG"
hpid=
stop_harness() {
  [ -n "$hpid" ] || return 0
  pkill -TERM -s "$hpid" 2>/dev/null || kill -TERM "$hpid" 2>/dev/null
  wait "$hpid" 2>/dev/null
  hpid=
}
trap 'stop_harness; rm -rf "$tmp"' EXIT
mkfifo "$tmp/in" "$tmp/out" || fail "mkfifo failed"

t0=$SECONDS
setsid -w "$NESTED_DIR/nested-run.sh" --stdin --ember "$EMBER" --kernel "$kernel" \
  --initrd "$initrd" --disk "$tmp/root.img" --tap tap0=10.0.2.1/24 \
  --l1-hook "$NESTED_DIR/l1-debian.sh" --l1-mem 1536 --timeout "${NESTED_DEBIAN_TIMEOUT:-900}" -- \
  --kernel @KERNEL@ --initrd @INITRD@ --vcpus 2 --mem 512 --level Info \
  --drive path=@DISK0@,root,id=root,engine=async --net "tap=tap0,mac=$mac,id=net0" \
  <"$tmp/in" >"$tmp/out" 2>"$LAST_LOG.err" &
hpid=$!
exec {to}<>"$tmp/in" {from}<"$tmp/out"
send() {
  echo "$NAME: +$((SECONDS - t0))s: typing: $1" >&2
  printf '%s\n' "$1" >&"$to"
}

# States: boot (until the login prompt), login (until the motd), answer (until the
# marker), ping (until L1 reached the guest), end (until the console ends).
state=boot
step_end=$((SECONDS + step_timeout))
why=
pinged=
while :; do
  left=$((step_end - SECONDS))
  if [ "$left" -le 0 ]; then
    why="timeout (${step_timeout}s) in state '$state'"
    break
  fi
  line=
  if IFS= read -r -t "$left" -u "$from" line; then
    printf '%s\n' "$line" >>"$LAST_LOG"
  else
    st=$?
    [ -z "$line" ] || printf '%s\n' "$line" >>"$LAST_LOG"
    [ "$st" -gt 128 ] && why="timeout (${step_timeout}s) in state '$state'"
    break
  fi
  case $line in "L1: debian ping 10.0.2.2 answered"*) pinged=1 ;; esac
  case $state:$line in
    boot:*"ember-debian: login prompt on ttyS0"*)
      echo "$NAME: +$((SECONDS - t0))s: login prompt" >&2
      send root
      state=login step_end=$((SECONDS + step_timeout)) ;;
    login:*"The programs included with the Debian GNU/Linux system are free software"*)
      # shellcheck disable=SC2016 # expanded by the guest's shell
      send 'echo debian-$((6*7))-ok cpus=$(nproc) mac=$(grep -hv 00:00:00:00:00:00 /sys/class/net/*/address) root=$(findmnt -no SOURCE /)'
      state=answer step_end=$((SECONDS + step_timeout)) ;;
    answer:*debian-42-ok*)
      state=ping step_end=$((SECONDS + step_timeout)) ;;
  esac
  if [ "$state" = ping ] && [ -n "$pinged" ]; then
    send poweroff
    state=end step_end=$((SECONDS + step_timeout))
  fi
done
exec {to}>&- {from}<&-
if [ -n "$why" ]; then
  stop_harness
  fail "$why"
fi
rc=0
wait "$hpid" || rc=$?
hpid=
echo "$NAME: harness status $rc after $((SECONDS - t0))s (log $LAST_LOG)" >&2
case $rc in
  0) ;;
  2) skip "L1 (QEMU TCG) has no /dev/kvm" ;;
  124) fail "timeout" ;;
  *) cat "$LAST_LOG.err" >&2; fail "nested harness failed (status $rc)" ;;
esac
EMBER_RC=$(sed -n 's/^NESTED: ember exit=\([0-9]*\).*/\1/p' "$LAST_LOG" | tail -n1)
[ "$state" = end ] || fail "console ended in state '$state'"
expect acpi '\] ACPI: APIC 0x00000000000E'
expect virtio-blk 'virtio_blk virtio[0-9]+: \[vda\]'
expect login 'ember-debian login:'
expect answer "debian-42-ok cpus=2 mac=$mac root=/dev/vda"
expect ping '^L1: debian ping 10.0.2.2 answered'
expect poweroff 'guest powered off through ACPI \(S5\)'
expect_exit poweroff 0
pass
