#!/usr/bin/env bash
# Nested: Linux on ember's virtio-net over a TAP in L1. L1 creates tap0
# (10.0.2.1/24) and runs l1-net.sh: an HTTP server with 4 MiB of random data
# and an nc listener. ember gets --net tap=tap0 with a fixed MAC; L2
# (l2-net.sh) configures eth0 as 10.0.2.2/24, pings L1 (3 of 3 answered),
# downloads the 4 MiB and uploads them with their halves swapped; the sha256 of each
# transfer must match on both ends, the MAC must be the one given, no
# errors or drops on either end.
export NAME=net
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
mac=02:00:5e:00:53:02

HARNESS_OPTS=(--tap tap0=10.0.2.1/24 --l1-hook "$NESTED_DIR/l1-net.sh")
nested net "$L2_VMLINUX" --kernel @KERNEL@ --initrd @INITRD@ --mem "$L2_MEM" \
  --net "tap=tap0,mac=$mac,id=net0" \
  --cmdline "l2test=run:/tests/net.sh net_ip=10.0.2.2/24 net_peer=10.0.2.1 net_mb=4"

expect tap '^NESTED: tap tap0 10.0.2.1/24 ready'
expect boot '^L2: init reached'
expect mac "^L2: net eth0 mac=$mac "
expect ping '^L2: net ping status=0 3 packets transmitted, 3 packets received, 0% packet loss'
sum() { sed -n "s/^$1.* sha256=\([0-9a-f]\{64\}\).*/\1/p" "$LAST_LOG" | tail -n1; }
l1_blob=$(sum 'L1: net blob bytes=4194304')
l2_rx=$(sum 'L2: net rx status=0 bytes=4194304')
[ -n "$l1_blob" ] || fail "download: L1 served no 4 MiB blob"
[ "$l2_rx" = "$l1_blob" ] || fail "download: L2 got sha256 '${l2_rx:-nothing}', L1 served $l1_blob"
l2_tx=$(sum 'L2: net tx bytes=4194304')
l1_rx=$(sum 'L1: net rx status=0 bytes=4194304')
[ -n "$l2_tx" ] || fail "upload: L2 made no 4 MiB to send"
expect upload '^L2: net tx status=0 '
[ "$l1_rx" = "$l2_tx" ] || fail "upload: L1 got sha256 '${l1_rx:-nothing}', L2 sent $l2_tx"
[ "$l2_tx" != "$l1_blob" ] || fail "upload: L2 sent the download unchanged"
# l1-init turns IPv6 off on the TAP, so nothing on the link is dropped.
expect l2-counters '^L2: net eth0 rx_packets=[0-9]+ tx_packets=[0-9]+ rx_bytes=[0-9]+ tx_bytes=[0-9]+ rx_errors=0 tx_errors=0 rx_dropped=0 tx_dropped=0'
expect l1-counters '^L1: net tap0 rx_packets=[0-9]+ tx_packets=[0-9]+ rx_bytes=[0-9]+ tx_bytes=[0-9]+ rx_errors=0 tx_errors=0 rx_dropped=0 tx_dropped=0'
expect script '^L2: run /tests/net.sh status=0$'
expect_exit net 0
pass
