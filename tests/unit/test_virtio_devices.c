/*
 * virtio-blk and virtio-net end to end without KVM: the real devices on a vm with
 * vm_fd -1 (no ioeventfd, no irqfd), driven the way a guest does through the register
 * window, with rings and buffers in real guest memory. A kick writes QueueNotify and
 * runs the notify handler; async completions come through the event loop. What the
 * devices counted is read back from a metrics line, parsed with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../lib/metrics.h"
#include "../../vcpu/vm.h"
#include "../../virtio/blk.h"
#include "../../virtio/mmio.h"
#include "../../virtio/net.h"
#include "../../virtio/virtio_spec.h"
#include "../fake_vm.h"
#include "helpers.h"

#define RAM (16 * MIB)
#define QSZ 64
#define DESC(q) (0x10000ULL + (q) * 0x10000ULL)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define HDR 0x100000ULL
#define DATA 0x200000ULL
#define STATUS 0x300000ULL
#define TABLE 0x400000ULL /* indirect tables */

#define F(bit) (1ULL << (bit))
#define BLK_F_FLUSH 9
#define NET_F_MAC 5

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

static struct vm vm;
static struct virtio_registry reg; /* the devices a test made */
static struct virtio_blk *the_drive; /* the drive a test made, for virtio_blk_update */
static struct virtio_net *the_iface; /* likewise, for virtio_net_update */
static char dir[64], file_a[128], file_b[128], metrics_path[128];
static int log_fd;

/* Per queue: the driver's next descriptor and avail index. */
static struct {
	uint16_t next_desc, avail_idx;
} ring[VIRTIO_MAX_QUEUES];
static uint16_t qsz; /* every queue's size: QSZ unless a test asks for more */

/* A file of `size` bytes of `fill`. */
static void make_file(const char *p, size_t size, char fill)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	char *buf = malloc(size);
	memset(buf, fill, size);
	cr_assert_eq(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
}

static void setup(void)
{
	metrics_reset_for_test();
	memset(&vm, 0, sizeof(vm));
	memset(ring, 0, sizeof(ring));
	qsz = QSZ;
	gm_setup(&vm.mem, RAM);
	struct errbuf e = { "" };
	cr_assert_eq(fake_vm_init(&vm, &e), 0, "%s", e.msg);
	log_fd = memfd_create("ember-log", 0);
	log_init(log_fd, LOG_WARN, "test");

	snprintf(dir, sizeof(dir), "/tmp/ember-virtio-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file_a, sizeof(file_a), "%s/a.img", dir);
	snprintf(file_b, sizeof(file_b), "%s/b.img", dir);
	snprintf(metrics_path, sizeof(metrics_path), "%s/metrics", dir);
	make_file(file_a, 64 * KIB, 'A');
	make_file(file_b, 128 * KIB, 'B');
	cr_assert_eq(metrics_open(metrics_path, NULL, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
	fake_vm_destroy(&vm, &reg);
	guest_mem_destroy(&vm.mem);
	metrics_reset_for_test();
	log_init(2, LOG_WARN, NULL);
	close(log_fd);
	unlink(file_a);
	unlink(file_b);
	unlink(metrics_path);
	rmdir(dir);
}

/* ------------------------------------------------------------------ the driver */

/* The shared driver (tests/fake_vm.h) under this file's short names. */
static uint32_t rd(struct virtio_mmio *t, uint64_t off)
{
	return fake_virtio_rd(t, off);
}

static uint64_t device_features(struct virtio_mmio *t)
{
	return fake_virtio_device_features(t);
}

static void kick(struct virtio_mmio *t, unsigned q)
{
	fake_virtio_kick(t, q);
}

static uint64_t capacity(struct virtio_mmio *t)
{
	return rd(t, VIRTIO_MMIO_CONFIG) | (uint64_t)rd(t, VIRTIO_MMIO_CONFIG + 4) << 32;
}

/* 3.1.1: reset, features (what is offered of `want`, plus VERSION_1), queues, DRIVER_OK. */
static void driver_up(struct virtio_mmio *t, uint64_t want, unsigned nqueues)
{
	cr_assert(fake_virtio_negotiate(t, want), "features refused");
	for (unsigned q = 0; q < nqueues; q++)
		fake_virtio_queue(t, q, qsz, DESC(q), AVAIL(q), USED(q));
	/* DRIVER_OK left the first look at each queue to the event thread: it ran. */
	cr_assert_eq(fake_virtio_driver_ok(t), nqueues, "not every queue was kicked at DRIVER_OK");
	cr_assert_eq(rd(t, VIRTIO_MMIO_STATUS),
		     FAKE_VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;
};

/* The driver's last step: head goes in the avail ring, then the index moves. */
static void make_available(unsigned q, uint16_t head)
{
	struct virtq_avail *a = gm_ptr(&vm.mem, AVAIL(q), 4 + 2 * qsz);
	a->ring[ring[q].avail_idx % qsz] = head;
	__atomic_store_n(&a->idx, ++ring[q].avail_idx, __ATOMIC_RELEASE);
}

/* Puts a chain of n segments on queue q's avail ring (no kick). */
static void post(unsigned q, const struct seg *s, unsigned n)
{
	struct virtq_desc *d = gm_ptr(&vm.mem, DESC(q), qsz * sizeof(*d));
	uint16_t head = ring[q].next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t at = (uint16_t)((head + i) % qsz);
		d[at] = (struct virtq_desc){
			.addr = s[i].gpa,
			.len = s[i].len,
			.flags = (uint16_t)((s[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = (uint16_t)((at + 1) % qsz),
		};
	}
	ring[q].next_desc = (uint16_t)((head + n) % qsz);
	make_available(q, head);
}

/* Puts one descriptor referring to an indirect table of len bytes at table on queue q. */
static void post_indirect(unsigned q, uint64_t table, uint32_t len)
{
	struct virtq_desc *d = gm_ptr(&vm.mem, DESC(q), qsz * sizeof(*d));
	uint16_t head = ring[q].next_desc;
	d[head] = (struct virtq_desc){ .addr = table, .len = len, .flags = VIRTQ_DESC_F_INDIRECT };
	ring[q].next_desc = (uint16_t)((head + 1) % qsz);
	make_available(q, head);
}

static uint16_t used_idx(unsigned q)
{
	struct virtq_used *u = gm_ptr(&vm.mem, USED(q), 4);
	return __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
}

/* Runs the event loop's handlers (async completions) until q's used index reaches want. */
static void wait_used(unsigned q, uint16_t want)
{
	for (int i = 0; i < 500 && used_idx(q) != want; i++)
		fake_vm_poll(&vm, 10);
	cr_assert_eq(used_idx(q), want, "request not completed");
}

/* A block request: header, data (len bytes at DATA, 0: none), status. */
static void blk_post(uint32_t type, uint64_t sector, uint32_t len)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { type, 0, sector };
	memcpy(gm_ptr(&vm.mem, HDR, sizeof(h)), &h, sizeof(h));
	*(uint8_t *)gm_ptr(&vm.mem, STATUS, 1) = 0xff;
	struct seg s[3] = { { HDR, sizeof(h), false } };
	unsigned n = 1;
	if (len)
		s[n++] = (struct seg){ DATA, len, type == T_IN };
	s[n++] = (struct seg){ STATUS, 1, true };
	post(0, s, n);
}

static uint8_t blk_status(void)
{
	return *(uint8_t *)gm_ptr(&vm.mem, STATUS, 1);
}

/* Sends one request and waits for its answer; returns the status byte. */
static uint8_t blk_do(struct virtio_mmio *t, uint32_t type, uint64_t sector, uint32_t len)
{
	uint16_t want = (uint16_t)(used_idx(0) + 1);
	blk_post(type, sector, len);
	kick(t, 0);
	wait_used(0, want);
	return blk_status();
}

/* ------------------------------------------------------------------ devices, metrics */

static json_t *counters(const char *name);

/* A started drive "rootfs"; the counters start after DRIVER_OK (see driver_ok_looks_once). */
static struct virtio_mmio *drive(const char *path, enum drive_engine engine,
				 enum drive_cache cache, bool ro)
{
	struct drive_config d = { .read_only = ro, .engine = engine, .cache = cache };
	snprintf(d.id, sizeof(d.id), "rootfs");
	char p[128];
	snprintf(p, sizeof(p), "%s", path);
	d.path = p;
	struct errbuf e = { "" };
	if (virtio_blk_create(&vm.host, &reg, &d, &the_drive, &e) < 0) {
		if (engine == DRIVE_ENGINE_ASYNC && strstr(e.msg, "io_uring"))
			cr_skip_test("%s", e.msg);
		cr_assert_fail("virtio_blk_create: %s", e.msg);
	}
	struct virtio_mmio *t = reg.t[reg.n - 1];
	driver_up(t, F(BLK_F_FLUSH), 1);
	json_decref(counters("block_rootfs"));
	return t;
}

/* The counters of group name since the last call, from a fresh metrics line. */
static json_t *counters(const char *name)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_flush(&e), 0, "%s", e.msg);
	FILE *f = fopen(metrics_path, "r");
	cr_assert_not_null(f);
	static char line[1 << 16], last[1 << 16];
	while (fgets(line, sizeof(line), f))
		memcpy(last, line, sizeof(line));
	fclose(f);
	json_error_t err;
	json_t *j = json_loads(last, 0, &err);
	cr_assert_not_null(j, "not JSON: %s: %s", err.text, last);
	json_t *g = json_incref(json_object_get(j, name));
	json_decref(j);
	return g;
}

static long long get(json_t *g, const char *field)
{
	cr_assert_not_null(g, "no such group");
	json_t *v = json_object_get(g, field);
	cr_assert(json_is_integer(v), "no field %s", field);
	return json_integer_value(v);
}

static bool all_bytes(uint64_t gpa, uint64_t len, uint8_t v)
{
	return gm_all(&vm.mem, gpa, len, v);
}

/* Can somebody else lock the file exclusively right now? */
static bool lockable(const char *p)
{
	int fd = open(p, O_RDONLY);
	cr_assert_geq(fd, 0);
	bool ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return ok;
}

TestSuite(virtio_blk, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------ blk counters */

Test(virtio_blk, read_counts_read_and_bytes)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	cr_assert_eq(blk_do(t, T_IN, 2, 4096), S_OK);
	cr_assert(all_bytes(DATA, 4096, 'A'));
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "read_count"), 1);
	cr_assert_eq(get(g, "read_bytes"), 4096);
	cr_assert_eq(get(g, "queue_event_count"), 1);
	cr_assert_eq(get(g, "write_count"), 0);
	cr_assert_eq(get(g, "invalid_reqs_count"), 0);
	cr_assert_eq(get(g, "execute_fails"), 0);
	json_decref(g);
	g = counters("block");
	cr_assert_eq(get(g, "read_bytes"), 0, "the sum had its delta in the line before");
	json_decref(g);
}

Test(virtio_blk, write_and_flush_counted)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	gm_fill(&vm.mem, DATA, 1024, 'W');
	cr_assert_eq(blk_do(t, T_OUT, 0, 1024), S_OK);
	cr_assert_eq(blk_do(t, T_FLUSH, 0, 0), S_OK);
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "write_count"), 1);
	cr_assert_eq(get(g, "write_bytes"), 1024);
	cr_assert_eq(get(g, "flush_count"), 1);
	cr_assert_eq(get(g, "queue_event_count"), 2);
	json_decref(g);
	g = counters("block");
	cr_assert_eq(get(g, "write_count"), 0);
	json_decref(g);
}

Test(virtio_blk, refused_requests_are_invalid_not_executed)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	cr_assert_eq(blk_do(t, T_IN, 64 * KIB / 512, 512), S_IOERR, "read past the end");
	cr_assert_eq(blk_do(t, 99, 0, 512), S_UNSUPP);
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "invalid_reqs_count"), 2);
	cr_assert_eq(get(g, "execute_fails"), 0);
	cr_assert_eq(get(g, "read_count"), 0);
	cr_assert_eq(get(g, "read_bytes"), 0);
	json_decref(g);
}

Test(virtio_blk, empty_kick_counts_no_avail_buffer)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	kick(t, 0);
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "queue_event_count"), 1);
	cr_assert_eq(get(g, "no_avail_buffer"), 1);
	json_decref(g);
}

/*
 * Issue 15: Linux 6.1 with SLOB kmallocs its indirect tables 8-byte aligned, and the
 * spec asks no alignment of them (2.7.5.3). A read through one completes like any other.
 */
Test(virtio_blk, read_through_an_8_byte_aligned_indirect_table)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	driver_up(t, F(BLK_F_FLUSH) | F(VIRTIO_RING_F_INDIRECT_DESC), 1);
	cr_assert(virtio_mmio_has_feature(t, VIRTIO_RING_F_INDIRECT_DESC));
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { T_IN, 0, 2 };
	memcpy(gm_ptr(&vm.mem, HDR, sizeof(h)), &h, sizeof(h));
	*(uint8_t *)gm_ptr(&vm.mem, STATUS, 1) = 0xff;
	struct virtq_desc table[3] = {
		{ HDR, sizeof(h), VIRTQ_DESC_F_NEXT, 1 },
		{ DATA, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 },
		{ STATUS, 1, VIRTQ_DESC_F_WRITE, 0 },
	};
	memcpy(gm_ptr(&vm.mem, TABLE + 8, sizeof(table)), table, sizeof(table));
	post_indirect(0, TABLE + 8, sizeof(table));
	kick(t, 0);
	wait_used(0, 1);
	cr_assert_eq(blk_status(), S_OK);
	cr_assert(all_bytes(DATA, 4096, 'A'));
	cr_assert_not(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_blk, remaining_requests_are_summed)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	/* Three reads in one kick: after taking each, 2, 1 and 0 are left. */
	for (int i = 0; i < 3; i++)
		blk_post(T_IN, 0, 512);
	kick(t, 0);
	wait_used(0, 3);
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "read_count"), 3);
	cr_assert_eq(get(g, "remaining_reqs_count"), 3);
	json_decref(g);
}

/* At DRIVER_OK the transport hands each queue to the device once, for chains posted
 * before it: counted as a queue event, which here found nothing. */
Test(virtio_blk, driver_ok_looks_once)
{
	struct drive_config d = { .cache = DRIVE_CACHE_WRITEBACK };
	snprintf(d.id, sizeof(d.id), "rootfs");
	d.path = file_a;
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_create(&vm.host, &reg, &d, &the_drive, &e), 0, "%s", e.msg);
	driver_up(reg.t[0], 0, 1);
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "queue_event_count"), 1);
	cr_assert_eq(get(g, "no_avail_buffer"), 1);
	json_decref(g);
}

Test(virtio_blk, writeback_offers_flush)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	cr_assert(device_features(t) & F(BLK_F_FLUSH));
}

Test(virtio_blk, unsafe_cache_offers_no_flush)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_UNSAFE, false);
	cr_assert_eq(device_features(t) & F(BLK_F_FLUSH), 0);
	cr_assert_eq(blk_do(t, T_FLUSH, 0, 0), S_UNSUPP);
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "flush_count"), 0);
	cr_assert_eq(get(g, "invalid_reqs_count"), 1);
	json_decref(g);
}

Test(virtio_blk, destroy_unregisters_the_group)
{
	drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	json_t *g = counters("block_rootfs");
	cr_assert_not_null(g);
	json_decref(g);
	virtio_registry_destroy(&reg);
	cr_assert_null(counters("block_rootfs"));
}

/* ------------------------------------------------------------------ blk update */

Test(virtio_blk, update_swaps_the_file)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	cr_assert_eq(capacity(t), 128);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	cr_assert_not(lockable(file_a));
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, file_b, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(capacity(t), 256);
	cr_assert_eq(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	cr_assert(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert(lockable(file_a), "the old file is still locked");
	cr_assert_not(lockable(file_b), "the new file is not locked");
	cr_assert_eq(blk_do(t, T_IN, 200, 4096), S_OK, "a sector only the new file has");
	cr_assert(all_bytes(DATA, 4096, 'B'));
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "update_count"), 1);
	cr_assert_eq(get(g, "update_fails"), 0);
	json_decref(g);
}

static void assert_unchanged(struct virtio_mmio *t, uint32_t gen)
{
	cr_assert_eq(capacity(t), 128);
	cr_assert_eq(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	cr_assert_eq(blk_do(t, T_IN, 0, 512), S_OK);
	cr_assert(all_bytes(DATA, 512, 'A'), "no longer reading the old file");
	cr_assert(lockable(file_b), "the refused file stayed locked");
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "update_count"), 0);
	cr_assert_eq(get(g, "update_fails"), 1);
	json_decref(g);
}

Test(virtio_blk, failed_update_changes_nothing)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	char missing[160], want[300];
	snprintf(missing, sizeof(missing), "%s/missing.img", dir);
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, missing, NULL, &e), -1);
	snprintf(want, sizeof(want), "drive 'rootfs': cannot open %s: No such file or directory",
		 missing);
	cr_assert_str_eq(e.msg, want);
	assert_unchanged(t, gen);
}

Test(virtio_blk, update_with_a_bad_rate_limiter_changes_nothing)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	struct token_bucket_config bad = { .size = UINT64_MAX, .refill_time_ms = 1 };
	struct rate_limiter_change rl = { .bandwidth = &bad };
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, file_b, &rl, &e), -1);
	assert_msg_has(e, "drive 'rootfs': rate limiter bandwidth");
	assert_unchanged(t, gen);
}

Test(virtio_blk, update_to_a_file_in_use_refused)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	int holder = open(file_b, O_RDONLY);
	cr_assert_eq(flock(holder, LOCK_SH), 0);
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, file_b, NULL, &e), -1);
	assert_msg_has(e, "is already in use");
	close(holder);
	assert_unchanged(t, gen);
}

Test(virtio_blk, update_to_the_same_file_rereads_its_size)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	cr_assert_eq(truncate(file_a, 256 * KIB), 0);
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, file_a, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(capacity(t), 512);
	cr_assert_eq(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	cr_assert_not(lockable(file_a), "the lock was lost");
	cr_assert_eq(blk_do(t, T_IN, 511, 512), S_OK, "the grown part is readable");
}

Test(virtio_blk, update_of_the_rate_limiter_alone)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, false);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	struct token_bucket_config one = { .size = 1, .refill_time_ms = 100000 };
	struct rate_limiter_change rl = { .ops = &one };
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, NULL, &rl, &e), 0, "%s", e.msg);
	/* A later change of the other bucket alone keeps this one (Firecracker's PATCH). */
	struct token_bucket_config wide = { .size = 1 << 30, .refill_time_ms = 1000 };
	struct rate_limiter_change bw_only = { .bandwidth = &wide };
	cr_assert_eq(virtio_blk_update(the_drive, NULL, &bw_only, &e), 0, "%s", e.msg);
	cr_assert_eq(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen, "config space did not change");
	/* One request per 100 s now: the first passes, the second waits. */
	cr_assert_eq(blk_do(t, T_IN, 0, 512), S_OK);
	blk_post(T_IN, 0, 512);
	kick(t, 0);
	cr_assert_eq(used_idx(0), 1, "the rate limiter let a second request through");
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "update_count"), 2);
	cr_assert_eq(get(g, "read_count"), 1);
	cr_assert_eq(get(g, "rate_limiter_throttled_events"), 1);
	json_decref(g);
}

Test(virtio_blk, read_only_drive_stays_read_only_after_update)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK, true);
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, file_b, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(blk_do(t, T_OUT, 0, 512), S_IOERR);
	cr_assert_eq(blk_do(t, T_IN, 0, 512), S_OK);
	cr_assert(all_bytes(DATA, 512, 'B'));
}

/* A read in flight on the old file when the update comes completes from the old file,
 * before the new one serves anything. */
Test(virtio_blk, async_update_completes_in_flight_io_first)
{
	struct virtio_mmio *t = drive(file_a, DRIVE_ENGINE_ASYNC, DRIVE_CACHE_WRITEBACK, false);
	gm_fill(&vm.mem, DATA, 4096, 0);
	blk_post(T_IN, 0, 4096);
	kick(t, 0); /* submitted to io_uring; nobody has reaped its completion */
	cr_assert_eq(used_idx(0), 0);
	struct errbuf e = { "" };
	cr_assert_eq(virtio_blk_update(the_drive, file_b, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(used_idx(0), 1, "the in-flight read was not completed by the update");
	cr_assert_eq(blk_status(), S_OK);
	cr_assert(all_bytes(DATA, 4096, 'A'), "the in-flight read did not come from the old file");
	cr_assert_eq(blk_do(t, T_IN, 0, 4096), S_OK);
	cr_assert(all_bytes(DATA, 4096, 'B'));
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "read_count"), 2);
	cr_assert_eq(get(g, "update_count"), 1);
	json_decref(g);
}

/* ------------------------------------------------------------------ completions */

#define MANY 256 /* BLK_QUEUE_MAX: the request pool and the engine's depth */

/* Read i: sector i % 128 into its own 512 bytes, own status byte, one indirect table. */
static void blk_post_read(unsigned i)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { T_IN, 0, i % 128 };
	uint64_t hdr = HDR + 16 * (uint64_t)i, table = TABLE + 48 * (uint64_t)i;
	memcpy(gm_ptr(&vm.mem, hdr, sizeof(h)), &h, sizeof(h));
	*(uint8_t *)gm_ptr(&vm.mem, STATUS + i, 1) = 0xff;
	struct virtq_desc d[3] = {
		{ hdr, sizeof(h), VIRTQ_DESC_F_NEXT, 1 },
		{ DATA + 512 * (uint64_t)i, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 },
		{ STATUS + i, 1, VIRTQ_DESC_F_WRITE, 0 },
	};
	memcpy(gm_ptr(&vm.mem, table, sizeof(d)), d, sizeof(d));
	post_indirect(0, table, sizeof(d));
}

/* A drive whose queue holds MANY chains (indirect: one descriptor each). */
static struct virtio_mmio *drive_of_many(enum drive_engine engine)
{
	struct virtio_mmio *t = drive(file_a, engine, DRIVE_CACHE_WRITEBACK, false);
	qsz = MANY;
	driver_up(t, F(VIRTIO_RING_F_INDIRECT_DESC), 1);
	json_decref(counters("block_rootfs"));
	return t;
}

static bool all_status(uint8_t want, unsigned n)
{
	return all_bytes(STATUS, n, want);
}

/*
 * Twice as many reads as the engine holds: the second MANY go on the ring while the
 * first are still unanswered (the guest reuses their descriptors, which only the
 * answers tell apart). Whatever the engine still holds when the second kick comes, each
 * completion's pass answers it and takes what waits on the ring: all are answered.
 */
static void more_than_the_engine_holds(enum drive_engine engine)
{
	struct virtio_mmio *t = drive_of_many(engine);
	for (unsigned i = 0; i < MANY; i++)
		blk_post_read(i);
	kick(t, 0);
	for (unsigned i = 0; i < MANY; i++)
		blk_post_read(i);
	kick(t, 0);
	wait_used(0, 2 * MANY);
	cr_assert(all_status(S_OK, MANY));
	cr_assert(all_bytes(DATA, 512 * MANY, 'A'));
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "read_count"), 2 * MANY);
	cr_assert_eq(get(g, "execute_fails"), 0);
	if (engine == DRIVE_ENGINE_SYNC)
		cr_assert_eq(get(g, "io_engine_throttled_events"), 0,
			     "a full pool of finished requests is reaped, not waited for");
	json_decref(g);
	cr_assert_not(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_blk, sync_more_than_the_engine_holds)
{
	more_than_the_engine_holds(DRIVE_ENGINE_SYNC);
}

Test(virtio_blk, async_more_than_the_engine_holds)
{
	more_than_the_engine_holds(DRIVE_ENGINE_ASYNC);
}

/*
 * A reset while reads are in the engine: they finish (the kernel still writes into guest
 * RAM) but are never answered: no used entry, no status byte, not counted, in the old
 * rings or the new ones; the device comes up again with its whole request pool.
 */
Test(virtio_blk, reset_drops_what_the_engine_finishes)
{
	struct virtio_mmio *t = drive_of_many(DRIVE_ENGINE_ASYNC);
	for (unsigned i = 0; i < 8; i++)
		blk_post_read(i);
	kick(t, 0); /* submitted; their completions are not reaped yet */
	cr_assert_eq(used_idx(0), 0);
	fake_virtio_wr(t, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(used_idx(0), 0, "a reset answered a request");
	cr_assert(all_status(0xff, 8), "a reset wrote a status byte");
	memset(ring, 0, sizeof(ring)); /* new rings, as a driver sets them up after a reset */
	memset(gm_ptr(&vm.mem, AVAIL(0), 6 + 2 * MANY), 0, 6 + 2 * MANY);
	memset(gm_ptr(&vm.mem, USED(0), 6 + 8 * MANY), 0, 6 + 8 * MANY);
	driver_up(t, F(VIRTIO_RING_F_INDIRECT_DESC), 1);
	while (fake_vm_poll(&vm, 50) > 0) /* the engine's eventfd fired for the dropped ones */
		;
	cr_assert_eq(used_idx(0), 0, "a dropped request was answered on the new ring");
	json_t *g = counters("block_rootfs");
	cr_assert_eq(get(g, "read_count"), 0, "a dropped request was counted");
	json_decref(g);
	for (unsigned i = 0; i < MANY; i++)
		blk_post_read(i);
	kick(t, 0);
	wait_used(0, MANY);
	cr_assert(all_status(S_OK, MANY), "the pool lost requests to the reset");
}

/* ------------------------------------------------------------------ root= */

Test(virtio_blk, root_args)
{
	struct vm_config cfg = { .ndrives = 2 };
	cfg.drives[1].is_root = true;
	char out[128];
	virtio_blk_root_args(&cfg, out, sizeof(out));
	cr_assert_str_eq(out, "root=/dev/vdb rw");
	snprintf(cfg.drives[1].partuuid, sizeof(cfg.drives[1].partuuid),
		 "0eaa91a0-01");
	cfg.drives[1].read_only = true;
	virtio_blk_root_args(&cfg, out, sizeof(out));
	cr_assert_str_eq(out, "root=PARTUUID=0eaa91a0-01 ro");
	cfg.drives[1].is_root = false;
	virtio_blk_root_args(&cfg, out, sizeof(out));
	cr_assert_str_eq(out, "");
}

/* ------------------------------------------------------------------ net */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* An interface on a TAP of its own, which goes away with its fd; mtu 0: none. */
static struct virtio_mmio *interface_mtu(uint16_t mtu)
{
	struct net_config c = { .has_mac = true, .mtu = mtu };
	snprintf(c.id, sizeof(c.id), "eth0");
	snprintf(c.tap, sizeof(c.tap), "emt%d", (int)getpid() % 1000000);
	memcpy(c.mac, guest_mac, 6);
	struct errbuf e = { "" };
	if (virtio_net_create(&vm.host, &reg, &c, &the_iface, &e) < 0)
		cr_skip_test("no TAP here: %s", e.msg);
	struct virtio_mmio *t = reg.t[reg.n - 1];
	driver_up(t, F(NET_F_MAC), 2);
	json_decref(counters("net_eth0"));
	return t;
}

static struct virtio_mmio *interface(void)
{
	return interface_mtu(0);
}

/* 5.1.4: mtu at config offset 10, offered with VIRTIO_NET_F_MTU (bit 3) only when set. */
Test(virtio_net, mtu_offered_only_when_configured, .init = setup, .fini = teardown)
{
	struct virtio_mmio *t = interface_mtu(9000);
	cr_assert(device_features(t) & (1ULL << 3), "VIRTIO_NET_F_MTU offered");
	cr_assert_eq(rd(t, VIRTIO_MMIO_CONFIG + 8) >> 16, 9000, "mtu in config space");
	cr_assert_eq(rd(t, VIRTIO_MMIO_CONFIG + 8) & 0xffff, 1, "max_virtqueue_pairs 1");
}

Test(virtio_net, no_mtu_no_feature, .init = setup, .fini = teardown)
{
	struct virtio_mmio *t = interface();
	cr_assert_not(device_features(t) & (1ULL << 3), "no mtu, no VIRTIO_NET_F_MTU");
}

/* One TX chain: the 12-byte header and a frame of len bytes from src. */
static void net_send(struct virtio_mmio *t, const uint8_t src[6], uint32_t len)
{
	uint8_t *p = gm_ptr(&vm.mem, DATA, 12 + len);
	memset(p, 0, 12 + len);
	memset(p + 12, 0xff, 6); /* broadcast */
	memcpy(p + 18, src, 6);
	p[24] = 0x88; /* a local experimental EtherType */
	p[25] = 0xb5;
	uint16_t want = (uint16_t)(used_idx(1) + 1);
	struct seg s = { DATA, 12 + len, false };
	post(1, &s, 1);
	kick(t, 1);
	cr_assert_eq(used_idx(1), want);
}

TestSuite(virtio_net, .init = setup, .fini = teardown);

Test(virtio_net, tx_frames_counted)
{
	struct virtio_mmio *t = interface();
	net_send(t, guest_mac, 60);
	json_t *g = counters("net_eth0");
	cr_assert_eq(get(g, "tx_queue_event_count"), 1);
	/* The TAP is down: the kernel may take the frame or refuse it; either is counted. */
	cr_assert_eq(get(g, "tx_count") + get(g, "tap_write_fails"), 1);
	cr_assert_eq(get(g, "tx_packets_count"), get(g, "tx_count"));
	cr_assert_eq(get(g, "tx_bytes_count"), 72 * get(g, "tx_count"), "header included");
	cr_assert_eq(get(g, "tx_spoofed_mac_count"), 0);
	cr_assert_eq(get(g, "tx_malformed_frames"), 0);
	json_decref(g);
}

Test(virtio_net, tx_from_another_mac_counted_as_spoofed)
{
	struct virtio_mmio *t = interface();
	const uint8_t other[6] = { 0x52, 0x54, 0x00, 0, 0, 1 };
	net_send(t, other, 60);
	json_t *g = counters("net_eth0");
	cr_assert_eq(get(g, "tx_spoofed_mac_count"), 1);
	json_decref(g);
}

Test(virtio_net, malformed_tx_frame_counted)
{
	struct virtio_mmio *t = interface();
	uint16_t want = (uint16_t)(used_idx(1) + 1);
	struct seg s = { DATA, 10, false }; /* not even a header */
	post(1, &s, 1);
	kick(t, 1);
	cr_assert_eq(used_idx(1), want);
	json_t *g = counters("net_eth0");
	cr_assert_eq(get(g, "tx_malformed_frames"), 1);
	cr_assert_eq(get(g, "tx_count"), 0);
	json_decref(g);
}

Test(virtio_net, rx_kick_without_frames)
{
	struct virtio_mmio *t = interface();
	kick(t, 0);
	json_t *g = counters("net_eth0");
	cr_assert_eq(get(g, "rx_queue_event_count"), 1);
	cr_assert_eq(get(g, "rx_count"), 0);
	cr_assert_eq(get(g, "tap_read_fails"), 0, "EAGAIN is no failure");
	json_decref(g);
	g = counters("net");
	cr_assert_eq(get(g, "rx_queue_event_count"), 0);
	json_decref(g);
}

Test(virtio_net, tx_rate_limit_update)
{
	struct virtio_mmio *t = interface();
	struct token_bucket_config op = { .size = 1, .refill_time_ms = 100000 };
	struct rate_limiter_change one = { .ops = &op };
	struct errbuf e = { "" };
	cr_assert_eq(virtio_net_update(the_iface, NULL, &one, &e), 0, "%s", e.msg);
	net_send(t, guest_mac, 60);
	/* The same frame again waits for a token 100 s away. */
	struct seg s = { DATA, 72, false };
	post(1, &s, 1);
	kick(t, 1);
	cr_assert_eq(used_idx(1), 1, "the limit set at run time did not hold");
	json_t *g = counters("net_eth0");
	cr_assert_eq(get(g, "tx_rate_limiter_throttled"), 1);
	json_decref(g);
}

Test(virtio_net, failed_update_changes_neither_direction)
{
	struct virtio_mmio *t = interface();
	struct token_bucket_config op = { .size = 1, .refill_time_ms = 100000 };
	struct token_bucket_config huge = { .size = UINT64_MAX, .refill_time_ms = 1 };
	struct rate_limiter_change one = { .ops = &op }, bad = { .ops = &huge };
	struct errbuf e = { "" };
	cr_assert_eq(virtio_net_update(the_iface, &one, &bad, &e), -1);
	assert_msg_has(e, "net 'eth0': tx rate limiter ops");
	cr_assert_eq(virtio_net_update(the_iface, &bad, NULL, &e), -1);
	assert_msg_has(e, "net 'eth0': rx rate limiter ops");
	/* TX is as unlimited as before: two frames go straight through. */
	net_send(t, guest_mac, 60);
	net_send(t, guest_mac, 60);
}
