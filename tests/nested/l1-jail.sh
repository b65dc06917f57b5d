#!/bin/sh
# L1 hook of tests/nested/test-jail.sh (nested-run.sh --l1-hook, with
# --l1-switch-root): what a host gives a jailed ember, and a look at the
# jailed ember from outside. Parameters in /l1/jail.env (JAIL_UID, JAIL_GID,
# JAIL_ID, JAIL_BASE, JAIL_RO, JAIL_TAP); disk 0 is $NESTED_DISK0.
#   pre   cgroup2 on /sys/fs/cgroup (ember enables cpu, memory, pids itself);
#         disk 0 (a block device) owned by the uid, 0600; JAIL_RO: 1 MiB of
#         random data owned by the uid, 0400, and its sha256; an httpd on
#         port 8000 (/www); in the background, the sampler: once ember runs
#         as JAIL_UID and L2 has sent its first frame on the TAP (so L2 is
#         past its drives), it records each thread's ids, capabilities,
#         no_new_privs and seccomp mode from /proc/PID/task/*/status,
#         ember's root (its entries, whether it is the jail's directory),
#         mount points and cgroup, then serves /www/sampled, which L2
#         (l2-jail.sh) waits for before it reboots
#   post  prints the sampler's lines and JAIL_RO's sha256 again
# Every line starts with "L1: jail ".
. /l1/jail.env
say() { echo "L1: jail $*"; }
sample() {
  i=0 pid=
  while [ $i -lt 600 ]; do
    pid=$(pidof ember) && pid=${pid%% *} &&
      [ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "$JAIL_UID" ] && break
    pid=
    sleep 0.2
    i=$((i + 1))
  done
  [ -n "$pid" ] || { say "no ember running as uid $JAIL_UID after 120 s"; return; }
  i=0
  while [ "$(cat "/sys/class/net/$JAIL_TAP/statistics/rx_packets")" = 0 ] && [ $i -lt 600 ]; do
    sleep 0.2
    i=$((i + 1))
  done
  say "pid=$pid tap_rx_packets=$(cat "/sys/class/net/$JAIL_TAP/statistics/rx_packets")"
  n=0
  for t in /proc/"$pid"/task/*; do
    # A thread that ended meanwhile (an idle io_uring worker) does not count.
    st=$(cat "$t/status" 2>/dev/null) && [ -n "$st" ] || continue
    # "Uid=1,1,1,1 Gid=... CapEff=0000000000000000 ... Seccomp=2"
    say "thread ${t##*/} comm=$(echo "$st" | awk '/^Name:/ { print $2 }') $(echo "$st" | awk '
      /^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):/ {
        k = $1; sub(":", "", k); v = $2; for (i = 3; i <= NF; i++) v = v "," $i
        printf "%s=%s ", k, v }')"
    n=$((n + 1))
  done
  say "threads=$n"
  say "root entries: $(ls -A "/proc/$pid/root/" | tr '\n' ' ')"
  a=$(stat -L -c %d:%i "/proc/$pid/root/") b=$(stat -c %d:%i "$JAIL_BASE/ember/$JAIL_ID/root")
  s=no; [ "$a" = "$b" ] && s=yes
  say "root is $JAIL_BASE/ember/$JAIL_ID/root: $s ($a, $b)"
  say "mounts: $(awk '{ print $5 }' "/proc/$pid/mountinfo" | sort | tr '\n' ' ')"
  say "cgroup: $(tr '\n' ' ' <"/proc/$pid/cgroup")"
  echo "$pid" >/www/sampled
}
case $1 in
  pre)
    if mount -t cgroup2 cgroup2 /sys/fs/cgroup; then
      say "cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
    else
      say "mounting cgroup2 failed"
    fi
    chown "$JAIL_UID:$JAIL_GID" "$NESTED_DISK0" && chmod 0600 "$NESTED_DISK0"
    say "disk0 $(stat -c '%n %F %u:%g %a' "$NESTED_DISK0")"
    mkdir -p "$(dirname "$JAIL_RO")"
    dd if=/dev/urandom of="$JAIL_RO" bs=65536 count=16 2>/dev/null
    chown "$JAIL_UID:$JAIL_GID" "$JAIL_RO" && chmod 0400 "$JAIL_RO"
    say "ro $(stat -c '%n %u:%g %a' "$JAIL_RO") sha256=$(sha256sum "$JAIL_RO" | cut -d' ' -f1)"
    mkdir -p /www
    httpd -p 8000 -h /www || say "httpd failed"
    sample >/tmp/jail.sample 2>&1 & ;;
  post)
    cat /tmp/jail.sample
    say "ro after sha256=$(sha256sum "$JAIL_RO" | cut -d' ' -f1)" ;;
esac
