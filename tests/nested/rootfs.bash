# Shared by make-l2-initrd.sh, make-rootfs-img.sh and nested-run.sh: the
# skeleton of a busybox root file system.
# busybox_rootfs DIR BUSYBOX INIT [EXTRA_DIR...]: busybox with every applet linked,
# INIT installed as /init, the usual top-level directories plus EXTRA_DIRs.
busybox_rootfs() {
  local st=$1 bb=$2 init=$3 a d
  shift 3
  mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp}
  for d in "$@"; do mkdir -p "$st/$d"; done
  cp "$bb" "$st/bin/busybox"
  "$bb" --list-full | while read -r a; do
    [ -e "$st/$a" ] || ln -s /bin/busybox "$st/$a"
  done
  cp "$init" "$st/init"
  chmod 755 "$st/init"
}

# l2_test_scripts DIR: the L2 test scripts tests/nested/l2-NAME.sh as
# DIR/tests/NAME.sh (what l2-init's l2test=run:/tests/NAME.sh runs).
l2_test_scripts() {
  local st=$1 f n
  mkdir -p "$st/tests"
  for f in "$(dirname "${BASH_SOURCE[0]}")"/l2-*.sh; do
    [ -f "$f" ] || continue
    n=${f##*/l2-}
    cp "$f" "$st/tests/$n"
    chmod 755 "$st/tests/$n"
  done
}
