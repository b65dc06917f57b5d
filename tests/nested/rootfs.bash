# Shared by make-l2-initrd.sh and nested-run.sh: the skeleton of a busybox initramfs.
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
