#!/bin/sh
# L1 hook of tests/nested/test-blk-root.sh (nested-run.sh --l1-hook): a
# regular file in L1 for ember's third drive (/tmp/scratch.img, 1 MiB of
# zeros); after ember exits, its sha256, which test compares with what L2
# wrote.
case $1 in
  pre)
    dd if=/dev/zero of=/tmp/scratch.img bs=65536 count=16 2>/dev/null
    echo "L1: blk scratch /tmp/scratch.img bytes=$(wc -c </tmp/scratch.img)" ;;
  post)
    echo "L1: blk scratch sha256=$(sha256sum /tmp/scratch.img | cut -d' ' -f1)" ;;
esac
