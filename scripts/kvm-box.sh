#!/usr/bin/env bash
# The KVM box: runs a command as root in a Linux L1 that has a real /dev/kvm, on a
# machine that has none. L1 is Debian's cloud kernel under QEMU TCG with an emulated
# AMD CPU with SVM and NPT (kvm-amd, nested=1); its root file system is this
# machine's own, shared read-only with virtiofs under a throw-away tmpfs overlay, so
# L1 has exactly the host's tools and libraries at the same paths. The checkout is
# shared read-write at the same path: what the command builds or writes there is on
# the host afterwards.
#
#   scripts/kvm-box.sh [options] [--] COMMAND [ARG...]
#   scripts/kvm-box.sh --host-kvm
#
# Options:
#   --timeout SECS       the command's time limit in L1 (default 3600); past it
#                        the command is killed, its processes listed, status 124
#   --boot-timeout SECS  L1 must be ready within SECS of QEMU's start (default 180)
#   --mem MIB            L1 memory (default 4096)
#   --cpus N             L1 vCPUs (default 1: see below)
#   --boot-log           show L1's boot console before the command's output
#   --host-kvm           run nothing: exit 0 if this machine's /dev/kvm is usable
#                        (opens, API version 12, creates a VM), 1 if not or if
#                        EMBER_KVM_BOX=1 (try the box on a machine with KVM)
#
# The command runs in the current directory, with this shell's exported
# environment, stdin /dev/null, its stdout and stderr together on this script's
# stdout. Exit status: the command's; 124 when it ran past --timeout; 125 when the
# box itself failed (a one-line "kvm-box: ..." on stderr says why). Built pieces are
# cached in $EMBER_CACHE/kvm-box (default /var/cache/ember/kvm-box); per-run files
# live in build/kvm-box/ of the checkout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
prog=kvm-box
die() { echo "$prog: $*" >&2; exit 125; }

timeout_s=3600
boot_timeout_s=180
mem=4096
# One L1 vCPU. With two (multi-threaded TCG on this project's 2-core machines) L1
# wedged with an L2 guest running (each of 5 attempts at the integration
# suite; no kernel message, L1's own watchdog processes stopped), and the suite ran
# slower: QEMU's main loop takes a core of its own.
cpus=1
boot_log=0
host_kvm=0
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --boot-timeout) boot_timeout_s=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --boot-log) boot_log=1; shift ;;
    --host-kvm) host_kvm=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (the command goes after --)" ;;
    *) break ;;
  esac
done
for v in timeout_s boot_timeout_s mem cpus; do
  case ${!v} in ''|*[!0-9]*|0) die "--${v%_s} wants a positive number, got '${!v}'" ;; esac
done

# A usable /dev/kvm: it opens read-write, speaks API version 12 and makes a VM.
# A software-nested one (PVM) passes: it runs guest-min, which is all the
# integration tests boot.
host_kvm_usable() {
  [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  python3 - <<'EOF' 2>/dev/null
import fcntl, os
kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
if fcntl.ioctl(kvm, 0xAE00) != 12:  # KVM_GET_API_VERSION
    raise SystemExit(1)
os.close(fcntl.ioctl(kvm, 0xAE01, 0))  # KVM_CREATE_VM
EOF
}
if [ $host_kvm = 1 ]; then
  [ "${EMBER_KVM_BOX:-}" != 1 ] && host_kvm_usable
  exit
fi
[ $# -gt 0 ] || die "no command given (scripts/kvm-box.sh [options] -- COMMAND [ARG...])"
case $root in *[!A-Za-z0-9_./+-]*) die "checkout path '$root' has characters the L1 command line cannot carry" ;; esac

"$root/scripts/host-deps.sh" >&2 || die "scripts/host-deps.sh failed"
qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (package qemu-system-x86)"
virtiofsd=/usr/lib/qemu/virtiofsd
[ -x "$virtiofsd" ] || die "$virtiofsd not found (package qemu-system-common)"
l1_kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1) || true
[ -n "$l1_kernel" ] || die "no /boot/vmlinuz-*-cloud-amd64 (package linux-image-cloud-amd64)"
kver=${l1_kernel##*/vmlinuz-}

# ---- the initramfs: busybox, the modules that mount the shared root, /init ----
cache=${EMBER_CACHE:-/var/cache/ember}/kvm-box
mkdir -p "$cache"
# shellcheck source=scripts/l1-modules.bash
. "$here/l1-modules.bash"
mods=$(l1_module_paths "$kver" virtio_pci virtiofs overlay) || die "modprobe cannot resolve the L1 modules for $kver"
busybox=$(command -v busybox) || die "busybox not found (package busybox-static)"
key=$( { sha256sum "$0" "$here/kvm-box-init" "$here/l1-modules.bash" "$busybox" $mods | cut -d' ' -f1
         echo "$kver"; } | sha256sum | cut -c1-16)
initrd=$cache/initrd-$key.cpio.gz
if [ ! -f "$initrd" ]; then
  echo "$prog: building the L1 initramfs for $kver" >&2
  st=$(mktemp -d "$cache/stage.XXXXXX")
  mkdir -p "$st"/{bin,dev,proc,sys,lower,upper,newroot,lib/modules}
  cp "$busybox" "$st/bin/busybox"
  for a in sh mount mkdir insmod switch_root cat poweroff sleep echo; do ln -s busybox "$st/bin/$a"; done
  cp "$here/kvm-box-init" "$st/init"
  chmod 755 "$st/init"
  l1_module_copy "$st/lib/modules" $mods
  (cd "$st" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
    gzip -6 >"$st.cpio.gz"
  mv "$st.cpio.gz" "$initrd"
  rm -rf "$st"
  for old in "$cache"/initrd-*.cpio.gz; do [ "$old" = "$initrd" ] || rm -f "$old"; done
fi

# ---- this run: the command as a script, two virtiofsd, QEMU ----------------
mkdir -p "$root/build/kvm-box"
run=$(mktemp -d "$root/build/kvm-box/run.XXXXXX")
socks=$(mktemp -d /tmp/kvm-box.XXXXXX) # vhost-user socket paths must be short
nonce=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$socks"
  if [ "${KVM_BOX_KEEP:-0}" = 1 ]; then echo "$prog: kept $run" >&2; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
  echo "# written by scripts/kvm-box.sh"
  while IFS= read -r name; do
    case $name in PWD|OLDPWD|SHLVL|_|BASH_*|KVM_BOX_*|EMBER_KVM_BOX) continue ;; esac
    printf 'export %s=%q\n' "$name" "${!name}"
  done < <(compgen -e)
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; echo
} >"$run/cmd"

for share in root:/ checkout:"$root"; do
  tag=${share%%:*}
  "$virtiofsd" --socket-path="$socks/$tag.sock" -o source="${share#*:}" \
    -o cache=always -o sandbox=chroot -o log_level=err 2>>"$run/virtiofsd.err" &
  pids+=($!)
done
for tag in root checkout; do
  for _ in $(seq 100); do [ -S "$socks/$tag.sock" ] && break; sleep 0.05; done
  [ -S "$socks/$tag.sock" ] || die "virtiofsd for '$tag' did not start: $(tail -n1 "$run/virtiofsd.err" 2>/dev/null)"
done

# L1 writes ready (a line about itself), output (the command's stdout and stderr)
# and status (its exit status) into the run directory, which the checkout share
# carries; the serial console only has L1's kernel and init messages (console.log).
"$qemu" -M pc,memory-backend=mem -accel tcg,thread=multi -cpu EPYC,+svm,+npt,+erms \
  -smp "$cpus" -m "$mem" -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" \
  -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -monitor "unix:$socks/monitor,server=on,wait=off" \
  -chardev "socket,id=fs0,path=$socks/root.sock" -device vhost-user-fs-pci,chardev=fs0,tag=root \
  -chardev "socket,id=fs1,path=$socks/checkout.sock" -device vhost-user-fs-pci,chardev=fs1,tag=checkout \
  -kernel "$l1_kernel" -initrd "$initrd" \
  -append "console=ttyS0 loglevel=4 panic=-1 mitigations=off box.nonce=$nonce box.checkout=$root box.run=${run#"$root"/} box.timeout=$timeout_s" \
  </dev/null >"$run/console.log" 2>"$run/qemu.err" &
qpid=$!
pids+=($qpid)

t0=$SECONDS
console() { # why: the last lines of L1's console, QEMU's errors, then status 125
  echo "$prog: $1; L1's console:" >&2
  { tr -d '\r' <"$run/console.log" | grep -v "^KVMBOX $nonce" | tail -n 15 | sed 's/^/  | /'
    grep -v "TCG doesn't support" "$run/qemu.err" | tail -n 3 | sed 's/^/  qemu: /'; } >&2 || true
  exit 125
}
# wait_for FILE DEADLINE: until FILE exists; 1 if QEMU ended first, 2 past DEADLINE.
wait_for() {
  until [ -e "$1" ]; do
    kill -0 "$qpid" 2>/dev/null || { [ -e "$1" ] && return 0; return 1; }
    [ $SECONDS -lt "$2" ] || return 2
    sleep 0.2
  done
}
l1_error() { tr -d '\r' <"$run/console.log" | sed -n "s/^KVMBOX $nonce error //p" | head -n1; }

wait_for "$run/ready" $((t0 + boot_timeout_s)) && r=0 || r=$?
[ $boot_log = 0 ] || tr -d '\r' <"$run/console.log"
case $r in
  1) e=$(l1_error); console "L1 ended before it was ready${e:+: $e}" ;;
  2) kill "$qpid" 2>/dev/null; console "L1 was not ready within ${boot_timeout_s}s (boot watchdog)" ;;
esac
echo "$prog: L1 ready after $((SECONDS - t0))s: $(cat "$run/ready")" >&2

# The command's output as it comes; tail ends once QEMU has exited.
tail -n +1 -s 0.2 -f --pid="$qpid" "$run/output" 2>/dev/null &
tpid=$!
wait_for "$run/status" $((SECONDS + timeout_s + 60)) && r=0 || r=$?
case $r in
  1) wait "$tpid" || true; e=$(l1_error); console "L1 ended without the command's exit status${e:+: $e}" ;;
  2) kill "$qpid" 2>/dev/null; wait "$tpid" || true
     console "L1 still ran 60s past the command's time limit (${timeout_s}s); killed" ;;
esac
status=$(cat "$run/status")
# L1 powers off right after writing the status; give it 30 s.
for _ in $(seq 150); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
kill "$qpid" 2>/dev/null || true
wait "$tpid" || true
[ "$status" != 124 ] || echo "$prog: the command ran past --timeout ${timeout_s}s; killed (its processes at that moment are in the output above)" >&2
echo "$prog: L1 ran $((SECONDS - t0))s in all; the command exited $status" >&2
exit "$status"
