#!/bin/sh
# L1 hook of tests/nested/test-net.sh (nested-run.sh --l1-hook), the L1 end
# of the TAP:
#   pre   NET_MB (default 4) MiB of random data served as
#         http://<any L1 address>:8000/blob (busybox httpd), and an nc
#         listening on port 5000 that stores what it gets in /tmp/net/rx
#   post  waits (10 s at most) for that nc to end, prints what it got and
#         the TAP's counters
# Every line starts with "L1: net ".
say() { echo "L1: net $*"; }
case $1 in
  pre)
    mkdir -p /srv /tmp/net
    dd if=/dev/urandom of=/srv/blob bs=1048576 count="${NET_MB:-4}" 2>/dev/null
    say "blob bytes=$(wc -c </srv/blob) sha256=$(sha256sum /srv/blob | cut -d' ' -f1)"
    httpd -p 8000 -h /srv || say "httpd failed"
    # nc ends when the sender closes; its stdin must not end first (busybox
    # nc would then half-close and quit at the sender's first bytes), so it
    # reads a FIFO that it holds open for writing itself.
    mkfifo /tmp/net/hold
    ( nc -l -p 5000 3<>/tmp/net/hold </tmp/net/hold >/tmp/net/rx
      echo $? >/tmp/net/rx.status ) &
    say "listening on port 5000" ;;
  post)
    i=0
    while [ ! -f /tmp/net/rx.status ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    say "rx status=$(cat /tmp/net/rx.status 2>/dev/null || echo running) bytes=$(wc -c </tmp/net/rx) sha256=$(sha256sum /tmp/net/rx | cut -d' ' -f1)"
    for t in /sys/class/net/tap*; do
      [ -e "$t" ] || continue
      l=
      for f in rx_packets tx_packets rx_bytes tx_bytes rx_errors tx_errors rx_dropped tx_dropped; do
        l="$l $f=$(cat "$t/statistics/$f")"
      done
      say "${t##*/}$l"
    done ;;
esac
