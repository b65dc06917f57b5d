#!/usr/bin/env python3
"""Writes the seed corpus of build/fuzz/fuzz_virtio into tests/fuzz/corpus_virtio/:
well-formed requests as a guest driver makes them, in the input layout described at the
top of tests/fuzz/fuzz_virtio.c. Run it after changing that layout; commit the files.

    tests/fuzz/make_virtio_corpus.py [DIR]
"""
import os
import struct
import sys

# flags (byte 0)
NET, EVENT_IDX, INDIRECT, RO_OR_MRG, UNSAFE_OR_NO_MAC, RATE_LIMIT = 1, 2, 4, 8, 16, 32

# Ring offsets in the 64 KiB image: queue 0 (blk, net RX) and queue 1 (net TX).
Q0 = (0x0000, 0x1000, 0x2000)
Q1 = (0x3000, 0x4000, 0x5000)
QSIZE = 8

# Buffers. Image offsets from 0x8000 are guest-physical 0x1_0000_0000 + (offset - 0x8000).
HDR, STATUS, TABLE = 0x6000, 0x6100, 0x6208  # TABLE: 8-byte aligned, as Linux with SLOB
DATA_OFF = 0x8000
DATA = 0x1_0000_0000  # the same bytes, guest-physical

F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4

T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = 0, 1, 4, 8, 11, 13


def header(flags, qsize=QSIZE):
    return bytes([flags, qsize]) + struct.pack("<6H", *Q0, *Q1)


def write(off, data):
    return struct.pack("<BHH", 0, off, len(data)) + data


def kick(q):
    return bytes([1, q])


def frame(data):
    return struct.pack("<BH", 2, len(data)) + data


def reset():
    return bytes([3])


def descs(*ds):
    """struct virtq_desc entries: (addr, len, flags, next)."""
    return b"".join(struct.pack("<QIHH", *d) for d in ds)


def avail(heads, used_event=0):
    """flags, idx, ring[QSIZE], used_event."""
    ring = list(heads) + [0] * (QSIZE - len(heads))
    return struct.pack("<HH", 0, len(heads)) + struct.pack(f"<{QSIZE}H", *ring) + \
        struct.pack("<H", used_event)


def blk_header(type_, sector=0):
    return struct.pack("<IIQ", type_, 0, sector)


def blk_chain(type_, sector, data_len, first=0):
    """Descriptors first.. of one request: header, data (if any), status."""
    ds = [(HDR, 16, F_NEXT, first + 1)]
    if data_len:
        ds.append((DATA, data_len, F_NEXT | (F_WRITE if type_ in (T_IN, T_GET_ID) else 0),
                   first + 2))
    ds.append((STATUS, 1, F_WRITE, 0))
    return ds


def blk_one(type_, sector, data_len, flags=0, data=b""):
    return header(flags) + write(Q0[0], descs(*blk_chain(type_, sector, data_len))) + \
        write(HDR, blk_header(type_, sector)) + write(STATUS, b"\xff") + \
        (write(DATA_OFF, data) if data else b"") + write(Q0[1], avail([0])) + kick(0)


def seeds():
    s = {}
    s["blk_read"] = blk_one(T_IN, 2, 1024)
    s["blk_write"] = blk_one(T_OUT, 4, 1024, data=bytes(range(256)) * 4)
    s["blk_flush"] = blk_one(T_FLUSH, 0, 0)
    s["blk_get_id"] = blk_one(T_GET_ID, 0, 20)
    s["blk_read_only_write"] = blk_one(T_OUT, 0, 512, flags=RO_OR_MRG)

    # Buffers that end exactly where a region does (a byte more is outside RAM or across
    # the gap): a read into the last 512 bytes below the gap, its status byte the last
    # byte of RAM.
    s["blk_read_to_region_ends"] = header(0) + \
        write(Q0[0], descs((HDR, 16, F_NEXT, 1), (0x7e00, 512, F_NEXT | F_WRITE, 2),
                           (DATA + 0x7fff, 1, F_WRITE, 0))) + \
        write(HDR, blk_header(T_IN, 63)) + write(Q0[1], avail([0])) + kick(0)

    # A read through an indirect table only 8-byte aligned.
    table = descs((HDR, 16, F_NEXT, 1), (DATA, 4096, F_NEXT | F_WRITE, 2),
                  (STATUS, 1, F_WRITE, 0))
    s["blk_indirect_read"] = header(INDIRECT) + write(TABLE, table) + \
        write(Q0[0], descs((TABLE, len(table), F_INDIRECT, 0))) + \
        write(HDR, blk_header(T_IN, 8)) + write(Q0[1], avail([0])) + kick(0)

    # DISCARD and WRITE_ZEROES (unmap), each one 16-byte segment, with EVENT_IDX.
    seg_d = struct.pack("<QII", 0, 2, 0)
    seg_z = struct.pack("<QII", 4, 2, 1)
    hd, hz = 0x6400, 0x6500
    s["blk_discard_write_zeroes"] = header(EVENT_IDX) + \
        write(Q0[0], descs((hd, 32, F_NEXT, 1), (STATUS, 1, F_WRITE, 0),
                           (hz, 32, F_NEXT, 3), (STATUS + 1, 1, F_WRITE, 0))) + \
        write(hd, blk_header(T_DISCARD) + seg_d) + \
        write(hz, blk_header(T_WRITE_ZEROES) + seg_z) + \
        write(Q0[1], avail([0, 2], used_event=1)) + kick(0)

    # Two reads; the driver clears its rings, resets the device, sets up again and posts
    # one more.
    two = descs(*blk_chain(T_IN, 0, 512), *blk_chain(T_IN, 1, 512, first=3))
    s["blk_reset"] = header(0) + write(Q0[0], two) + write(HDR, blk_header(T_IN, 0)) + \
        write(Q0[1], avail([0, 3])) + kick(0) + write(Q0[1], avail([])) + \
        write(Q0[2], bytes(6 + 8 * QSIZE)) + reset() + write(Q0[1], avail([3])) + kick(0)

    # net TX: the 12-byte header, then a 60-byte broadcast frame from the configured MAC.
    mac = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
    eth = b"\xff" * 6 + mac + b"\x88\xb5" + bytes(46)
    s["net_tx"] = header(NET) + write(HDR, bytes(12) + eth) + \
        write(Q1[0], descs((HDR, 12, F_NEXT, 1), (HDR + 12, len(eth), 0, 0))) + \
        write(Q1[1], avail([0])) + kick(1)

    # net TX through an indirect table, with EVENT_IDX.
    table = descs((HDR, 12, F_NEXT, 1), (HDR + 12, len(eth), 0, 0))
    s["net_tx_indirect"] = header(NET | INDIRECT | EVENT_IDX) + write(HDR, bytes(12) + eth) + \
        write(TABLE, table) + write(Q1[0], descs((TABLE, len(table), F_INDIRECT, 0))) + \
        write(Q1[1], avail([0])) + kick(1)

    # net RX with MRG_RXBUF: two 64-byte buffers, one 112-byte frame merged into both.
    rx = descs((DATA, 64, F_WRITE, 0), (DATA + 64, 64, F_WRITE, 0))
    s["net_rx_mergeable"] = header(NET | RO_OR_MRG) + write(Q0[0], rx) + \
        write(Q0[1], avail([0, 1])) + kick(0) + frame(bytes(12) + eth + bytes(40))

    # Edges the fuzzer is slow to find on its own.
    # Three reads in one kick under a limit of two requests: the third is given back.
    three = descs(*blk_chain(T_IN, 0, 512), *blk_chain(T_IN, 1, 512, first=3),
                  *blk_chain(T_IN, 2, 512, first=6))
    s["blk_rate_limited"] = header(RATE_LIMIT, 16) + write(Q0[0], three) + \
        write(HDR, blk_header(T_IN, 0)) + write(Q0[1], avail([0, 3, 6])) + kick(0)
    # A FLUSH to a drive with cache=Unsafe (not offered: S_UNSUPP).
    s["blk_flush_unsafe"] = blk_one(T_FLUSH, 0, 0, flags=UNSAFE_OR_NO_MAC)
    # A header, then an indirect table of 256 one-byte writable buffers: 257 buffers, one
    # more than a chain may hold.
    big = descs(*[(DATA + i, 1, F_WRITE | (F_NEXT if i < 255 else 0), i + 1)
                  for i in range(256)])
    s["blk_chain_of_257_buffers"] = header(INDIRECT, 0) + write(0x9000, big) + \
        write(Q0[0], descs((HDR, 16, F_NEXT, 1), (DATA + 0x1000, len(big), F_INDIRECT, 0))) + \
        write(HDR, blk_header(T_IN, 0)) + write(Q0[1], avail([0])) + kick(0)
    # Three frames under a limit of two: the third waits.
    s["net_tx_rate_limited"] = header(NET | RATE_LIMIT) + write(HDR, bytes(12) + eth) + \
        write(Q1[0], descs(*[(HDR, 12 + len(eth), 0, 0)] * 3)) + \
        write(Q1[1], avail([0, 1, 2])) + kick(1)
    # Without MRG_RXBUF a frame larger than the one buffer is dropped.
    s["net_rx_too_large"] = header(NET) + write(Q0[0], descs((DATA, 64, F_WRITE, 0))) + \
        write(Q0[1], avail([0])) + kick(0) + frame(bytes(12) + eth + bytes(100))
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus_virtio")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
