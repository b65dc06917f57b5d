#!/usr/bin/env bash
# Builds the L2 test guest kernel (vmlinux with PVH note + bzImage) from
# Debian's linux-source-6.1 with allnoconfig + scripts/guest-kernel.config.
#
#   scripts/guest-kernel.sh OUTDIR [EXTRA.config]
#
# EXTRA.config, when given, is appended to the fragment (a later line for the same
# symbol wins): a second guest built differently (scripts/guest-kernel-slob.config,
# `make guest-kernel-slob`). A configuration with modules (=m) also gets its *.ko
# files, in OUTDIR/modules/.
#
# The result is cached outside the checkout, keyed by a hash of the config
# fragment, this script and the linux-source package version:
#   ${EMBER_CACHE:-/var/cache/ember}/guest-kernel-<hash>/{vmlinux,bzImage,.config,modules/}
# OUTDIR receives vmlinux, bzImage, config and modules/ (hard links when possible).
# Progress goes to stderr; on failure one "guest-kernel: error: ..." line plus
# the tail of the build log.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=guest-kernel
log() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || [ $# -eq 2 ] || { echo "usage: $0 OUTDIR [EXTRA.config]" >&2; exit 2; }
outdir=$1
extra=${2:-}
[ -z "$extra" ] || [ -f "$extra" ] || die "extra fragment '$extra' not found"
jobs=${GUEST_KERNEL_JOBS:-2}

"$here/host-deps.sh"

base_frag=$here/guest-kernel.config
src_tar=/usr/src/linux-source-6.1.tar.xz
[ -f "$src_tar" ] || die "$src_tar missing (package linux-source-6.1)"
src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
  die "linux-source-6.1 is not installed"

cache=${EMBER_CACHE:-/var/cache/ember}
mkdir -p "$cache"
key=$( { cat "$base_frag" ${extra:+"$extra"} "$0"; echo "$src_ver"; } | sha256sum | cut -c1-16)
dest=$cache/guest-kernel-$key

install_out() {
  mkdir -p "$outdir"
  local f
  for f in vmlinux bzImage; do
    rm -f "$outdir/$f"
    ln "$dest/$f" "$outdir/$f" 2>/dev/null || cp "$dest/$f" "$outdir/$f"
  done
  rm -f "$outdir/config"
  cp "$dest/.config" "$outdir/config"
  rm -rf "$outdir/modules"
  [ ! -d "$dest/modules" ] || cp -r "$dest/modules" "$outdir/modules"
  log "$outdir/vmlinux, $outdir/bzImage ready ($dest)"
}

if [ -f "$dest/vmlinux" ] && [ -f "$dest/bzImage" ] && [ -f "$dest/.config" ]; then
  log "cached: $dest"
  install_out
  exit 0
fi

# One builder at a time per cache (a second caller waits, then finds the cache).
exec 9>"$cache/guest-kernel.lock"
flock 9
if [ -f "$dest/vmlinux" ] && [ -f "$dest/bzImage" ]; then
  log "cached (built concurrently): $dest"
  install_out
  exit 0
fi

# Extract the source once per package version.
srcdir=$cache/linux-source-$src_ver
if [ ! -f "$srcdir/.ember-extracted" ]; then
  log "extracting $src_tar (once per version $src_ver)..."
  rm -rf "$srcdir" "$srcdir.tmp"
  mkdir -p "$srcdir.tmp"
  tar -xJf "$src_tar" -C "$srcdir.tmp" --strip-components=1 ||
    die "extracting $src_tar failed"
  touch "$srcdir.tmp/.ember-extracted"
  mv "$srcdir.tmp" "$srcdir"
fi

build=$cache/guest-kernel-$key.build
rm -rf "$build"
mkdir -p "$build"
# The fragment: the base one, then the extra one. Only the last line naming a
# symbol is kept, so the extra fragment can turn =y into =m or "is not set".
frag=$build/fragment.config
cat "$base_frag" ${extra:+"$extra"} |
  awk '{ s = $0; sub(/^# /, "", s); sub(/[= ].*/, "", s) }
       s ~ /^CONFIG_/ { last[s] = NR } { line[NR] = $0; sym[NR] = s }
       END { for (i = 1; i <= NR; i++) if (sym[i] !~ /^CONFIG_/ || last[sym[i]] == i) print line[i] }' >"$frag"
blog=$build/build.log
fail() {
  echo "$prog: error: $* (log: $blog)" >&2
  tail -n 25 "$blog" >&2 || true
  exit 1
}

kmake() { make -C "$srcdir" O="$build" ARCH=x86_64 "$@" >>"$blog" 2>&1; }

start=$(date +%s)
log "configuring (allnoconfig + $(basename "$base_frag")${extra:+ + $(basename "$extra")}) in $build"
# allnoconfig with the fragment as KCONFIG_ALLCONFIG (what merge_config.sh -n
# does): the fragment's values are forced, everything not needed stays off.
kmake KCONFIG_ALLCONFIG="$frag" allnoconfig || fail "allnoconfig failed"
kmake olddefconfig || fail "olddefconfig failed"

# Every CONFIG_ line of the fragment must have survived.
bad=()
while IFS= read -r line; do
  case $line in
    CONFIG_*=*) grep -qxF "$line" "$build/.config" || bad+=("$line") ;;
    "# CONFIG_"*" is not set")
      sym=${line#\# }; sym=${sym%% *}
      ! grep -q "^$sym=" "$build/.config" || bad+=("$line") ;;
  esac
done <"$frag"
[ ${#bad[@]} -eq 0 ] || {
  echo "unsatisfied fragment lines: ${bad[*]}" >>"$blog"
  fail "config fragment not satisfied: ${bad[*]}"
}

log "building vmlinux + bzImage with -j$jobs (log: $blog)..."
kmake -j"$jobs" vmlinux bzImage || fail "kernel build failed"

readelf -n "$build/vmlinux" 2>/dev/null | grep -q 'Xen' ||
  fail "vmlinux has no PVH (Xen ELF) note"
has_modules=false
if grep -q '=m$' "$build/.config"; then
  has_modules=true
  log "building modules..."
  kmake -j"$jobs" modules || fail "modules build failed"
fi

tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$build/vmlinux" "$tmp/vmlinux"
cp "$build/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$build/.config" "$tmp/.config"
if $has_modules; then
  mkdir -p "$tmp/modules"
  find "$build" -name '*.ko' -exec cp {} "$tmp/modules/" \;
  ls "$tmp/modules"/*.ko >/dev/null 2>&1 || fail "the configuration has modules but no .ko was built"
fi
cp "$blog" "$tmp/build.log"
rm -rf "$dest"
mv "$tmp" "$dest"
rm -rf "$build"
log "built in $(( $(date +%s) - start ))s: $dest"
install_out
