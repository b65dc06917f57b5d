#!/usr/bin/env bash
# virtio-blk seen from a guest: guest-min's `blk` writes a pattern, flushes, reads it back
# and checksums it; the host then checks the image holds the same pattern and checksum.
# Also: both I/O engines, GET_ID, a read-only drive, two drives, many small requests,
# the request layouts of issue 15 (indirect tables only 8-byte aligned, seg_max-long chains),
# and two more choices the spec leaves to a driver: a queue smaller than QueueNumMax
# (direct chains; indirect tables, each no longer than the queue), and a reset with a
# fresh initialisation between the write and the read (Linux's rmmod and modprobe).
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

# guest-min/README.md "blk": 4096-byte blocks; block b = b (u64 LE), seed (u64 LE),
# then byte i (16..4095) = (i * 7 + (i >> 9)) & 0xff. Default seed "ember-gm".
SEED=$(perl -e 'printf "%u", 0x6d672d7265626d65' 2>/dev/null)

pattern() { # FILE MIB SEED: what guest-min writes
	perl -e 'my ($file, $mib, $seed) = @ARGV;
		my $t = join "", map { chr(($_ * 7 + ($_ >> 9)) & 0xff) } 16 .. 4095;
		open my $f, ">", $file or die "$file: $!"; binmode $f;
		print $f pack("Q<Q<", $_, $seed), $t for 0 .. $mib * 256 - 1;
		close $f or die' "$@"
}

checksum() { # FILE BYTES: sum of the little-endian u64 words, mod 2^64, as guest-min prints it
	perl -e 'my ($file, $n) = @ARGV; my ($lo, $hi) = (0, 0);
		open my $f, "<", $file or die "$file: $!"; binmode $f;
		while ($n > 0) {
			my $got = read($f, my $buf, $n < 1 << 20 ? $n : 1 << 20) or die "short";
			$n -= $got;
			my @w = unpack "V*", $buf;
			for (my $i = 0; $i < @w; $i += 2) { $lo += $w[$i]; $hi += $w[$i + 1] }
		}
		$hi += $lo >> 32;
		printf "0x%x\n", (($hi & 0xffffffff) << 32) | ($lo & 0xffffffff)' "$@"
}

line_re() { # MIB [LAYOUT]: the result line; LAYOUT (a regex) is what blk.indirect/maxseg put before "wrote"
	echo "^blk: ${2:-}wrote $1 MiB in [0-9]+ us \([0-9]+\.[0-9] MB/s\), read $1 MiB in [0-9]+ us \([0-9]+\.[0-9] MB/s\), checksum 0x[0-9a-f]+ ok$"
}

# check_image CASE IMAGE MIB SEED [NTH] [LAYOUT]: the NTH result line's checksum and the
# image agree with the pattern.
check_image() {
	local name=$1 img=$2 mib=$3 seed=$4 nth=${5:-1} layout=${6:-} sum want
	sum=$(grep -E "$(line_re "$mib" "$layout")" <<<"$out" | sed -n "${nth}p" | grep -oE 'checksum 0x[0-9a-f]+' | cut -d' ' -f2)
	pattern "$TMP/pattern" "$mib" "$seed"
	want=$(checksum "$TMP/pattern" $((mib << 20)))
	if [ -z "$sum" ]; then
		fail "$name" "no result line; rc=$rc out=[$out] err=[$err]"
	elif ! cmp -s -n $((mib << 20)) "$TMP/pattern" "$img"; then
		fail "$name" "the image does not hold the pattern: $(cmp -n $((mib << 20)) "$TMP/pattern" "$img" 2>&1 | head -1)"
	elif [ "$sum" != "$want" ] || [ "$(checksum "$img" $((mib << 20)))" != "$want" ]; then
		fail "$name" "checksum: guest $sum, pattern $want, image $(checksum "$img" $((mib << 20)))"
	else
		return 0
	fi
	return 1
}

# One drive, 8 MiB, each engine; the drive id comes back through GET_ID.
for engine in sync async; do
	img=$TMP/disk-$engine.img
	truncate -s 16M "$img"
	run_ember --kernel "$GUEST" --cmdline "blk 8" --drive "path=$img,id=disk-$engine,engine=$engine"
	if [ $rc -ne 0 ] || crashed; then
		fail "blk-$engine" "rc=$rc out=[$out] err=[$err]"
	elif ! grep -qx "blk: id disk-$engine" <<<"$out"; then
		fail "blk-$engine" "no 'blk: id disk-$engine' line: out=[$out]"
	elif check_image "blk-$engine" "$img" 8 "$SEED"; then
		pass "blk-$engine"
		grep -E "^blk: wrote" <<<"$out" | sed 's/^/  /'
	fi
done

# Many small requests in flight: 4 KiB each, 32 deep, and an odd size and seed.
img=$TMP/disk-small.img
truncate -s 4M "$img"
run_ember --kernel "$GUEST" --cmdline "blk 3 blk.req=4 blk.depth=32 blk.seed=12345" --drive "path=$img"
if [ $rc -ne 0 ] || crashed; then
	fail blk-small-requests "rc=$rc out=[$out] err=[$err]"
elif check_image blk-small-requests "$img" 3 12345; then
	pass blk-small-requests
fi

# A read-only drive: offered RO, a write is refused with IOERR and the file is untouched.
img=$TMP/disk-ro.img
head -c $((1 << 20)) /dev/urandom >"$img"
before=$(sha256sum <"$img")
run_ember --kernel "$GUEST" --cmdline "blk blk.ro=1" --drive "path=$img,ro"
if [ $rc -eq 0 ] && ! crashed && grep -qx 'blk: ro write refused' <<<"$out" &&
   [ "$(sha256sum <"$img")" = "$before" ]; then
	pass blk-ro
else
	fail blk-ro "rc=$rc sha256 $([ "$(sha256sum <"$img")" = "$before" ] && echo same || echo CHANGED) out=[$out] err=[$err]"
fi

# Without blk.ro=1 guest-min refuses to write a drive that says it is read-only.
run_ember --kernel "$GUEST" --cmdline "blk 1" --drive "path=$img,ro"
if [ $rc -eq 1 ] && ! crashed && grep -q 'the device is read-only' <<<"$out" &&
   [ "$(sha256sum <"$img")" = "$before" ]; then
	pass blk-ro-detected
else
	fail blk-ro-detected "rc=$rc out=[$out] err=[$err]"
fi

# Two drives: each gets its own seed (seed + device number), so crossed wires show.
truncate -s 4M "$TMP/a.img" "$TMP/b.img"
run_ember --kernel "$GUEST" --cmdline "blk 2 blk.dev=all" \
	--drive "path=$TMP/a.img,id=first" --drive "path=$TMP/b.img,id=second"
if [ $rc -ne 0 ] || crashed; then
	fail blk-two-drives "rc=$rc out=[$out] err=[$err]"
elif ! grep -qx 'blk: id first' <<<"$out" || ! grep -qx 'blk: id second' <<<"$out"; then
	fail blk-two-drives "ids: out=[$out]"
elif check_image blk-two-drives "$TMP/a.img" 2 "$SEED" 1 &&
     check_image blk-two-drives "$TMP/b.img" 2 "$(perl -e 'printf "%u", $ARGV[0] + 1' "$SEED")" 2; then
	pass blk-two-drives
fi

# Request layouts a Linux guest uses (issue 15): every chain in an indirect table that is
# only 8-byte aligned (a Linux 6.1 guest with SLOB; ember once refused such a table, set
# NEEDS_RESET, and the guest hung at its first request), and chains as long as the
# device's seg_max allows: direct (a full-length chain fills the ring), and in 8-byte
# aligned tables. Expected: the seg_max ember advertises (virtio/blk.c: BLK_QUEUE_MAX - 2,
# room for header and status), the pattern on the image, and no reset asked for.
qmax=$(sed -n 's/^#define BLK_QUEUE_MAX \([0-9][0-9]*\)$/\1/p' virtio/blk.c)
SEG_MAX=
grep -q 'seg_max = BLK_QUEUE_MAX - 2;' virtio/blk.c && [ -n "$qmax" ] && SEG_MAX=$((qmax - 2))
CHAINS="chains of $SEG_MAX data segments \(seg_max $SEG_MAX\)"
TABLES="indirect tables at 8 mod 16"

layout_case() { # NAME ENGINE SEED LAYOUT-REGEX CMDLINE [LINE-REGEX: a line the variant prints]
	local name=$1 engine=$2 seed=$3 layout=$4 cmdline=$5 line=${6:-} img=$TMP/$1.img got
	local show="layout|$layout${6:+|$6}"
	truncate -s 8M "$img"
	run_ember --kernel "$GUEST" --cmdline "blk 4 blk.seed=$seed $cmdline" \
		--drive "path=$img,engine=$engine"
	got=$(grep -oE '^blk: layout: .*' <<<"$out")
	if [ -z "$SEG_MAX" ]; then
		fail "$name" "cannot tell ember's seg_max from virtio/blk.c (BLK_QUEUE_MAX - 2 expected)"
	elif [ $rc -ne 0 ] || crashed; then
		fail "$name" "rc=$rc out=[$out] err=[$err]"
	elif grep -q 'needs reset' <<<"$err"; then
		fail "$name" "ember marked the device NEEDS_RESET: err=[$err]"
	elif ! grep -qE "$(line_re 4 "$layout")" <<<"$out"; then
		fail "$name" "no '$(sed 's/\\//g' <<<"$layout")' result line (ember's seg_max is $SEG_MAX; guest: ${got:-no layout line}): out=[$out]"
	elif [ -n "$line" ] && ! grep -qE "^blk: $line\$" <<<"$out"; then
		fail "$name" "no 'blk: $(sed 's/\\//g' <<<"$line")' line: out=[$out]"
	elif check_image "$name" "$img" 4 "$seed" 1 "$layout"; then
		pass "$name"
		grep -E "^blk: ($show)" <<<"$out" | sed 's/^/  /'
	fi
}

for engine in sync async; do
	layout_case "blk-indirect8-$engine" "$engine" 1508 "$TABLES: " "blk.indirect=8"
	layout_case "blk-maxseg-$engine" "$engine" 1509 "$CHAINS: " "blk.maxseg=1"
	layout_case "blk-maxseg-indirect8-$engine" "$engine" 1510 "$TABLES, $CHAINS: " \
		"blk.maxseg=1 blk.indirect=8"
done

# A smaller queue than QueueNumMax (virtio 1.2, 4.2.2.2: QueueNum "less than or equal
# to" it), holding only what fits: 16 entries of direct chains (header, one data segment,
# status) carry 5 requests; 4 entries with indirect tables carry 4, and since no chain,
# indirect or not, may be longer than the queue (2.7.5.3.1), blk.maxseg gets 2 data
# segments, not seg_max. (A queue of 1 or 2 cannot carry a read or write at all.) Then a
# reset between the write and the read, and the whole initialisation again with the ring
# at a new address: ember must drop the old ring (2.4.1), which guest-min poisons.
QSIZE16="queue size 16 \(QueueNumMax $qmax\): 5 in flight, 3 ring descriptors each"
QSIZE4="queue size 4 \(QueueNumMax $qmax\): 4 in flight, 1 ring descriptor each"
RESET="reset and re-initialised: features 0x[0-9a-f]+, ring at 0x[0-9a-f]+ \(was 0x[0-9a-f]+\)"
for engine in sync async; do
	layout_case "blk-qsize16-$engine" "$engine" 1511 "queue size 16: " "blk.qsize=16" "$QSIZE16"
	layout_case "blk-qsize4-indirect8-maxseg-$engine" "$engine" 1512 \
		"queue size 4, $TABLES, chains of 2 data segments \(seg_max $SEG_MAX\): " \
		"blk.qsize=4 blk.indirect=8 blk.maxseg=1" "$QSIZE4"
	layout_case "blk-reset-$engine" "$engine" 1513 "reset between write and read: " \
		"blk.reset=1" "$RESET"
done

# No drive: a clear message, status 1.
run_ember --kernel "$GUEST" --cmdline "blk 1"
if [ $rc -eq 1 ] && ! crashed && grep -q 'no virtio-blk device' <<<"$out"; then
	pass blk-no-drive
else
	fail blk-no-drive "rc=$rc out=[$out] err=[$err]"
fi
finish
