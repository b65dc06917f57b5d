#!/usr/bin/env bash
# Nested: a Linux guest snapshotted and restored twice at once (issue 17, item
# 5). In L1 the harness's ember starts with only --api-sock and is the
# template; l1-snapshot.sh configures it over the API with curl: 2 vCPUs,
# 256 MiB, one drive (a 1 MiB file of random data made here, read-only) and
# eth0 on tap0 (10.0.2.1/24 in L1) with a fixed MAC. L2 (l2-snapshot.sh)
# reads the drive, sets eth0 10.0.2.2/24 and counts ("L2: count N up=S",
# every 0.3 s; every 5th count it re-reads the drive bypassing the page
# cache). Once L2 answers ping, L1 lets it count 3 s, pauses it, snapshots it
# and kills it with SIGKILL (so ember exits 137). Then two fresh embers load
# the snapshot at once with resume_vm, clone b with network_overrides onto
# tap1. Each clone must go on counting from where the template stopped (its
# first count follows the template's last, by at most 3: no restart, no
# skipped time), re-read the drive after the restore with the file's sha256,
# and answer ping on its TAP (b on tap1, a on tap0, L1's address moved
# between them so only one TAP can answer); both still run at the end and
# stop on SIGTERM.
export NAME=snapshot
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
command -v curl >/dev/null || skip "curl is not installed"
mac=02:00:5e:00:53:17

tmp=$(mktemp -d "$NESTED_WORK/snapshot.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
head -c 1048576 /dev/urandom >"$tmp/drive.img"
sum=$(sha256sum <"$tmp/drive.img" | cut -d' ' -f1)

HARNESS_OPTS=(--tap tap0=10.0.2.1/24 --tap tap1 --l1-hook "$NESTED_DIR/l1-snapshot.sh"
              --file "$tmp/drive.img=/srv/drive.img" --file "$(command -v curl)=/usr/bin/curl")
while read -r lib; do
  HARNESS_OPTS+=(--file "$lib=$lib")
done < <(ldd "$(command -v curl)" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)

nested snapshot "$L2_VMLINUX" --api-sock /tmp/snap/tmpl.sock

# The template: configured, booted, counting, paused, snapshotted, killed.
expect taps '^NESTED: tap tap1 \(no address\) ready'
expect drive "^L1: snapshot drive /srv/drive.img bytes=1048576 sha256=$sum\$"
expect start '^L1: snapshot api tmpl.sock PUT /actions 204'
expect l2-drive "^L2: snap vda sectors=2048 ro=1 sha256=$sum\$"
expect l2-eth0 "^L2: snap eth0 mac=$mac ip=10.0.2.2/24\$"
expect template-ping '^L1: snapshot template ping tap0 status=0 '
expect pause '^L1: snapshot api tmpl.sock PATCH /vm 204'
expect paused '^L1: snapshot api tmpl.sock GET / 200 .*"state":"Paused"'
expect create '^L1: snapshot api tmpl.sock PUT /snapshot/create 204'
expect files '^L1: snapshot snapshot created in .* state=600 [0-9]+ mem=600 268439552 '
expect killed '^L1: snapshot template killed \(SIGKILL'
expect_exit template 137
# Only the template's console lines start with "L2:" (post prints the
# clones' behind "a| " and "b| ").
tcounts=$(sed -n '/^NESTED: running ember/,/^NESTED: ember exit=/s/^L2: count \([0-9]*\) up=.*/\1/p' "$LAST_LOG")
tlast=$(tail -n1 <<<"$tcounts")
if [ -z "$tlast" ] || [ "$(wc -l <<<"$tcounts")" -lt 3 ]; then
  fail "template: fewer than 3 counts before the snapshot: ${tcounts//$'\n'/ }"
fi
tup=$(sed -n "s/^L2: count $tlast up=\\([0-9.]*\\).*/\\1/p" "$LAST_LOG" | tail -n1)
expect template-reread "^L2: count [0-9]+ vda sha256=$sum\$"

# The clones.
expect load-a '^L1: snapshot api a.sock PUT /snapshot/load 204'
expect load-b '^L1: snapshot api b.sock PUT /snapshot/load 204'
expect running-a '^L1: snapshot api a.sock GET / 200 .*"state":"Running"'
expect running-b '^L1: snapshot api b.sock GET / 200 .*"state":"Running"'
expect override '^L1: snapshot api b.sock GET /vm/config 200 .*"host_dev_name":"tap1"'
for c in a b; do
  line=$(grep -E "^L1: snapshot clone $c counts=" "$LAST_LOG" | tail -n1)
  [[ $line =~ counts=([0-9]+)\ first=([0-9]+)\ up=([0-9.]+)\ last=([0-9]+) ]] ||
    fail "clone $c: no counts after the restore (${line:-no summary})"
  n=${BASH_REMATCH[1]} first=${BASH_REMATCH[2]} up=${BASH_REMATCH[3]} last=${BASH_REMATCH[4]}
  echo "$NAME: template's last count $tlast at up=$tup; clone $c: first $first at up=$up," \
    "last $last, $n counts" >&2
  # The count goes on: not from 1, and no more lost than the one or two lines
  # in flight at the pause (written by the guest, sent out by the clone).
  [ "$first" -gt "$tlast" ] ||
    fail "clone $c: first count $first after the restore, the template's last was $tlast (restarted?)"
  [ "$first" -le $((tlast + 3)) ] ||
    fail "clone $c: first count $first after the restore, the template's last was $tlast (counts lost)"
  if [ "$n" -lt 5 ] || [ "$last" -lt $((first + 4)) ]; then
    fail "clone $c: only $n counts ($first..$last) after the restore"
  fi
  # The guest's clock goes on from the snapshot's (kvmclock restored): never
  # back, and not by more than the pause, the snapshot and the restore take
  # (1-4 s under TCG; 15 s allows a loaded machine).
  awk -v a="$tup" -v b="$up" 'BEGIN { exit !(b > a && b < a + 15) }' ||
    fail "clone $c: guest uptime $up at its first count, the template's last was $tup"
  expect "clone $c: drive" "^L1: snapshot clone $c vda after restore: count=[0-9]+ sha256=$sum\$"
  expect "clone $c: alive" "^L1: snapshot clone $c alive "
done
expect ping-b '^L1: snapshot clone b ping tap1 status=0 3 packets transmitted, 3 packets received, 0% packet loss'
expect ping-a '^L1: snapshot clone a ping tap0 status=0 3 packets transmitted, 3 packets received, 0% packet loss'
! grep -q '^L1: snapshot clone . still running 10 s after SIGTERM' "$LAST_LOG" ||
  fail "a clone ignored SIGTERM: $(grep -m1 'still running 10 s after SIGTERM' "$LAST_LOG")"
bad='Kernel panic|BUG:|Oops|soft lockup|hung_task|rcu.*stall'
! grep -Eq "$bad" "$LAST_LOG" || fail "a guest kernel complained: $(grep -Em1 "$bad" "$LAST_LOG")"
pass
