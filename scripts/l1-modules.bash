# shellcheck shell=bash
# Kernel modules for an L1 initramfs (sourced by scripts/kvm-box.sh and
# tests/nested/nested-run.sh): which files, in which order, decompressed.

# l1_module_paths KVER MODULE...: the module files MODULEs need, dependencies
# first, each once, as modprobe resolves them for kernel KVER.
l1_module_paths() {
  local kver=$1 m out
  shift
  for m in "$@"; do
    out=$(modprobe -S "$kver" --show-depends "$m" 2>/dev/null |
          awk '$1 == "insmod" { print $2 }') || true
    [ -n "$out" ] || { echo "modprobe cannot resolve $m for $kver" >&2; return 1; }
    echo "$out"
  done | awk '!seen[$0]++'
}

# l1_module_name PATH: the file name of a module once decompressed (x.ko).
l1_module_name() {
  local b=${1##*/}
  b=${b%.xz}; b=${b%.zst}; b=${b%.gz}
  echo "$b"
}

# l1_module_copy DIR PATH...: the modules decompressed into DIR, and DIR/order
# listing their names in load order (what busybox insmod takes, one by one).
l1_module_copy() {
  local dir=$1 m b
  shift
  mkdir -p "$dir"
  : >"$dir/order"
  for m in "$@"; do
    b=$(l1_module_name "$m")
    case $m in
      *.ko) cp "$m" "$dir/$b" ;;
      *.ko.xz) xz -dc "$m" >"$dir/$b" ;;
      *.ko.zst) zstd -qdc "$m" >"$dir/$b" ;;
      *.ko.gz) gzip -dc "$m" >"$dir/$b" ;;
      *) echo "unexpected module file $m" >&2; return 1 ;;
    esac
    echo "$b" >>"$dir/order"
  done
}
