#!/bin/sh
# L1 hook of tests/nested/test-debian.sh: in "pre", a background job pings the Debian
# guest (10.0.2.2, on tap0) once a second for up to 10 minutes and prints, once it
# answers, "L1: debian ping 10.0.2.2 answered after N s".
case $1 in
  pre)
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
