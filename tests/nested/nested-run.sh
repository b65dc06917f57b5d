#!/usr/bin/env bash
# Runs ember inside a nested-KVM L1 guest emulated by QEMU TCG and prints the
# L1 console (which carries ember's stdout, i.e. the L2 console) on stdout.
#
#   tests/nested/nested-run.sh [options] [-- EMBER_ARGS...]
#
# Options:
#   --ember PATH       static ember binary (default: build/ember)
#   --kernel PATH      L2 kernel, visible in L1 as /l2/kernel  (@KERNEL@)
#   --initrd PATH      L2 initramfs, visible in L1 as /l2/initrd (@INITRD@)
#   --file SRC=DEST    extra host file SRC placed at absolute path DEST in L1
#   --disk FILE[,ro]   attach host file FILE (raw) to L1 as a virtio-blk disk;
#                      repeatable. The Nth (from 0) is @DISKN@ in EMBER_ARGS
#                      and $NESTED_DISKN in hooks, e.g. /dev/vda. Writes land
#                      in FILE (inspect it after the run); ",ro" makes QEMU
#                      refuse them (L1 sees a read-only disk)
#   --tap NAME[=ADDR/PREFIX][,user=UID[:GID]]  create a persistent TAP NAME
#                      in L1 (tun module), give it ADDR (e.g. tap0=10.0.2.1/24)
#                      and bring it up before ember starts; repeatable. ember:
#                      --net tap=NAME. user=: the TAP belongs to UID (and group
#                      GID), as with "ip tuntap add ... user UID": what a
#                      jailed ember needs (a static helper, l1-tap-owner.c,
#                      built with musl-gcc or cc -static, does it in L1)
#   --l1-switch-root   l1-init first copies the initramfs onto a tmpfs and
#                      switch_roots into it: pivot_root (ember --jail) cannot
#                      leave an initramfs root
#   --watchdog SECS    if ember runs longer than SECS in L1, print each of its
#                      threads' state and kernel stack, then SIGTERM it
#                      (SIGKILL 3 s later): a hang ends in seconds, not at
#                      --timeout, and says where ember was (default: off)
#   --l1-hook FILE     shell script run in L1 as "sh HOOK pre" before ember
#                      starts and "sh HOOK post" after it exits (its
#                      background jobs of "pre" live on); repeatable
#   --timeout SECS     wall-clock limit for QEMU (default 300)
#   --l1-mem MIB       L1 memory (default 1024)
#   --l1-cpus N        L1 vCPUs (default 1)
#   --l1-kernel PATH   L1 kernel (default: newest /boot/vmlinuz-*-cloud-amd64)
#   --kvm-check        only boot L1 and check /dev/kvm (no ember needed)
#   --l1-dmesg         print L1's dmesg after the modules are loaded
#   --keep             keep the per-run directory (initramfs, qemu stderr)
#   --stdin            forward this script's stdin to the L1 console and give
#                      that console to ember as its stdin (ember makes it raw),
#                      so what is written here reaches the L2 serial console;
#                      without it QEMU and ember read /dev/null. Use a pipe
#                      or FIFO, not a terminal (timeout(1) runs QEMU in a
#                      background process group)
# EMBER_ARGS are passed to /ember in L1 verbatim (written to a file, not the
# kernel command line); @KERNEL@, @INITRD@ and @DISKN@ are replaced by the L1
# paths.
#
# Exit status: 0 if "NESTED: ember exit=N" was seen (the caller checks N and
# the output), 2 if L1 had no /dev/kvm, 124 on timeout, 1 otherwise.
# With --kvm-check: 0 if "NESTED: /dev/kvm ready" was seen.
# Work files and the cached L1 base initramfs live in $NESTED_WORK
# (default: build/nested/ in the repository). NESTED_QEMU_CPU overrides the
# L1 CPU model (default EPYC,+svm,+npt,+erms); NESTED_KEEP=1 is --keep.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=nested-run
log() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

ember=$root/build/ember
kernel=
initrd=
timeout_s=300
l1_mem=1024
l1_cpus=1
l1_kernel=${NESTED_L1_KERNEL:-}
kvm_check=0
l1_dmesg=0
keep=${NESTED_KEEP:-0}
stdin=0
switch_root=0
files=()
disks=()
taps=()
hooks=()
watchdog=
while [ $# -gt 0 ]; do
  case $1 in
    --ember) ember=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --disk) disks+=("$2"); shift 2 ;;
    --tap) taps+=("$2"); shift 2 ;;
    --l1-switch-root) switch_root=1; shift ;;
    --l1-hook) hooks+=("$2"); shift 2 ;;
    --watchdog) watchdog=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --l1-mem) l1_mem=$2; shift 2 ;;
    --l1-cpus) l1_cpus=$2; shift 2 ;;
    --l1-kernel) l1_kernel=$2; shift 2 ;;
    --kvm-check) kvm_check=1; shift ;;
    --l1-dmesg) l1_dmesg=1; shift ;;
    --keep) keep=1; shift ;;
    --stdin) stdin=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (EMBER_ARGS go after --)" ;;
  esac
done
ember_args=("$@")

"$root/scripts/host-deps.sh"

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"
if [ $kvm_check = 0 ]; then
  [ -f "$ember" ] || die "ember binary '$ember' not found"
  file -L "$ember" 2>/dev/null | grep -q 'statically linked\|static-pie' ||
    log "warning: $ember does not look statically linked; it will not run in L1"
fi
[ -z "$kernel" ] || [ -f "$kernel" ] || die "L2 kernel '$kernel' not found"
[ -z "$initrd" ] || [ -f "$initrd" ] || die "L2 initrd '$initrd' not found"

# ---- L1 kernel and its KVM modules ----------------------------------------
if [ -z "$l1_kernel" ]; then
  l1_kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1) ||
    true
  [ -n "$l1_kernel" ] || die "no /boot/vmlinuz-*-cloud-amd64 (package linux-image-cloud-amd64)"
fi
[ -r "$l1_kernel" ] || die "L1 kernel '$l1_kernel' not readable"
kver=${l1_kernel##*/vmlinuz-}
[ -d "/lib/modules/$kver" ] || die "/lib/modules/$kver missing (modules of $l1_kernel)"

# Module load order from modprobe's dependency resolution (irqbypass, kvm,
# kvm-amd and whatever else kvm-amd needs in this kernel). Three lists, each
# in load order: kvm (always loaded), disk (virtio-pci + virtio-blk, loaded
# with --disk), tap (tun, loaded with --tap). All are in the base initramfs.
# shellcheck source=scripts/l1-modules.bash
. "$root/scripts/l1-modules.bash"
mods_kvm=$(l1_module_paths "$kver" kvm-amd) || die "modprobe cannot resolve kvm-amd for $kver"
mods_disk=$(l1_module_paths "$kver" virtio_pci virtio_blk) || die "modprobe cannot resolve virtio_blk for $kver"
mods_tap=$(l1_module_paths "$kver" tun) || die "modprobe cannot resolve tun for $kver"
mods=$(printf '%s\n' $mods_kvm $mods_disk $mods_tap | awk '!seen[$0]++')

# ---- cached L1 base initramfs: busybox + modules + /init -------------------
work=${NESTED_WORK:-$root/build/nested}
mkdir -p "$work"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (package busybox-static)"
file -L "$busybox" | grep -q 'statically linked' ||
  die "$busybox is not static (package busybox-static)"

key=$( {
  sha256sum "$0" "$here/l1-init" "$root/scripts/l1-modules.bash" "$busybox" $mods | cut -d' ' -f1
  echo "$kver"
} | sha256sum | cut -c1-16)
base=$work/l1-base-$key.cpio.gz
if [ ! -f "$base" ]; then
  log "building L1 base initramfs for $kver -> $base"
  st=$(mktemp -d "$work/l1-stage.XXXXXX")
  trap 'rm -rf "$st" "$st.cpio.gz"' EXIT
  # shellcheck source=tests/nested/rootfs.bash
  . "$here/rootfs.bash"
  busybox_rootfs "$st" "$busybox" "$here/l1-init" l2 lib/modules
  # order (kvm), order.disk, order.tap: file names in load order.
  # shellcheck disable=SC2086
  l1_module_copy "$st/lib/modules" $mods || die "copying the L1 modules failed"
  for l in kvm disk tap; do
    v=mods_$l
    f=$st/lib/modules/order.$l
    [ $l = kvm ] && f=$st/lib/modules/order
    for m in ${!v}; do l1_module_name "$m"; done >"$f"
  done
  # The kernel's built-in initramfs already has /dev/console; add it when we can.
  mknod "$st/dev/console" c 5 1 2>/dev/null || true
  tmpb=$st.cpio.gz
  (cd "$st" && find . -print0 | LC_ALL=C sort -z |
     cpio --null -o -H newc --quiet -R 0:0) | gzip -6 >"$tmpb"
  # Pad so that the payload archive appended at run time starts 4-aligned.
  pad=$(( (512 - $(stat -c %s "$tmpb") % 512) % 512 ))
  head -c "$pad" /dev/zero >>"$tmpb"
  mv "$tmpb" "$base"
  rm -rf "$st"
  trap - EXIT
  # Drop bases of older harness/module versions.
  for old in "$work"/l1-base-*.cpio.gz; do
    [ "$old" = "$base" ] || rm -f "$old"
  done
fi

# ---- per-run payload: ember, L2 kernel/initrd, args, extra files ----------
run=$(mktemp -d "$work/run.XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then log "kept $run"; else rm -rf "$run"; fi; }
trap cleanup EXIT
pl=$run/payload
mkdir -p "$pl/l2"
if [ $kvm_check = 0 ]; then
  cp "$ember" "$pl/ember"
  chmod 755 "$pl/ember"
fi
[ -z "$kernel" ] || cp "$kernel" "$pl/l2/kernel"
[ -z "$initrd" ] || cp "$initrd" "$pl/l2/initrd"
for f in "${files[@]}"; do
  src=${f%%=*} dst=${f#*=}
  [ "$src" != "$f" ] && [ "${dst#/}" != "$dst" ] || die "--file wants SRC=/ABS/DEST, got '$f'"
  [ -f "$src" ] || die "--file source '$src' not found"
  mkdir -p "$pl$(dirname "$dst")"
  cp "$src" "$pl$dst"
done
# Disks: QEMU gives each the serial nested-disk-N, which l1-init maps to its
# /dev/vdX for @DISKN@. Taps: one "NAME ADDR/PREFIX" line each.
qemu_disks=()
: >"$pl/l1.disks"
n=0
for d in "${disks[@]}"; do
  f=${d%,ro} ro=
  [ "$f" = "$d" ] || ro=,readonly=on
  [ -f "$f" ] || [ -b "$f" ] || die "--disk '$f' not found"
  [ -w "$f" ] || [ -n "$ro" ] || die "--disk '$f' is not writable (add ,ro)"
  # QEMU option values escape a comma by doubling it.
  qemu_disks+=(-drive "file=${f//,/,,},format=raw,if=none,id=disk$n,cache=unsafe$ro"
               -device "virtio-blk-pci,drive=disk$n,serial=nested-disk-$n")
  echo "$n ${ro:+ro}" >>"$pl/l1.disks"
  n=$((n + 1))
done
[ ${#disks[@]} -gt 0 ] || rm "$pl/l1.disks"
# "NAME ADDR|- UID[:GID]|-" per TAP.
if [ ${#taps[@]} -gt 0 ]; then
  for t in "${taps[@]}"; do
    spec=${t%%,*} user=-
    if [ "$spec" != "$t" ]; then
      case ${t#*,} in
        user=[0-9]*) user=${t#*,user=} ;;
        *) die "--tap: unknown option in '$t' (NAME[=ADDR/PREFIX][,user=UID[:GID]])" ;;
      esac
      case $user in *[!0-9:]*|*:*:*|*:|:*) die "--tap: user=UID[:GID] wanted in '$t'" ;; esac
    fi
    name=${spec%%=*} addr=-
    [ "$name" = "$spec" ] || addr=${spec#*=}
    case $name in ''|*[!A-Za-z0-9_.-]*) die "--tap: bad interface name in '$t'" ;; esac
    [ ${#name} -le 15 ] || die "--tap: interface name '$name' longer than 15"
    [ -n "$addr" ] || addr=-
    echo "$name $addr $user" >>"$pl/l1.taps"
    if [ "$user" != - ] && [ ! -e "$pl/l1/tap-owner" ]; then
      # Built once per source and compiler, kept in $work.
      cc=$(command -v musl-gcc || command -v cc) || die "--tap user=: no musl-gcc or cc"
      src=$here/l1-tap-owner.c
      bin=$work/l1-tap-owner-$( { sha256sum "$src" | cut -d' ' -f1; echo "$cc"; } |
                                sha256sum | cut -c1-16)
      if [ ! -x "$bin" ]; then
        "$cc" -static -Os -o "$bin.tmp.$$" "$src" || die "building $src failed"
        mv "$bin.tmp.$$" "$bin"
      fi
      mkdir -p "$pl/l1"
      cp "$bin" "$pl/l1/tap-owner"
    fi
  done
fi
n=0
for h in "${hooks[@]}"; do
  [ -f "$h" ] || die "--l1-hook '$h' not found"
  mkdir -p "$pl/l1/hooks"
  cp "$h" "$pl/l1/hooks/$n"
  n=$((n + 1))
done
case $watchdog in
  '') ;;
  *[!0-9]*|0) die "--watchdog wants seconds, got '$watchdog'" ;;
  *) echo "$watchdog" >"$pl/l1.watchdog" ;;
esac
[ $l1_dmesg = 0 ] || : >"$pl/nested.dmesg"
[ $stdin = 0 ] || : >"$pl/ember.stdin"
[ $switch_root = 0 ] || : >"$pl/l1.switch_root"
: >"$pl/ember.args"
for a in "${ember_args[@]}"; do
  case $a in *$'\n'*) die "ember argument with a newline is not supported" ;; esac
  a=${a//@KERNEL@//l2/kernel}
  a=${a//@INITRD@//l2/initrd}
  printf '%s\n' "$a" >>"$pl/ember.args"
done
img=$run/l1.img
cp "$base" "$img"
(cd "$pl" && find . -print0 | LC_ALL=C sort -z |
   cpio --null -o -H newc --quiet -R 0:0) >>"$img"

# ---- boot L1 ----------------------------------------------------------------
out=$run/console.log
log "booting L1 ($kver, TCG, ${l1_mem} MiB, timeout ${timeout_s}s)"
t0=$(date +%s.%N)
if [ $stdin = 1 ]; then exec 3<&0; else exec 3</dev/null; fi
set +e
# tr unbuffered: a caller reading the console as it comes sees every line at
# once (with --stdin it answers what it reads).
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
  -M pc -accel tcg -cpu "${NESTED_QEMU_CPU:-EPYC,+svm,+npt,+erms}" -smp "$l1_cpus" -m "$l1_mem" \
  -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -kernel "$l1_kernel" -initrd "$img" "${qemu_disks[@]}" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init mitigations=off" \
  <&3 3<&- 2>"$run/qemu.err" | stdbuf -o0 tr -d '\r' | tee "$out"
rc=${PIPESTATUS[0]}
set -e
t1=$(date +%s.%N)
log "L1 finished after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s (qemu status $rc)"

if [ $kvm_check = 1 ] && grep -q '^NESTED: /dev/kvm ready' "$out"; then exit 0; fi
if grep -q '^NESTED: ember exit=' "$out"; then exit 0; fi
if grep -q '^NESTED: no /dev/kvm' "$out"; then log "L1 has no /dev/kvm"; exit 2; fi
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then log "timeout after ${timeout_s}s"; exit 124; fi
log "no ember exit marker; qemu stderr:"
tail -n 20 "$run/qemu.err" >&2 || true
exit 1
