#!/bin/sh
# L1 hook of tests/nested/test-snapshot.sh (nested-run.sh --l1-hook). The
# harness's own /ember (started with only --api-sock /tmp/snap/tmpl.sock) is
# the template; two clones restored from its snapshot run in "post".
#   pre   a background job configures the template over the API with curl
#         (2 vCPUs, 256 MiB, the L2 kernel and initrd with l2test=run:
#         /tests/snapshot.sh, drive vda = /srv/drive.img read-only, eth0 on
#         tap0 with a fixed MAC), starts it, waits until L2 answers ping on
#         tap0 (L2 has read its drive and counts), lets it count a few
#         seconds, pauses it, snapshots it to /srv/snap/{state,mem} and kills
#         it with SIGKILL (the harness then reports "ember exit=137")
#   post  moves 10.0.2.1/24 from tap0 to tap1; starts two fresh embers with
#         only --api-sock, each with its own socket and stdout file, and
#         loads the snapshot into both at once (resume_vm; clone b with
#         network_overrides eth0 -> tap1); waits until each clone counted and
#         re-read its drive after the restore; pings clone b on tap1, then
#         (the address moved back) clone a on tap0; asks both for GET / and
#         b for GET /vm/config; stops them (SIGTERM, SIGKILL and a line if
#         one still runs 10 s later); prints each clone's
#         console ("a| ...", "b| ...") and ember's log ("a! ...", "b! ..."),
#         then the result lines
# Every result line starts with "L1: snapshot ". The template's console is
# the L1 console itself (before "NESTED: ember exit="); the test compares its
# last "L2: count N" with the clones' first.
D=/tmp/snap
SNAP=/srv/snap
MAC=02:00:5e:00:53:17
IP=10.0.2.2
PEER=10.0.2.1/24
say() { echo "L1: snapshot $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
secs() { cut -d. -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { print b - a }'; }
# api NAME METHOD PATH [BODY]: one request to $D/NAME.sock; sets $code, logs
# "L1: snapshot api NAME METHOD PATH CODE BODY" to $D/api.log.
api() {
  s=$D/$1.sock m=$2 p=$3
  shift 3
  if [ $# -ge 1 ]; then
    code=$(curl -s --max-time 60 --unix-socket "$s" -X "$m" -H 'Content-Type: application/json' \
      --data-binary "$1" -o "$D/body.${s##*/}" -w '%{http_code}' "http://localhost$p")
  else
    code=$(curl -s --max-time 60 --unix-socket "$s" -X "$m" -o "$D/body.${s##*/}" \
      -w '%{http_code}' "http://localhost$p")
  fi
  echo "L1: snapshot api ${s##*/} $m $p $code $(cat "$D/body.${s##*/}" 2>/dev/null)" >>"$D/api.log"
  rm -f "$D/body.${s##*/}"
  [ "$code" = 204 ] || [ "$code" = 200 ]
}
wait_sock() {
  i=0
  while [ ! -S "$1" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  [ -S "$1" ]
}
# ping_l2 COUNT WAIT: ping L2's address; "status=N <summary>".
ping_l2() {
  ping -c "$1" -W "$2" "$IP" >"$D/ping.out" 2>&1
  echo "status=$? $(grep 'packet loss' "$D/ping.out")"
}

# The template, in the background of "pre" (l1-init runs /ember meanwhile).
template() {
  wait_sock "$D/tmpl.sock" || { say "template: no API socket after 20 s"; return; }
  if ! api tmpl PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}' ||
     ! api tmpl PUT /boot-source '{"kernel_image_path": "/l2/kernel", "initrd_path": "/l2/initrd",
       "boot_args": "l2test=run:/tests/snapshot.sh snap_ip='"$IP"'/24 snap_k=5 snap_sleep=0.3"}' ||
     ! api tmpl PUT /drives/vda '{"drive_id": "vda", "path_on_host": "/srv/drive.img",
       "is_root_device": false, "is_read_only": true}' ||
     ! api tmpl PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0",
       "guest_mac": "'"$MAC"'"}' ||
     ! api tmpl PUT /actions '{"action_type": "InstanceStart"}'; then
    say "template: configuration failed"
    return
  fi
  say "template started at $(now)s"
  # L2 brings eth0 up after it read its drive, and then counts.
  i=0 r='' end=$(($(secs) + 90))
  while [ "$(secs)" -lt $end ]; do
    r=$(ping_l2 1 1)
    case $r in "status=0 "*) break ;; esac
    i=$((i + 1))
  done
  say "template ping tap0 $r (after $i tries, at $(now)s)"
  case $r in "status=0 "*) ;; *) return ;; esac
  sleep 3
  t0=$(now)
  api tmpl PATCH /vm '{"state": "Paused"}' || { say "template: pause failed"; return; }
  say "template paused at $(now)s (asked at ${t0}s)"
  api tmpl GET /
  t0=$(now)
  api tmpl PUT /snapshot/create '{"snapshot_path": "'"$SNAP"'/state", "mem_file_path": "'"$SNAP"'/mem"}' ||
    { say "template: snapshot failed"; return; }
  say "snapshot created in $(since "$t0")s" \
    "state=$(stat -c '%a %s' "$SNAP/state") mem=$(stat -c '%a %s' "$SNAP/mem")" \
    "mem_allocated_kib=$(du -k "$SNAP/mem" | cut -f1)"
  : >"$D/snapshot.ok"
}

# running PID: PID is there and not a zombie.
running() { [ -e "/proc/$1" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# move_peer FROM TO: L1's address on the TAPs moves from FROM to TO.
move_peer() {
  if ! ip addr del "$PEER" dev "$1" || ! ip addr add "$PEER" dev "$2"; then
    say "moving $PEER from $1 to $2 failed"
  fi
}

# clone_start NAME: a fresh ember serving $D/NAME.sock, stdout
# $D/NAME.out; sets pid_NAME.
clone_start() {
  /ember --api-sock "$D/$1.sock" --id "clone-$1" >"$D/$1.out" 2>"$D/$1.err" </dev/null &
  eval "pid_$1=$!"
}
load_body() {
  echo '{"snapshot_path": "'"$SNAP"'/state", "mem_backend": {"backend_type": "File",
    "backend_path": "'"$SNAP"'/mem"}, "resume_vm": true'"$1"'}'
}
# The clone's console without carriage returns.
console() { tr -d '\r' <"$D/$1.out"; }
first_count() { console "$1" | sed -n 's/^L2: count \([0-9]*\) up=.*/\1/p' | head -n1; }
# restored_sum NAME: "COUNT SUM" of the first drive read the clone started
# after its restore: after its first count line (that line itself may have
# been written by the template's guest before the pause and only sent out by
# the clone's UART).
restored_sum() {
  console "$1" | awk -v f="$(first_count "$1")" '
    /^L2: count [0-9]+ vda sha256=/ && $3 + 0 > f + 0 && length($5) == 71 {
      print $3, substr($5, 8); exit }'
}
summary() {
  f=$(first_count "$1")
  l=$(console "$1" | sed -n 's/^L2: count \([0-9]*\) up=.*/\1/p' | tail -n1)
  fu=$(console "$1" | sed -n "s/^L2: count $f up=\\([0-9.]*\\).*/\\1/p" | head -n1)
  lu=$(console "$1" | sed -n "s/^L2: count $l up=\\([0-9.]*\\).*/\\1/p" | tail -n1)
  n=$(console "$1" | grep -c '^L2: count [0-9]* up=')
  # shellcheck disable=SC2046
  set -- "$1" $(restored_sum "$1")
  say "clone $1 counts=$n first=${f:-none} up=${fu:-none} last=${l:-none} up=${lu:-none}"
  say "clone $1 vda after restore: count=${2:-none} sha256=${3:-none}"
}

mkdir -p "$D" "$SNAP"
case $1 in
  pre)
    say "drive /srv/drive.img bytes=$(wc -c </srv/drive.img) sha256=$(sha256sum /srv/drive.img | cut -d' ' -f1)"
    # The harness's /ember is the template; killed with SIGKILL, whatever
    # happened, so that "post" always runs.
    (
      template
      pid=$(pidof ember) && kill -KILL "$pid" && say "template killed (SIGKILL, pid $pid) at $(now)s"
      : >"$D/template.done"
    ) >"$D/template.log" 2>&1 &
    ;;
  post)
    i=0
    while [ ! -f "$D/template.done" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    cat "$D/template.log"
    if [ ! -f "$D/snapshot.ok" ] || [ ! -f "$D/template.done" ]; then
      cat "$D/api.log"
      say "no snapshot, no clones"
      exit 0
    fi
    say "L1 MemAvailable before the clones: $(awk '/^MemAvailable:/ { print $2 " " $3 }' /proc/meminfo)"
    # 10.0.2.1/24 moves to tap1: pings reach only clone b, restored there.
    move_peer tap0 tap1
    clone_start a
    clone_start b
    # shellcheck disable=SC2154
    say "clones started: a pid=$pid_a b pid=$pid_b"
    wait_sock "$D/a.sock" || say "clone a has no API socket"
    wait_sock "$D/b.sock" || say "clone b has no API socket"
    t0=$(now)
    api a PUT /snapshot/load "$(load_body)" &
    la=$!
    api b PUT /snapshot/load "$(load_body ', "network_overrides": [{"iface_id": "eth0", "host_dev_name": "tap1"}]')" &
    lb=$!
    wait $la; ra=$?
    wait $lb; rb=$?
    say "loads done in $(since "$t0")s: a status=$ra b status=$rb"
    # Each clone: counting, and a drive read started after the restore
    # (60 s at most).
    end=$(($(secs) + 60))
    while [ "$(secs)" -lt $end ]; do
      [ -n "$(restored_sum a)" ] && [ -n "$(restored_sum b)" ] && break
      sleep 0.2
    done
    say "clones read their drive after $(since "$t0")s"
    say "clone b ping tap1 $(ping_l2 3 5)"
    say "tap1 rx_packets=$(cat /sys/class/net/tap1/statistics/rx_packets) tx_packets=$(cat /sys/class/net/tap1/statistics/tx_packets)"
    move_peer tap1 tap0
    say "clone a ping tap0 $(ping_l2 3 5)"
    api a GET /
    api b GET /
    api b GET /vm/config
    # A few more counts, then both must still be alive.
    sleep 1
    for c in a b; do
      p=$(eval echo "\$pid_$c")
      if kill -0 "$p" 2>/dev/null; then
        say "clone $c alive at $(now)s"
        kill -TERM "$p"
      else
        say "clone $c gone before the end"
      fi
    done
    # SIGTERM ends ember; one still there after 10 s gets SIGKILL.
    for c in a b; do
      p=$(eval echo "\$pid_$c")
      end=$(($(secs) + 10))
      while running "$p" && [ "$(secs)" -lt $end ]; do sleep 0.2; done
      if running "$p"; then
        say "clone $c still running 10 s after SIGTERM: SIGKILL"
        kill -KILL "$p"
      fi
    done
    wait "$pid_a"; sa=$?
    wait "$pid_b"; sb=$?
    say "clones stopped: a exit=$sa b exit=$sb"
    for c in a b; do
      # awk ends a last line cut off by the stop, too.
      console $c | awk -v p="$c| " '{ print p $0 }'
      awk -v p="$c! " '{ print p $0 }' "$D/$c.err"
    done
    cat "$D/api.log"
    say "L1 MemAvailable after the clones: $(awk '/^MemAvailable:/ { print $2 " " $3 }' /proc/meminfo)"
    summary a
    summary b
    ;;
esac
