#!/usr/bin/env bash
# Bad flags (status 153) and bad images (status 1): one line naming what was wrong, no crash.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash

expect no-kernel 153 '^ember: nothing to boot: give --kernel PATH, --snapshot-load JSON, --config-file PATH or --api-sock PATH$'
expect unknown-flag 153 "unknown flag '--frob'" --kernel "$GUEST" --frob
expect missing-value 153 '--vcpus needs a value' --kernel "$GUEST" --vcpus
expect vcpus-zero 153 'vcpu count 0 is out of range 1-32' --kernel "$GUEST" --vcpus 0
expect vcpus-33 153 'vcpu count 33 is out of range' --kernel "$GUEST" --vcpus 33
expect mem-not-number 153 "--mem: 'lots' is not a number" --kernel "$GUEST" --mem lots
expect mem-too-small 153 'memory size 8 MiB is out of range' --kernel "$GUEST" --mem 8
expect stray-argument 153 "unexpected argument 'hello'" --kernel "$GUEST" hello
expect bad-level 153 "log level 'Loud'" --kernel "$GUEST" --level Loud

# A start-up error goes to --log-path too, not only to stderr (an orchestrator reads the log).
logged() { # NAME STATUS PATTERN ARGS...: as expect, and the log file has the line too
	local name=$1 want=$2 pattern=$3 log=$TMP/start-$1.log
	shift 3
	expect "$name" "$want" "$pattern" --log-path "$log" "$@"
	grep -qE -e "^[0-9-]+T[0-9:.]+Z \\[anonymous-instance:main\\] .*$pattern" "$log" 2>/dev/null &&
		pass "$name-in-log" || fail "$name-in-log" "log file: [$(cat "$log" 2>/dev/null)]"
}
logged flags-error-logged 153 "kernel $TMP/nope: No such file or directory" --kernel "$TMP/nope"
echo '{"boot-source": ' >"$TMP/broken.json"
logged config-error-logged 152 'invalid JSON' --config-file "$TMP/broken.json" --no-api
: >"$TMP/taken"
logged socket-error-logged 1 'Address in use' --api-sock "$TMP/taken"

run_ember --help
missing=""
for f in kernel initrd cmdline vcpus mem id level help version; do
	grep -q -e "--$f" <<<"$out" || missing+=" --$f"
done
if [ $rc -eq 0 ] && [ -z "$missing" ] && grep -q '^usage: ember --kernel PATH' <<<"$out"; then
	pass help-lists-every-flag
else
	fail help-lists-every-flag "rc=$rc missing:$missing"
fi
run_ember --version
[ $rc -eq 0 ] && grep -qE '^ember [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out" && pass version || fail version "rc=$rc out=[$out]"

require_kvm
k=$TMP/k
# Files are opened when the flags are read: a bad path is a bad argument (153).
expect missing-kernel 153 "kernel $TMP/nope: No such file or directory" --kernel "$TMP/nope"
mkdir "$TMP/dir"
expect directory-kernel 153 "kernel $TMP/dir: not a regular file or block device" --kernel "$TMP/dir"
: >"$k.empty"
expect empty-kernel 1 "$k.empty: empty file" --kernel "$k.empty"
echo "just text" >"$k.text"
expect not-a-kernel 1 "$k.text: not a kernel" --kernel "$k.text"
head -c 40 "$GUEST" >"$k.hdr"
expect truncated-header 1 "$k.hdr: truncated ELF header" --kernel "$k.hdr"
head -c 100 "$GUEST" >"$k.phdr"
expect truncated-phdrs 1 "$k.phdr: truncated: program headers" --kernel "$k.phdr"
head -c 4200 "$GUEST" >"$k.seg"
expect truncated-segment 1 "$k.seg: truncated: segment [0-9]+ ends past the end of the file" --kernel "$k.seg"
cp "$GUEST" "$k.arm" && printf '\xb7\x00' | dd of="$k.arm" bs=1 seek=18 conv=notrunc status=none
expect wrong-arch 1 "$k.arm: wrong architecture" --kernel "$k.arm"
# First PT_LOAD's p_paddr (phdr at 64: +24) moved into the MMIO gap at 3 GiB.
cp "$GUEST" "$k.gap" && printf '\x00\x00\x00\xc0' | dd of="$k.gap" bs=1 seek=$((64 + 24)) conv=notrunc status=none
expect segment-in-gap 1 "$k.gap: segment 0 .* lies in the 32-bit MMIO gap" --kernel "$k.gap" --mem 4096
cp "$GUEST" "$k.low" && printf '\x00\x10\x00\x00' | dd of="$k.low" bs=1 seek=$((64 + 24)) conv=notrunc status=none
expect segment-below-1m 1 "$k.low: segment 0 at 0x1000 lies below 1 MiB" --kernel "$k.low"
# Second PT_LOAD (phdr at 64+56) moved onto the first: overlapping segments.
cp "$GUEST" "$k.ovl" && printf '\x00\x00\x10\x00' | dd of="$k.ovl" bs=1 seek=$((64 + 56 + 24)) conv=notrunc status=none
expect overlapping-segments 1 "$k.ovl: segments [0-9]+ and [0-9]+ overlap" --kernel "$k.ovl"
mkfifo "$k.fifo"
expect fifo-kernel 153 "kernel $k.fifo: not a regular file or block device" --kernel "$k.fifo"
# A real bzImage (Debian's cloud kernel, installed by the build): cut short, and too big
# for a 16 MiB guest once decompressed.
bz=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
if [ -n "$bz" ]; then
	head -c 1000000 "$bz" >"$k.bz"
	expect truncated-bzimage 1 "$k.bz: truncated: kernel is [0-9]+ bytes, header says" --kernel "$k.bz"
	expect bzimage-too-large 1 "$bz: too large: needs" --kernel "$bz" --mem 16
else
	skip bzimage-cases "no /boot/vmlinuz-* to cut"
fi
expect missing-initrd 153 "initrd $TMP/nope: No such file or directory" --kernel "$GUEST" --initrd "$TMP/nope"
head -c $((20 * 1024 * 1024)) /dev/zero >"$TMP/big.initrd"
expect initrd-too-large 1 "initrd $TMP/big.initrd: too large" --kernel "$GUEST" --initrd "$TMP/big.initrd" --mem 16
finish
