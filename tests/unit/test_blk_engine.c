/*
 * Both block engines against a file in a private temporary directory (and a memfd,
 * whose shmem backing has a known, fixed set of fallocate modes). Every behaviour is
 * checked for sync and async alike. Finished requests are reaped as virtio-blk does:
 * whenever the engine's event_fd (async) says so, and sync's right after submit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../virtio/blk_engine.h"
#include "helpers.h"

#define DIR_TEMPLATE "/tmp/ember-unit-XXXXXX"
#define MAX_DONE 64

struct completion {
	void *cookie;
	int64_t result;
};

/* What the test owns: the file, the engine and what was reaped from it. */
struct fixture {
	char dir[sizeof(DIR_TEMPLATE)];
	char path[sizeof(DIR_TEMPLATE) + 16];
	int fd;
	struct blk_engine *eng;
	struct completion done[MAX_DONE];
	unsigned ndone;
};

static struct fixture fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	memcpy(fx.dir, DIR_TEMPLATE, sizeof(DIR_TEMPLATE));
	cr_assert_not_null(mkdtemp(fx.dir), "mkdtemp: %s", strerror(errno));
	snprintf(fx.path, sizeof(fx.path), "%s/disk", fx.dir);
	fx.fd = open(fx.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fx.fd, 0, "open %s: %s", fx.path, strerror(errno));
}

static void teardown(void)
{
	blk_engine_close(fx.eng);
	close(fx.fd);
	unlink(fx.path);
	rmdir(fx.dir);
}

static void open_engine(const char *kind, unsigned depth)
{
	struct errbuf e = { "" };
	cr_assert_eq(blk_engine_open(&fx.eng, kind, fx.fd, depth, &e), 0,
		     "blk_engine_open(%s): %s", kind, e.msg);
}

/* Takes every finished request into fx.done; returns how many. */
static unsigned reap_all(void)
{
	struct blk_done d;
	unsigned n = 0;
	while (blk_engine_reap(fx.eng, &d)) {
		cr_assert_lt(fx.ndone, MAX_DONE);
		fx.done[fx.ndone++] = (struct completion){ d.cookie, d.result };
		n++;
	}
	return n;
}

/* Waits for the engine's event_fd (async) and empties it; false after 10 s of nothing. */
static bool wait_event(void)
{
	struct pollfd p = { fx.eng->event_fd, POLLIN, 0 };
	if (p.fd < 0 || poll(&p, 1, 10000) != 1)
		return false;
	blk_engine_clear_event(fx.eng);
	return true;
}

/* Reaps until at least n requests in all were reaped, as virtio-blk does on each wakeup. */
static void wait_reaped(unsigned n)
{
	reap_all();
	while (fx.ndone < n && wait_event())
		reap_all();
}

static void wait_done(unsigned n)
{
	wait_reaped(n);
	cr_assert_eq(fx.ndone, n, "%u completions, want %u", fx.ndone, n);
}

/* Submits one request, kicks, waits for its completion and returns its result. */
static int64_t run_req(const struct blk_req *r)
{
	unsigned before = fx.ndone;
	cr_assert_eq(blk_engine_submit(fx.eng, r), 0);
	blk_engine_kick(fx.eng);
	wait_done(before + 1);
	cr_assert_eq(fx.done[before].cookie, r->cookie);
	cr_assert_eq(blk_engine_inflight(fx.eng), 0);
	return fx.done[before].result;
}

static int64_t rw(enum blk_op op, uint64_t offset, const struct iovec *iov, unsigned n)
{
	struct blk_req r = { .op = op, .offset = offset, .iov = iov, .iovcnt = n,
			     .cookie = (void *)(uintptr_t)(0x1000 + fx.ndone) };
	return run_req(&r);
}

static int64_t range_op(enum blk_op op, uint64_t offset, uint64_t len, bool unmap)
{
	struct blk_req r = { .op = op, .offset = offset, .len = len, .unmap = unmap,
			     .cookie = (void *)(uintptr_t)(0x2000 + fx.ndone) };
	return run_req(&r);
}

static uint8_t pattern(uint64_t pos)
{
	return (uint8_t)(pos * 7 + (pos >> 8) + 1); /* never 0 at the positions used */
}

/* Fills the file with pattern() through plain pwrite, not the engine under test. */
static void fill_file(uint64_t size)
{
	uint8_t *b = malloc(size);
	cr_assert_not_null(b);
	for (uint64_t i = 0; i < size; i++)
		b[i] = pattern(i);
	cr_assert_eq(pwrite(fx.fd, b, size, 0), (ssize_t)size);
	free(b);
}

static void assert_file_bytes(uint64_t offset, uint64_t len, bool zero)
{
	uint8_t *b = malloc(len);
	cr_assert_not_null(b);
	cr_assert_eq(pread(fx.fd, b, len, (off_t)offset), (ssize_t)len);
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(b[i], zero ? 0 : pattern(offset + i), "byte at %llu: 0x%02x",
			     (unsigned long long)(offset + i), b[i]);
	free(b);
}

static off_t file_size(void)
{
	struct stat st;
	cr_assert_eq(fstat(fx.fd, &st), 0);
	return st.st_size;
}

/* Each behaviour runs once per engine. */
#define BOTH_ENGINES(name)                                                             \
	static void name(const char *kind);                                            \
	Test(blk_engine, name##_sync) { name("sync"); }                                \
	Test(blk_engine, name##_async) { name("async"); }                              \
	static void name(const char *kind)

TestSuite(blk_engine, .init = setup, .fini = teardown, .timeout = 20);

BOTH_ENGINES(write_then_read_back)
{
	open_engine(kind, 8);
	uint8_t a[512], b[3000], c[1];
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = pattern(4096 + i);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = pattern(4096 + sizeof(a) + i);
	c[0] = pattern(4096 + sizeof(a) + sizeof(b));
	struct iovec w[] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	cr_assert_eq(rw(BLK_OP_WRITE, 4096, w, 3), 3513);
	cr_assert_eq(file_size(), 4096 + 3513);
	assert_file_bytes(4096, 3513, false);

	uint8_t back[3513];
	struct iovec r = { back, sizeof(back) };
	cr_assert_eq(rw(BLK_OP_READ, 4096, &r, 1), 3513);
	for (size_t i = 0; i < sizeof(back); i++)
		cr_assert_eq(back[i], pattern(4096 + i), "byte %zu", i);
}

BOTH_ENGINES(readv_scatters_into_several_iovecs)
{
	fill_file(65536);
	open_engine(kind, 8);
	static uint8_t p0[1], p1[4095], p3[5000], p4[3];
	uint8_t empty;
	struct iovec iov[] = { { p0, sizeof(p0) }, { p1, sizeof(p1) }, { &empty, 0 },
			       { p3, sizeof(p3) }, { p4, sizeof(p4) } };
	cr_assert_eq(rw(BLK_OP_READ, 100, iov, 5), 1 + 4095 + 5000 + 3);
	uint64_t pos = 100;
	for (unsigned k = 0; k < 5; k++)
		for (size_t i = 0; i < iov[k].iov_len; i++, pos++)
			cr_assert_eq(((uint8_t *)iov[k].iov_base)[i], pattern(pos),
				     "iovec %u byte %zu", k, i);
}

BOTH_ENGINES(many_small_iovecs)
{
	open_engine(kind, 4);
	static uint8_t buf[128][512];
	struct iovec iov[128];
	for (unsigned k = 0; k < 128; k++) {
		memset(buf[k], (int)(k + 1), sizeof(buf[k]));
		iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
	}
	cr_assert_eq(rw(BLK_OP_WRITE, 0, iov, 128), 128 * 512);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(rw(BLK_OP_READ, 0, iov, 128), 128 * 512);
	for (unsigned k = 0; k < 128; k++)
		cr_assert(buf[k][0] == k + 1 && buf[k][511] == k + 1, "iovec %u", k);
}

BOTH_ENGINES(flush_completes_with_zero)
{
	open_engine(kind, 8);
	uint8_t b[4096] = { 1 };
	struct iovec w = { b, sizeof(b) };
	cr_assert_eq(rw(BLK_OP_WRITE, 0, &w, 1), 4096);
	cr_assert_eq(range_op(BLK_OP_FLUSH, 0, 0, false), 0);
}

/* On this file system the range is zero afterwards, or the engine said -EOPNOTSUPP. */
static void check_zeroed_range(const char *kind, enum blk_op op, bool unmap)
{
	fill_file(65536);
	open_engine(kind, 8);
	int64_t res = range_op(op, 16384, 16384, unmap);
	if (res == -EOPNOTSUPP) {
		assert_file_bytes(0, 65536, false);
		return;
	}
	cr_assert_eq(res, 0, "result %lld", (long long)res);
	assert_file_bytes(0, 16384, false);
	assert_file_bytes(16384, 16384, true);
	assert_file_bytes(32768, 32768, false);
	cr_assert_eq(file_size(), 65536, "KEEP_SIZE: the file size is unchanged");

	uint8_t back[16384];
	memset(back, 0xee, sizeof(back));
	struct iovec r = { back, sizeof(back) };
	cr_assert_eq(rw(BLK_OP_READ, 16384, &r, 1), 16384);
	for (size_t i = 0; i < sizeof(back); i++)
		cr_assert_eq(back[i], 0, "byte %zu read through the engine", i);
}

BOTH_ENGINES(discard_reads_back_as_zeros)
{
	check_zeroed_range(kind, BLK_OP_DISCARD, false);
}

BOTH_ENGINES(write_zeroes_reads_back_as_zeros)
{
	check_zeroed_range(kind, BLK_OP_WRITE_ZEROES, false);
}

BOTH_ENGINES(write_zeroes_with_unmap_reads_back_as_zeros)
{
	check_zeroed_range(kind, BLK_OP_WRITE_ZEROES, true);
}

/*
 * shmem (memfd) can punch holes but not zero ranges: ZERO_RANGE must come back as
 * -EOPNOTSUPP, untouched, while the unmap form and DISCARD work.
 */
BOTH_ENGINES(memfd_zero_range_is_eopnotsupp_and_punch_hole_works)
{
	close(fx.fd);
	fx.fd = memfd_create("ember-blk", MFD_CLOEXEC);
	cr_assert_geq(fx.fd, 0, "memfd_create: %s", strerror(errno));
	fill_file(65536);
	open_engine(kind, 8);
	cr_assert_eq(range_op(BLK_OP_WRITE_ZEROES, 16384, 4096, false), -EOPNOTSUPP);
	assert_file_bytes(0, 65536, false);
	cr_assert_eq(range_op(BLK_OP_WRITE_ZEROES, 16384, 4096, true), 0);
	cr_assert_eq(range_op(BLK_OP_DISCARD, 32768, 4096, false), 0);
	assert_file_bytes(12288, 4096, false);
	assert_file_bytes(16384, 4096, true);
	assert_file_bytes(20480, 12288, false);
	assert_file_bytes(32768, 4096, true);
	assert_file_bytes(36864, 28672, false);
}

BOTH_ENGINES(short_read_at_eof_returns_what_was_read)
{
	fill_file(6000);
	open_engine(kind, 8);
	static uint8_t a[3000], b[5192];
	memset(b, 0xee, sizeof(b));
	struct iovec iov[] = { { a, sizeof(a) }, { b, sizeof(b) } };
	cr_assert_eq(rw(BLK_OP_READ, 1000, iov, 2), 5000);
	for (size_t i = 0; i < sizeof(a); i++)
		cr_assert_eq(a[i], pattern(1000 + i));
	for (size_t i = 0; i < 2000; i++)
		cr_assert_eq(b[i], pattern(4000 + i));
	cr_assert_eq(b[2000], 0xee, "nothing past the end of the file was written");
	cr_assert_eq(rw(BLK_OP_READ, 6000, iov, 2), 0, "at the end: 0 bytes");
	cr_assert_eq(rw(BLK_OP_READ, 1 << 20, iov, 2), 0, "beyond the end: 0 bytes");
}

/*
 * A file size limit cuts a write short at the limit; the engine continues it, and the
 * continuation's error is the result (a write never completes short). Criterion runs
 * each test in its own process, so the limit stays here.
 */
BOTH_ENGINES(short_write_is_continued_and_fails_at_the_limit)
{
	open_engine(kind, 8);
	cr_assert_neq(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	struct rlimit lim = { .rlim_cur = 6000, .rlim_max = RLIM_INFINITY };
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	static uint8_t a[4096], b[4096];
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	struct iovec iov[] = { { a, sizeof(a) }, { b, sizeof(b) } };
	cr_assert_eq(rw(BLK_OP_WRITE, 0, iov, 2), -EFBIG);
	cr_assert_eq(file_size(), 6000, "the part below the limit was written");
	uint8_t x;
	cr_assert_eq(pread(fx.fd, &x, 1, 5999), 1);
	cr_assert_eq(x, 0x22);
}

BOTH_ENGINES(errors_pass_up_as_negative_errno)
{
	close(fx.fd);
	fx.fd = open(fx.path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fx.fd, 0);
	open_engine(kind, 8);
	uint8_t b[512] = { 0 };
	struct iovec iov = { b, sizeof(b) };
	cr_assert_eq(rw(BLK_OP_WRITE, 0, &iov, 1), -EBADF);
	cr_assert_eq(range_op(BLK_OP_DISCARD, 0, 4096, false), -EBADF);
}

BOTH_ENGINES(offsets_beyond_off_t_are_einval)
{
	open_engine(kind, 8);
	uint8_t b[512];
	struct iovec iov = { b, sizeof(b) };
	/* io_uring would take offset -1 as "the file position": never passed on. */
	cr_assert_eq(rw(BLK_OP_READ, UINT64_MAX, &iov, 1), -EINVAL);
	cr_assert_eq(rw(BLK_OP_WRITE, (uint64_t)INT64_MAX - 10, &iov, 1), -EINVAL);
	cr_assert_eq(range_op(BLK_OP_DISCARD, UINT64_MAX, 4096, false), -EINVAL);
	cr_assert_eq(range_op(BLK_OP_WRITE_ZEROES, 0, UINT64_MAX, false), -EINVAL);
	struct iovec huge[2] = { { b, SIZE_MAX }, { b, 2 } };
	cr_assert_eq(rw(BLK_OP_READ, 0, huge, 2), -EINVAL, "iovec lengths that overflow");
	cr_assert_eq(rw(BLK_OP_READ, 0, &iov, IOV_MAX + 1), -EINVAL);
}

/* Depth counts requests until they are reaped, finished or not: a reap makes room. */
BOTH_ENGINES(full_until_reaped)
{
	open_engine(kind, 1);
	uint8_t w[4096], r[4096];
	memset(w, 0x5a, sizeof(w));
	struct iovec wi = { w, sizeof(w) }, ri = { r, sizeof(r) };
	struct blk_req write = { .op = BLK_OP_WRITE, .iov = &wi, .iovcnt = 1, .cookie = &write };
	struct blk_req read = { .op = BLK_OP_READ, .iov = &ri, .iovcnt = 1, .cookie = &read };
	cr_assert_eq(blk_engine_submit(fx.eng, &write), 0);
	blk_engine_kick(fx.eng);
	blk_engine_settle(fx.eng);
	cr_assert(blk_engine_has_done(fx.eng));
	cr_assert_eq(blk_engine_submit(fx.eng, &read), -EAGAIN, "finished is not reaped");
	wait_done(1);
	cr_assert_eq(blk_engine_submit(fx.eng, &read), 0, "room again after the reap");
	blk_engine_kick(fx.eng);
	wait_done(2);
	cr_assert_eq(fx.done[0].cookie, &write);
	cr_assert_eq(fx.done[1].cookie, &read);
	cr_assert_eq(fx.done[1].result, 4096);
	cr_assert_eq(memcmp(w, r, sizeof(w)), 0);
	cr_assert_not(blk_engine_has_done(fx.eng));
}

/* A reset's wait: everything reaches the file, and the results wait to be reaped. */
BOTH_ENGINES(settle_finishes_everything)
{
	enum { N = 8 };
	open_engine(kind, N);
	static uint8_t b[N][4096];
	struct iovec iov[N];
	struct blk_req req[N];
	for (unsigned i = 0; i < N; i++) {
		memset(b[i], (int)(i + 1), sizeof(b[i]));
		iov[i] = (struct iovec){ b[i], sizeof(b[i]) };
		req[i] = (struct blk_req){ .op = BLK_OP_WRITE, .offset = i * 4096ULL,
					   .iov = &iov[i], .iovcnt = 1, .cookie = &req[i] };
		cr_assert_eq(blk_engine_submit(fx.eng, &req[i]), 0);
		if (i == N / 2)
			blk_engine_kick(fx.eng); /* half handed over, half only queued */
	}
	blk_engine_settle(fx.eng);
	for (unsigned i = 0; i < N; i++) {
		uint8_t x;
		cr_assert_eq(pread(fx.fd, &x, 1, (off_t)(i * 4096 + 4095)), 1);
		cr_assert_eq(x, i + 1);
	}
	cr_assert_eq(blk_engine_inflight(fx.eng), N, "settle reaped");
	cr_assert_eq(reap_all(), N);
	cr_assert_eq(blk_engine_inflight(fx.eng), 0);
	bool seen[N] = { false };
	for (unsigned i = 0; i < N; i++) {
		struct blk_req *r = fx.done[i].cookie;
		cr_assert(r >= req && r < req + N);
		cr_assert_not(seen[r - req], "reaped twice");
		seen[r - req] = true;
		cr_assert_eq(fx.done[i].result, 4096);
	}
	blk_engine_settle(fx.eng); /* nothing in flight: returns at once */
}

BOTH_ENGINES(close_waits_for_what_is_in_flight)
{
	open_engine(kind, 4);
	uint8_t b[4096] = { 7 };
	struct iovec iov = { b, sizeof(b) };
	struct blk_req r = { .op = BLK_OP_WRITE, .iov = &iov, .iovcnt = 1, .cookie = &r };
	cr_assert_eq(blk_engine_submit(fx.eng, &r), 0);
	blk_engine_kick(fx.eng);
	blk_engine_close(fx.eng);
	fx.eng = NULL;
	uint8_t x;
	cr_assert_eq(pread(fx.fd, &x, 1, 0), 1, "the write did not land before close returned");
	cr_assert_eq(x, 7);
}

Test(blk_engine, async_queue_full_is_eagain)
{
	fill_file(16384);
	open_engine("async", 2);
	uint8_t b[3][512];
	struct iovec iov[3] = { { b[0], 512 }, { b[1], 512 }, { b[2], 512 } };
	struct blk_req r[3];
	for (unsigned i = 0; i < 3; i++)
		r[i] = (struct blk_req){ .op = BLK_OP_READ, .offset = i * 512ULL, .iov = &iov[i],
					 .iovcnt = 1, .cookie = &r[i] };
	cr_assert_eq(blk_engine_submit(fx.eng, &r[0]), 0);
	cr_assert_eq(blk_engine_submit(fx.eng, &r[1]), 0);
	cr_assert_eq(blk_engine_submit(fx.eng, &r[2]), -EAGAIN, "depth 2: the third waits");
	cr_assert_eq(blk_engine_inflight(fx.eng), 2);
	blk_engine_kick(fx.eng);
	cr_assert_eq(blk_engine_submit(fx.eng, &r[2]), -EAGAIN,
		     "submitted but not completed still counts");
	wait_done(2);
	cr_assert_eq(blk_engine_inflight(fx.eng), 0);
	cr_assert_eq(blk_engine_submit(fx.eng, &r[2]), 0, "room again after completions");
	blk_engine_kick(fx.eng);
	wait_done(3);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(fx.done[i].result, 512);
		for (size_t k = 0; k < 512; k++)
			cr_assert_eq(b[i][k], pattern(i * 512 + k));
	}
}

Test(blk_engine, async_signals_its_event_fd)
{
	open_engine("async", 4);
	cr_assert_geq(fx.eng->event_fd, 0);
	uint8_t b[512] = { 0 };
	struct iovec iov = { b, sizeof(b) };
	struct blk_req r = { .op = BLK_OP_WRITE, .iov = &iov, .iovcnt = 1, .cookie = &r };
	cr_assert_eq(blk_engine_submit(fx.eng, &r), 0);
	blk_engine_kick(fx.eng);
	cr_assert_eq(blk_engine_inflight(fx.eng), 1);
	cr_assert(wait_event(), "no wakeup on the event_fd");
	cr_assert_eq(reap_all(), 1);
	cr_assert_eq(fx.done[0].result, 512);
	struct pollfd p = { fx.eng->event_fd, POLLIN, 0 };
	cr_assert_eq(poll(&p, 1, 0), 0, "clear_event left it readable");
}

Test(blk_engine, sync_finishes_inside_submit)
{
	open_engine("sync", 5);
	cr_assert_eq(fx.eng->event_fd, -1, "nothing to wait for");
	uint8_t b[512] = { 0 };
	struct iovec iov = { b, sizeof(b) };
	struct blk_req r = { .op = BLK_OP_WRITE, .iov = &iov, .iovcnt = 1, .cookie = &r };
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(blk_engine_submit(fx.eng, &r), 0);
		cr_assert(blk_engine_has_done(fx.eng));
	}
	cr_assert_eq(blk_engine_submit(fx.eng, &r), -EAGAIN, "five finished, none reaped");
	cr_assert_eq(reap_all(), 5);
	cr_assert_eq(blk_engine_inflight(fx.eng), 0);
}

Test(blk_engine, open_rejects_bad_arguments)
{
	struct errbuf e = { "" };
	struct blk_engine *eng = NULL;
	cr_assert_eq(blk_engine_open(&eng, "posix-aio", fx.fd, 8, &e), -1);
	cr_assert_str_eq(e.msg, "block engine 'posix-aio': must be sync or async");
	cr_assert_eq(blk_engine_open(&eng, "async", fx.fd, 0, &e), -1);
	cr_assert_str_eq(e.msg, "block engine async: queue depth must be >= 1");
	cr_assert_null(eng);
}

Test(blk_engine, async_ring_refusal_names_io_uring)
{
	/* More entries than io_uring allows (IORING_MAX_ENTRIES is 32768). */
	struct errbuf e = { "" };
	struct blk_engine *eng = NULL;
	cr_assert_eq(blk_engine_open(&eng, "async", fx.fd, 1u << 20, &e), -1);
	assert_msg_has(e, "block engine async: io_uring_queue_init(1048576): ");
	cr_assert_null(eng);
}

/*
 * Slots are reused: after some completions, a full window of different-sized reads
 * still completes each request once, with its own cookie and its own length. (A free
 * list that lost entries once handed one slot to two requests.)
 */
Test(blk_engine, async_reused_slots_keep_requests_apart)
{
	enum { N = 16 };
	fill_file(N * 4096);
	open_engine("async", 4);
	static uint8_t buf[N][4096];
	struct iovec iov[N];
	struct blk_req r[N];
	for (unsigned i = 0; i < N; i++) {
		iov[i] = (struct iovec){ buf[i], 512u * (1 + i % 8) };
		r[i] = (struct blk_req){ .op = BLK_OP_READ, .offset = i * 4096ULL, .iov = &iov[i],
					 .iovcnt = 1, .cookie = &r[i] };
	}
	for (unsigned next = 0; next < N;) {
		while (next < N && blk_engine_submit(fx.eng, &r[next]) == 0)
			next++;
		blk_engine_kick(fx.eng);
		/* At least one more completion, so that its slot is free again. */
		wait_reaped(fx.ndone + 1);
	}
	wait_done(N);
	bool seen[N] = { false };
	for (unsigned k = 0; k < N; k++) {
		struct blk_req *req = fx.done[k].cookie;
		unsigned i = (unsigned)(req - r);
		cr_assert_lt(i, N);
		cr_assert(!seen[i], "request %u completed twice", i);
		seen[i] = true;
		cr_assert_eq(fx.done[k].result, (int64_t)iov[i].iov_len, "request %u: %lld bytes, want %zu",
			     i, (long long)fx.done[k].result, iov[i].iov_len);
		for (size_t b = 0; b < iov[i].iov_len; b++)
			cr_assert_eq(buf[i][b], pattern(i * 4096ULL + b));
	}
}
