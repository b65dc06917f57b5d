/*
 * iov_to_buf, iov_from_buf and iov_slice: "skip n bytes, take m" over scattered
 * segments, checked byte by byte against a flat reference.
 */
#include <sys/uio.h>

#include "../../virtio/iov.h"
#include "helpers.h"

/* Three segments of 3, 0 and 5 bytes over one backing array, plus a 4-byte one. */
static uint8_t back[16];
static struct iovec iov[4];
#define TOTAL 12

static void setup(void)
{
	for (unsigned i = 0; i < sizeof(back); i++)
		back[i] = (uint8_t)(0x10 + i);
	/* Out of order in memory, so a segment boundary is visible in the bytes. */
	iov[0] = (struct iovec){ back + 8, 3 };  /* 18 19 1a */
	iov[1] = (struct iovec){ back + 0, 0 };  /* empty */
	iov[2] = (struct iovec){ back + 0, 5 };  /* 10 11 12 13 14 */
	iov[3] = (struct iovec){ back + 12, 4 }; /* 1c 1d 1e 1f */
}

/* The bytes the four segments hold, in order. */
static const uint8_t flat[TOTAL] = { 0x18, 0x19, 0x1a, 0x10, 0x11, 0x12,
				     0x13, 0x14, 0x1c, 0x1d, 0x1e, 0x1f };

TestSuite(iov, .init = setup);

Test(iov, to_buf_whole)
{
	uint8_t buf[32];
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(iov_to_buf(iov, 4, 0, buf, sizeof(buf)), TOTAL);
	cr_assert_arr_eq(buf, flat, TOTAL);
	cr_assert_eq(buf[TOTAL], 0xee, "wrote past the bytes it reported");
}

Test(iov, to_buf_every_skip_and_len)
{
	for (size_t skip = 0; skip <= TOTAL + 2; skip++) {
		for (size_t len = 0; len <= TOTAL + 2; len++) {
			uint8_t buf[TOTAL + 4];
			memset(buf, 0xee, sizeof(buf));
			size_t want = skip >= TOTAL ? 0 : (TOTAL - skip < len ? TOTAL - skip : len);
			size_t got = iov_to_buf(iov, 4, skip, buf, len);
			cr_assert_eq(got, want, "skip %zu len %zu: %zu bytes, want %zu", skip, len,
				     got, want);
			if (want)
				cr_assert_arr_eq(buf, flat + skip, want, "skip %zu len %zu", skip, len);
			for (size_t i = want; i < sizeof(buf); i++)
				cr_assert_eq(buf[i], 0xee, "skip %zu len %zu: byte %zu written", skip,
					     len, i);
		}
	}
}

Test(iov, to_buf_skip_spanning_segments)
{
	uint8_t buf[4] = { 0 };
	/* Skip the 3-byte and the empty segment and 2 bytes into the third. */
	cr_assert_eq(iov_to_buf(iov, 4, 5, buf, 4), 4);
	const uint8_t want[4] = { 0x12, 0x13, 0x14, 0x1c };
	cr_assert_arr_eq(buf, want, 4);
}

Test(iov, to_buf_empty)
{
	uint8_t buf[4] = { 0xee, 0xee, 0xee, 0xee };
	cr_assert_eq(iov_to_buf(iov, 0, 0, buf, 4), 0);
	cr_assert_eq(iov_to_buf(iov, 4, 0, buf, 0), 0);
	cr_assert_eq(iov_to_buf(iov + 1, 1, 0, buf, 4), 0, "a lone empty segment holds nothing");
	cr_assert_eq(buf[0], 0xee);
}

Test(iov, from_buf_every_skip_and_len)
{
	const uint8_t src[TOTAL + 2] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
					 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad };
	for (size_t skip = 0; skip <= TOTAL + 2; skip++) {
		for (size_t len = 0; len <= TOTAL + 2; len++) {
			setup();
			size_t want = skip >= TOTAL ? 0 : (TOTAL - skip < len ? TOTAL - skip : len);
			size_t got = iov_from_buf(iov, 4, skip, src, len);
			cr_assert_eq(got, want, "skip %zu len %zu: %zu bytes, want %zu", skip, len,
				     got, want);
			/* Read back through the segments: only [skip, skip + want) changed. */
			uint8_t now[TOTAL];
			cr_assert_eq(iov_to_buf(iov, 4, 0, now, TOTAL), TOTAL);
			for (size_t i = 0; i < TOTAL; i++) {
				uint8_t expect = i >= skip && i < skip + want ? src[i - skip] : flat[i];
				cr_assert_eq(now[i], expect, "skip %zu len %zu: byte %zu is %#x", skip,
					     len, i, now[i]);
			}
			/* Bytes of the backing array outside every segment stay put. */
			cr_assert_eq(back[5], 0x15);
			cr_assert_eq(back[6], 0x16);
			cr_assert_eq(back[7], 0x17);
			cr_assert_eq(back[11], 0x1b);
		}
	}
}

Test(iov, from_buf_skip_spanning_segments)
{
	const uint8_t src[3] = { 0xa0, 0xa1, 0xa2 };
	cr_assert_eq(iov_from_buf(iov, 4, 7, src, 3), 3);
	cr_assert_eq(back[4], 0xa0, "last byte of the third segment");
	cr_assert_eq(back[12], 0xa1, "first of the fourth");
	cr_assert_eq(back[13], 0xa2);
	cr_assert_eq(back[3], 0x13);
	cr_assert_eq(back[14], 0x1e);
}

Test(iov, from_buf_empty)
{
	const uint8_t src[2] = { 1, 2 };
	cr_assert_eq(iov_from_buf(iov, 0, 0, src, 2), 0);
	cr_assert_eq(iov_from_buf(iov, 4, 0, src, 0), 0);
	cr_assert_eq(iov_from_buf(iov, 4, TOTAL, src, 2), 0);
	cr_assert_eq(back[8], 0x18);
}

Test(iov, slice_skip_spanning_segments)
{
	struct iovec dst[4];
	size_t got = 99;
	/* From byte 2 (last of segment 0) for 5 bytes: 1 + 4 of segment 2. */
	unsigned n = iov_slice(iov, 4, 2, 5, dst, 4, &got);
	cr_assert_eq(n, 2, "the empty segment must not become an entry");
	cr_assert_eq(got, 5);
	cr_assert_eq(dst[0].iov_base, back + 10);
	cr_assert_eq(dst[0].iov_len, 1);
	cr_assert_eq(dst[1].iov_base, back + 0);
	cr_assert_eq(dst[1].iov_len, 4);
}

Test(iov, slice_skip_lands_on_a_boundary)
{
	struct iovec dst[4];
	size_t got;
	unsigned n = iov_slice(iov, 4, 3, 6, dst, 4, &got);
	cr_assert_eq(n, 2);
	cr_assert_eq(got, 6);
	cr_assert_eq(dst[0].iov_base, back + 0);
	cr_assert_eq(dst[0].iov_len, 5);
	cr_assert_eq(dst[1].iov_base, back + 12);
	cr_assert_eq(dst[1].iov_len, 1);
}

Test(iov, slice_len_beyond_the_total)
{
	struct iovec dst[4];
	size_t got;
	unsigned n = iov_slice(iov, 4, 4, 1000, dst, 4, &got);
	cr_assert_eq(n, 2);
	cr_assert_eq(got, TOTAL - 4);
	cr_assert_eq(dst[0].iov_base, back + 1);
	cr_assert_eq(dst[0].iov_len, 4);
	cr_assert_eq(dst[1].iov_base, back + 12);
	cr_assert_eq(dst[1].iov_len, 4);
}

Test(iov, slice_skip_beyond_the_total)
{
	struct iovec dst[4];
	size_t got = 99;
	cr_assert_eq(iov_slice(iov, 4, TOTAL, 4, dst, 4, &got), 0);
	cr_assert_eq(got, 0);
	cr_assert_eq(iov_slice(iov, 4, TOTAL + 100, 4, dst, 4, &got), 0);
	cr_assert_eq(got, 0);
}

Test(iov, slice_empty)
{
	struct iovec dst[4];
	size_t got = 99;
	cr_assert_eq(iov_slice(iov, 4, 0, 0, dst, 4, &got), 0, "len 0 takes nothing");
	cr_assert_eq(got, 0);
	got = 99;
	cr_assert_eq(iov_slice(iov, 0, 0, 10, dst, 4, &got), 0);
	cr_assert_eq(got, 0);
}

Test(iov, slice_stops_at_max_entries)
{
	struct iovec dst[4];
	dst[1] = (struct iovec){ NULL, 0xdead };
	size_t got;
	unsigned n = iov_slice(iov, 4, 0, TOTAL, dst, 1, &got);
	cr_assert_eq(n, 1);
	cr_assert_eq(got, 3, "got must count only the entries written");
	cr_assert_eq(dst[0].iov_base, back + 8);
	cr_assert_eq(dst[0].iov_len, 3);
	cr_assert_eq(dst[1].iov_len, 0xdead, "wrote past max");
}

Test(iov, slice_matches_to_buf)
{
	for (size_t skip = 0; skip <= TOTAL; skip++) {
		for (size_t len = 0; len <= TOTAL; len++) {
			struct iovec dst[4];
			size_t got;
			unsigned n = iov_slice(iov, 4, skip, len, dst, 4, &got);
			uint8_t a[TOTAL], b[TOTAL];
			size_t na = iov_to_buf(dst, n, 0, a, TOTAL);
			size_t nb = iov_to_buf(iov, 4, skip, b, len);
			cr_assert_eq(na, got, "skip %zu len %zu", skip, len);
			cr_assert_eq(na, nb, "skip %zu len %zu", skip, len);
			if (na)
				cr_assert_arr_eq(a, b, na, "skip %zu len %zu", skip, len);
			for (unsigned i = 0; i < n; i++)
				cr_assert_neq(dst[i].iov_len, 0, "empty entry %u", i);
		}
	}
}
