#!/bin/sh
# L1 hook of tests/nested/test-debian.sh and perf/debian_bench.sh: in "pre", busybox's
# udhcpd serves one address, 10.0.2.2, on tap0 (the Debian guest's systemd-networkd
# asks for it; udhcpd's "sending OFFER to 10.0.2.2" reaches the console), and a
# background job pings that address once a second for up to 10 minutes and prints,
# once it answers, "L1: debian ping 10.0.2.2 answered after N s". With "noping" as
# the second word only the DHCP server runs.
case $1 in
  pre)
    mkdir -p /tmp/dhcp
    : >/tmp/dhcp/leases
    printf '%s\n' 'start 10.0.2.2' 'end 10.0.2.2' 'max_leases 1' 'interface tap0' \
      'lease_file /tmp/dhcp/leases' 'option subnet 255.255.255.0' 'option lease 3600' \
      >/tmp/dhcp/udhcpd.conf
    busybox udhcpd -f /tmp/dhcp/udhcpd.conf 2>&1 | sed 's/^/L1: /' &
    [ "$2" = noping ] && exit 0
    (
      i=0
      while [ $i -lt 600 ]; do
        if ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1; then
          echo "L1: debian ping 10.0.2.2 answered after $i s"
          exit 0
        fi
        i=$((i + 1))
        sleep 1
      done
      echo "L1: debian ping 10.0.2.2 never answered"
    ) & ;;
esac
