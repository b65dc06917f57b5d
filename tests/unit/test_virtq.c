/*
 * The device side of a split virtqueue (virtio 1.2, 2.7) on a real guest_mem: rings are
 * built in guest RAM at guest physical addresses, as a driver would, and every chain the
 * device takes must come back as iovecs that point at exactly those guest bytes. Hostile
 * rings must break the queue with a reason, never hand out a pointer outside RAM, and
 * never loop.
 */
#include "../../virtio/virtq.h"
#include "helpers.h"

#define RAM (16 * MIB)
#define DESC 0x10000ULL  /* descriptor table: 16-byte aligned */
#define AVAIL 0x20000ULL /* driver area: 2-byte aligned */
#define USED 0x30000ULL  /* device area: 4-byte aligned */
#define TABLE 0x40000ULL /* indirect tables */
#define BUF 0x100000ULL  /* data buffers */
#define QSZ 8

static struct guest_mem gm;
static struct virtq q;
static struct virtq_chain c;
static struct virtq_desc *desc;
static struct virtq_avail *avail;
static struct virtq_used *used;

/* A guest of size bytes of RAM with the rings at DESC, AVAIL and USED. */
static void setup_ram(uint64_t size)
{
	gm_setup(&gm, size);
	desc = gm_ptr(&gm, DESC, 16 * VIRTQ_MAX_SIZE);
	avail = gm_ptr(&gm, AVAIL, 6 + 2 * VIRTQ_MAX_SIZE);
	used = gm_ptr(&gm, USED, 6 + 8 * VIRTQ_MAX_SIZE);
	memset(&c, 0, sizeof(c));
}

static void setup(void)
{
	setup_ram(RAM);
}

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

/* What the transport does on QueueReady: the driver's numbers, then enable. */
static void ring_init(uint16_t size, bool event_idx, bool indirect)
{
	virtq_reset(&q);
	q.size = size;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	cr_assert(virtq_enable(&q, &gm, VIRTQ_MAX_SIZE, event_idx, indirect),
		  "virtq_enable refused a good ring: %s", q.error ? q.error : "(no reason)");
	cr_assert(q.enabled);
	cr_assert_not(q.broken);
}

static void set_desc(struct virtq_desc *table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	table[i] = (struct virtq_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

/* The same for a table at any guest address: copied bytewise, since it may be misaligned. */
static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(gm_ptr(&gm, table + i * sizeof(d), sizeof(d)), &d, sizeof(d));
}

/* The driver makes head available: ring slot, then the index. */
static void offer(uint16_t head)
{
	avail->ring[avail->idx & (q.size - 1)] = head;
	avail->idx++;
}

static void assert_iov(unsigned i, uint64_t gpa, size_t len)
{
	cr_assert_eq(c.iov[i].iov_base, guest_mem_at(&gm, gpa, len),
		     "iov[%u] points at %p, not at gpa 0x%llx", i, c.iov[i].iov_base,
		     (unsigned long long)gpa);
	cr_assert_eq(c.iov[i].iov_len, len, "iov[%u] is %zu bytes, not %zu", i, c.iov[i].iov_len,
		     len);
}

/* The ring is malformed: -1, the queue is broken, the reason names the problem. */
static void assert_broken(const char *needle)
{
	uint16_t before = q.last_avail;
	cr_assert_eq(virtq_pop_chain(&q, &c), -1, "a malformed ring was accepted");
	cr_assert(q.broken);
	cr_assert_not_null(q.error);
	cr_assert(strstr(q.error, needle), "reason \"%s\" lacks \"%s\"", q.error, needle);
	cr_assert_eq(q.last_avail, before, "the bad chain was consumed");
	cr_assert_eq(used->idx, 0, "a bad chain reached the used ring");
	/* It stays broken: nothing more is taken until a reset. */
	cr_assert_eq(virtq_pop_chain(&q, &c), -1);
}

TestSuite(virtq, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------ good chains */

Test(virtq, empty_ring_gives_nothing)
{
	ring_init(QSZ, false, false);
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
	cr_assert_not(q.broken);
}

Test(virtq, not_enabled_gives_nothing)
{
	virtq_reset(&q);
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
	cr_assert_not(virtq_arm_notify(&q));
	cr_assert_not(virtq_needs_interrupt(&q));
}

Test(virtq, single_descriptor)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 5, BUF + 0x10, 100, 0, 0);
	offer(5);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	cr_assert_eq(c.head, 5);
	cr_assert_eq(c.nout, 1);
	cr_assert_eq(c.nin, 0);
	cr_assert_eq(c.out_len, 100);
	cr_assert_eq(c.in_len, 0);
	assert_iov(0, BUF + 0x10, 100);
	cr_assert_eq(q.last_avail, 1);
	cr_assert_eq(virtq_pop_chain(&q, &c), 0, "one chain offered, two taken");
}

Test(virtq, chain_of_three_readable_then_writable)
{
	ring_init(QSZ, false, false);
	/* Scattered indices: the device must follow next, not walk the table in order. */
	set_desc(desc, 2, BUF, 16, VIRTQ_DESC_F_NEXT, 7);
	set_desc(desc, 7, BUF + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	set_desc(desc, 0, BUF + 0x3000, 1, VIRTQ_DESC_F_WRITE, 6);
	offer(2);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	cr_assert_eq(c.head, 2);
	cr_assert_eq(c.nout, 1);
	cr_assert_eq(c.nin, 2);
	cr_assert_eq(c.out_len, 16);
	cr_assert_eq(c.in_len, 513);
	assert_iov(0, BUF, 16);
	assert_iov(1, BUF + 0x1000, 512);
	assert_iov(2, BUF + 0x3000, 1);
}

Test(virtq, chain_as_long_as_the_queue)
{
	ring_init(QSZ, false, false);
	for (unsigned i = 0; i < QSZ; i++)
		set_desc(desc, i, BUF + i * 0x100, 8, i + 1 < QSZ ? VIRTQ_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	cr_assert_eq(c.nout, QSZ);
	cr_assert_eq(c.out_len, 8 * QSZ);
	for (unsigned i = 0; i < QSZ; i++)
		assert_iov(i, BUF + i * 0x100, 8);
}

Test(virtq, several_chains_in_order)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 1, BUF, 10, 0, 0);
	set_desc(desc, 3, BUF + 0x100, 20, VIRTQ_DESC_F_WRITE, 0);
	offer(3);
	offer(1);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_eq(c.head, 3);
	cr_assert_eq(c.nout, 0);
	cr_assert_eq(c.nin, 1);
	assert_iov(0, BUF + 0x100, 20);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_eq(c.head, 1, "the second chain was not reset from the first");
	cr_assert_eq(c.nout, 1);
	cr_assert_eq(c.nin, 0);
	cr_assert_eq(c.in_len, 0);
	assert_iov(0, BUF, 10);
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
}

Test(virtq, indirect_table)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 3 * 16);
	set_desc(t, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(t, 2, BUF + 0x200, 64, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(t, 1, BUF + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	/* 2.7.5.3.2: the device ignores WRITE on the descriptor that refers to a table. */
	set_desc(desc, 4, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	offer(4);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	cr_assert_eq(c.head, 4);
	cr_assert_eq(c.nout, 1);
	cr_assert_eq(c.nin, 2);
	cr_assert_eq(c.out_len, 16);
	cr_assert_eq(c.in_len, 65);
	assert_iov(0, BUF, 16);
	assert_iov(1, BUF + 0x200, 64);
	assert_iov(2, BUF + 0x400, 1);
}

Test(virtq, indirect_table_after_direct_descriptors)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 16);
	set_desc(t, 0, BUF + 0x800, 32, VIRTQ_DESC_F_WRITE, 0);
	set_desc(desc, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	cr_assert_eq(c.nout, 1);
	cr_assert_eq(c.nin, 1);
	assert_iov(0, BUF, 16);
	assert_iov(1, BUF + 0x800, 32);
}

Test(virtq, zero_length_descriptor_is_skipped)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 10, VIRTQ_DESC_F_NEXT, 1);
	/* Its address is not even RAM: a zero-length buffer moves no data. */
	set_desc(desc, 1, RAM + 0x1000, 0, VIRTQ_DESC_F_NEXT, 2);
	set_desc(desc, 2, BUF + 0x100, 20, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	cr_assert_eq(c.nout, 1);
	cr_assert_eq(c.nin, 1);
	cr_assert_eq(c.out_len, 10);
	cr_assert_eq(c.in_len, 20);
	assert_iov(0, BUF, 10);
	assert_iov(1, BUF + 0x100, 20);
}

Test(virtq, buffer_ending_exactly_at_the_end_of_ram)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, RAM - 16, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
	assert_iov(0, RAM - 16, 16);
}

Test(virtq, full_ring_of_pending_chains)
{
	ring_init(QSZ, false, false);
	for (unsigned i = 0; i < QSZ; i++) {
		set_desc(desc, i, BUF + i * 0x100, i + 1, 0, 0);
		offer((uint16_t)(QSZ - 1 - i));
	}
	cr_assert_eq(avail->idx, QSZ, "exactly the queue size ahead is allowed");
	for (unsigned i = 0; i < QSZ; i++) {
		cr_assert_eq(virtq_pop_chain(&q, &c), 1, "chain %u: %s", i, q.error ? q.error : "");
		cr_assert_eq(c.head, QSZ - 1 - i);
		assert_iov(0, BUF + c.head * 0x100, c.head + 1u);
	}
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
}

/* The 16-bit indices wrap (2.7.6, 2.7.8): the device follows them through 65535 -> 0. */
Test(virtq, avail_and_used_indices_wrap_past_65535)
{
	ring_init(4, false, false);
	for (unsigned i = 0; i < 4; i++)
		set_desc(desc, i, BUF + i * 0x100, 10 + i, 0, 0);
	/* One chain at a time up to 65534 ... */
	for (unsigned n = 0; n < 65534; n++) {
		offer((uint16_t)(n & 3));
		cr_assert_eq(virtq_pop_chain(&q, &c), 1);
		if (c.head != (n & 3))
			cr_assert_fail("chain %u: head %u", n, c.head);
		virtq_push_used(&q, c.head, 0);
	}
	cr_assert_eq(avail->idx, 65534);
	cr_assert_eq(used->idx, 65534);
	/* ... then three at once, across the wrap: avail->idx is now 1. */
	offer(1);
	offer(2);
	offer(3);
	cr_assert_eq(avail->idx, 1);
	for (unsigned k = 1; k <= 3; k++) {
		cr_assert_eq(virtq_pop_chain(&q, &c), 1, "%s", q.error ? q.error : "");
		cr_assert_eq(c.head, k);
		assert_iov(0, BUF + k * 0x100, 10 + k);
		virtq_push_used(&q, c.head, 100 + k);
	}
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
	cr_assert_eq(q.last_avail, 1);
	cr_assert_eq(used->idx, 1, "used->idx wraps too");
	/* Used slots 65534 & 3 = 2, 65535 & 3 = 3, 0 & 3 = 0. */
	cr_assert_eq(used->ring[2].id, 1);
	cr_assert_eq(used->ring[2].len, 101);
	cr_assert_eq(used->ring[3].id, 2);
	cr_assert_eq(used->ring[0].id, 3);
	cr_assert_eq(used->ring[0].len, 103);
}

Test(virtq, unpop_gives_the_same_chain_back)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 6, BUF, 40, VIRTQ_DESC_F_WRITE, 0);
	offer(6);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	virtq_unpop(&q);
	cr_assert_eq(q.last_avail, 0);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_eq(c.head, 6);
	cr_assert_eq(c.nin, 1);
	assert_iov(0, BUF, 40);
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
}

/* ------------------------------------------------------------------ used ring */

Test(virtq, push_used_writes_element_and_index)
{
	ring_init(QSZ, false, false);
	used->ring[0] = (struct virtq_used_elem){ 0xdead, 0xbeef };
	virtq_push_used(&q, 5, 1234);
	cr_assert_eq(used->ring[0].id, 5);
	cr_assert_eq(used->ring[0].len, 1234);
	cr_assert_eq(used->idx, 1);
	virtq_push_used(&q, 2, 0);
	cr_assert_eq(used->ring[1].id, 2);
	cr_assert_eq(used->ring[1].len, 0);
	cr_assert_eq(used->idx, 2);
	cr_assert_eq(used->flags, 0, "the device never sets NO_NOTIFY here");
}

Test(virtq, fill_then_publish_shows_all_at_once)
{
	ring_init(QSZ, false, false);
	virtq_fill_used(&q, 3, 30);
	virtq_fill_used(&q, 1, 10);
	virtq_fill_used(&q, 7, 70);
	cr_assert_eq(used->idx, 0, "filled elements were published before publish_used");
	cr_assert_eq(used->ring[0].id, 3);
	cr_assert_eq(used->ring[1].id, 1);
	cr_assert_eq(used->ring[2].id, 7);
	cr_assert_eq(used->ring[2].len, 70);
	virtq_publish_used(&q);
	cr_assert_eq(used->idx, 3);
}

Test(virtq, used_ring_wraps_at_queue_size)
{
	ring_init(4, false, false);
	for (unsigned i = 0; i < 6; i++)
		virtq_push_used(&q, (uint16_t)i, i * 10);
	cr_assert_eq(used->idx, 6);
	cr_assert_eq(used->ring[0].id, 4, "slot 0 rewritten by the 5th element");
	cr_assert_eq(used->ring[1].id, 5);
	cr_assert_eq(used->ring[2].id, 2);
	cr_assert_eq(used->ring[3].id, 3);
	/* Nothing beyond the 4-entry ring (where avail_event lives) was touched. */
	cr_assert_eq(used->ring[4].id, 0);
}

Test(virtq, fill_used_after_reset_touches_nothing)
{
	ring_init(QSZ, false, false);
	gm_fill(&gm, USED, 6 + 8 * QSZ, FILL_BYTE);
	virtq_reset(&q); /* the driver reset the device while a request was in flight */
	virtq_push_used(&q, 1, 1);
	cr_assert(gm_all(&gm, USED, 6 + 8 * QSZ, FILL_BYTE));
}

/* ------------------------------------------------------------------ notifications */

Test(virtq, no_interrupt_flag_without_event_idx)
{
	ring_init(QSZ, false, false);
	virtq_push_used(&q, 0, 1);
	cr_assert(virtq_needs_interrupt(&q));
	avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push_used(&q, 1, 1);
	cr_assert_not(virtq_needs_interrupt(&q), "NO_INTERRUPT ignored");
	avail->flags = 0;
	/* used_event means nothing without EVENT_IDX. */
	avail->ring[QSZ] = 100;
	virtq_push_used(&q, 2, 1);
	cr_assert(virtq_needs_interrupt(&q));
}

/* 2.7.10: with EVENT_IDX, interrupt when used->idx moves past used_event. */
Test(virtq, event_idx_honours_used_event)
{
	ring_init(QSZ, true, false);
	uint16_t *used_event = &avail->ring[QSZ];

	*used_event = 0;
	virtq_push_used(&q, 0, 1); /* used idx 0 -> 1: passes 0 */
	cr_assert(virtq_needs_interrupt(&q));

	*used_event = 2;
	virtq_push_used(&q, 1, 1); /* 1 -> 2: entry 2 not used yet */
	cr_assert_not(virtq_needs_interrupt(&q), "interrupt before used_event was reached");
	virtq_push_used(&q, 2, 1); /* 2 -> 3: entry 2 used */
	cr_assert(virtq_needs_interrupt(&q));

	/* Several at once: 3 -> 6 passes used_event 4. */
	*used_event = 4;
	virtq_fill_used(&q, 3, 1);
	virtq_fill_used(&q, 4, 1);
	virtq_fill_used(&q, 5, 1);
	virtq_publish_used(&q);
	cr_assert(virtq_needs_interrupt(&q));

	/* used_event already behind: 6 -> 7 does not pass 4 again. */
	virtq_push_used(&q, 6, 1);
	cr_assert_not(virtq_needs_interrupt(&q));
}

/* Until the device has signalled once it cannot know what the driver saw: it interrupts. */
Test(virtq, event_idx_first_completion_always_interrupts)
{
	ring_init(QSZ, true, false);
	avail->ring[QSZ] = 0x8000; /* far from anything the used index will reach */
	virtq_push_used(&q, 0, 1);
	cr_assert(virtq_needs_interrupt(&q), "the first completion after enable went unsignalled");
	virtq_push_used(&q, 1, 1);
	cr_assert_not(virtq_needs_interrupt(&q));
	/* Enabled again (QueueReady after a reset): the same holds. */
	ring_init(QSZ, true, false);
	virtq_push_used(&q, 0, 1);
	cr_assert(virtq_needs_interrupt(&q));
}

Test(virtq, event_idx_ignores_no_interrupt_flag)
{
	ring_init(QSZ, true, false);
	avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	avail->ring[QSZ] = 0;
	virtq_push_used(&q, 0, 1);
	cr_assert(virtq_needs_interrupt(&q),
		  "2.7.10: with EVENT_IDX the device ignores the NO_INTERRUPT flag");
	virtq_push_used(&q, 1, 1);
	avail->flags = 0;
	avail->ring[QSZ] = 5;
	virtq_push_used(&q, 2, 1);
	cr_assert_not(virtq_needs_interrupt(&q));
}

Test(virtq, event_idx_across_the_wrap)
{
	ring_init(QSZ, true, false);
	q.used_idx = 65534;
	q.signalled = 65534;
	q.signalled_valid = true;
	avail->ring[QSZ] = 65535;
	virtq_push_used(&q, 0, 1); /* 65534 -> 65535 */
	cr_assert_not(virtq_needs_interrupt(&q));
	virtq_push_used(&q, 1, 1); /* 65535 -> 0: passes 65535 */
	cr_assert(virtq_needs_interrupt(&q));
	cr_assert_eq(used->idx, 0);
}

Test(virtq, arm_notify_writes_avail_event_and_reports_new_work)
{
	ring_init(QSZ, true, false);
	uint16_t *avail_event = (uint16_t *)&used->ring[QSZ];
	*avail_event = 0xa5a5;
	set_desc(desc, 0, BUF, 8, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_not(virtq_arm_notify(&q), "no new work, yet arm_notify says so");
	cr_assert_eq(*avail_event, 1, "avail_event is not the next index the device reads");
	offer(0);
	cr_assert(virtq_arm_notify(&q), "a chain made available is not reported");
	cr_assert_eq(*avail_event, 1);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_not(virtq_arm_notify(&q));
	cr_assert_eq(*avail_event, 2);
}

Test(virtq, arm_notify_without_event_idx_leaves_avail_event_alone)
{
	ring_init(QSZ, false, false);
	uint16_t *avail_event = (uint16_t *)&used->ring[QSZ];
	*avail_event = 0xa5a5;
	cr_assert_not(virtq_arm_notify(&q));
	offer(0);
	cr_assert(virtq_arm_notify(&q));
	cr_assert_eq(*avail_event, 0xa5a5);
}

Test(virtq, arm_notify_on_a_broken_queue_reports_nothing)
{
	ring_init(QSZ, false, false);
	virtq_break(&q, "device says no");
	offer(0);
	cr_assert_not(virtq_arm_notify(&q));
	cr_assert_eq(virtq_pop_chain(&q, &c), -1);
	cr_assert_str_eq(q.error, "device says no");
}

/* ------------------------------------------------------------------ enable */

static bool try_enable(uint16_t size, uint16_t max, uint64_t d, uint64_t a, uint64_t u)
{
	virtq_reset(&q);
	q.size = size;
	q.desc_gpa = d;
	q.avail_gpa = a;
	q.used_gpa = u;
	bool ok = virtq_enable(&q, &gm, max, false, false);
	if (!ok) {
		cr_assert_not(q.enabled, "refused, yet enabled");
		cr_assert_not_null(q.error, "refused without a reason");
		/* Nothing can be taken from a queue that was refused. */
		avail->idx = 1;
		cr_assert_neq(virtq_pop_chain(&q, &c), 1);
		avail->idx = 0;
	}
	return ok;
}

Test(virtq, enable_size_must_be_a_power_of_two)
{
	uint16_t bad[] = { 0, 3, 6, 12, 100, 255 };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_not(try_enable(bad[i], 256, DESC, AVAIL, USED), "size %u accepted", bad[i]);
		cr_assert(strstr(q.error, "power of two"), "%s", q.error);
	}
	uint16_t good[] = { 1, 2, 4, 128, 256 };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		cr_assert(try_enable(good[i], 256, DESC, AVAIL, USED), "size %u refused: %s", good[i],
			  q.error);
}

Test(virtq, enable_size_above_the_maximum)
{
	cr_assert(try_enable(16, 16, DESC, AVAIL, USED), "%s", q.error);
	cr_assert_not(try_enable(32, 16, DESC, AVAIL, USED));
	cr_assert(strstr(q.error, "maximum"), "%s", q.error);
	/* The device can never take more than VIRTQ_MAX_SIZE, whatever it claims. */
	cr_assert_not(try_enable(512, 512, DESC, AVAIL, USED));
}

Test(virtq, enable_rings_outside_ram)
{
	uint64_t outside[] = { RAM, RAM + 0x1000, GUEST_MEM_HIGH_START, 0xfffffffffffff000ULL };
	for (size_t i = 0; i < ARRAY_SIZE(outside); i++) {
		cr_assert_not(try_enable(QSZ, 256, outside[i], AVAIL, USED), "desc at 0x%llx",
			      (unsigned long long)outside[i]);
		cr_assert(strstr(q.error, "outside guest RAM"), "%s", q.error);
		cr_assert_not(try_enable(QSZ, 256, DESC, outside[i], USED), "avail at 0x%llx",
			      (unsigned long long)outside[i]);
		cr_assert_not(try_enable(QSZ, 256, DESC, AVAIL, outside[i]), "used at 0x%llx",
			      (unsigned long long)outside[i]);
	}
}

/* 2.7: descriptor table 16, available ring 2, used ring 4 bytes aligned. */
Test(virtq, enable_misaligned_rings)
{
	cr_assert_not(try_enable(QSZ, 256, DESC + 8, AVAIL, USED));
	cr_assert(strstr(q.error, "misaligned"), "%s", q.error);
	cr_assert_not(try_enable(QSZ, 256, DESC + 4, AVAIL, USED));
	cr_assert_not(try_enable(QSZ, 256, DESC, AVAIL + 1, USED));
	cr_assert_not(try_enable(QSZ, 256, DESC, AVAIL, USED + 2));
	cr_assert_not(try_enable(QSZ, 256, DESC, AVAIL, USED + 1));
	/* The spec's own minimum alignments are enough. */
	cr_assert(try_enable(QSZ, 256, DESC + 16, AVAIL + 2, USED + 4), "%s", q.error);
}

Test(virtq, enable_rings_straddling_the_end_of_ram)
{
	/* Size 8: desc 128 bytes, avail 6 + 16 = 22 (used_event included), used 6 + 64 = 70. */
	cr_assert(try_enable(QSZ, 256, RAM - 128, AVAIL, USED), "%s", q.error);
	cr_assert_not(try_enable(QSZ, 256, RAM - 112, AVAIL, USED));
	cr_assert(try_enable(QSZ, 256, DESC, RAM - 22, USED), "%s", q.error);
	cr_assert_not(try_enable(QSZ, 256, DESC, RAM - 20, USED), "used_event lies past RAM");
	cr_assert(try_enable(QSZ, 256, DESC, AVAIL, RAM - 72), "%s", q.error);
	cr_assert_not(try_enable(QSZ, 256, DESC, AVAIL, RAM - 68), "avail_event lies past RAM");
}

Test(virtq, enable_ring_straddling_the_mmio_gap)
{
	struct guest_mem big;
	gm_setup(&big, GUEST_MEM_GAP_START + 16 * MIB);
	virtq_reset(&q);
	q.size = QSZ;
	q.desc_gpa = GUEST_MEM_GAP_START - 64; /* 128 bytes: half below 3 GiB, half in the gap */
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	cr_assert_not(virtq_enable(&q, &big, 256, false, false));
	q.desc_gpa = GUEST_MEM_HIGH_START - 64; /* half in the gap, half in high RAM */
	cr_assert_not(virtq_enable(&q, &big, 256, false, false));
	virtq_reset(&q);
	q.size = QSZ;
	q.desc_gpa = GUEST_MEM_HIGH_START;
	q.avail_gpa = GUEST_MEM_GAP_START - 22;
	q.used_gpa = USED;
	cr_assert(virtq_enable(&q, &big, 256, false, false), "%s", q.error);
	cr_assert_eq((void *)q.desc, guest_mem_at(&big, GUEST_MEM_HIGH_START, 128));
	guest_mem_destroy(&big);
}

Test(virtq, enable_caches_host_pointers_of_the_rings)
{
	ring_init(QSZ, true, true);
	cr_assert_eq((void *)q.desc, (void *)desc);
	cr_assert_eq((void *)q.avail, (void *)avail);
	cr_assert_eq((void *)q.used, (void *)used);
	cr_assert(q.event_idx);
	cr_assert(q.indirect);
	cr_assert_eq(q.last_avail, 0);
	cr_assert_eq(q.used_idx, 0);
}

/* ------------------------------------------------------------------ hostile chains */

Test(virtq, descriptor_pointing_at_itself)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 3, BUF, 8, VIRTQ_DESC_F_NEXT, 3);
	offer(3);
	assert_broken("loop");
}

Test(virtq, two_descriptor_cycle)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, BUF + 8, 8, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	assert_broken("loop");
}

Test(virtq, cycle_of_zero_length_descriptors)
{
	/* They add no iovec, so only the step budget can stop this one. */
	ring_init(QSZ, false, false);
	set_desc(desc, 0, 0, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, 0, 0, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	assert_broken("loop");
}

Test(virtq, chain_through_every_descriptor_and_back)
{
	ring_init(QSZ, false, false);
	for (unsigned i = 0; i < QSZ; i++)
		set_desc(desc, i, BUF + i * 0x100, 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QSZ));
	offer(0);
	assert_broken("longer than");
}

Test(virtq, chain_longer_than_the_queue_through_an_indirect_table)
{
	/* 255 direct buffers plus a table of 2: 257 buffers in a queue of 256. */
	ring_init(256, false, true);
	for (unsigned i = 0; i < 255; i++)
		set_desc(desc, i, BUF + i * 0x10, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 32);
	set_desc(t, 0, BUF + 0x8000, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF + 0x9000, 16, 0, 0);
	set_desc(desc, 255, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("more buffers than the queue size");
}

Test(virtq, next_index_beyond_the_queue)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT, QSZ);
	offer(0);
	assert_broken("beyond the table");
}

Test(virtq, next_index_far_beyond_the_queue)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 0xffff);
	offer(0);
	assert_broken("beyond the table");
}

Test(virtq, head_index_beyond_the_queue)
{
	ring_init(QSZ, false, false);
	offer(QSZ);
	assert_broken("beyond the table");
}

Test(virtq, head_index_0xffff)
{
	ring_init(QSZ, false, false);
	offer(0xffff);
	assert_broken("beyond the table");
}

Test(virtq, avail_index_more_than_the_queue_size_ahead)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, 0, 0);
	avail->idx = QSZ + 1;
	assert_broken("more than the queue size ahead");
}

Test(virtq, avail_index_moved_backwards)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	avail->idx = 0; /* seen as 65535 chains ahead */
	cr_assert_eq(virtq_pop_chain(&q, &c), -1);
	cr_assert(q.broken);
	cr_assert(strstr(q.error, "more than the queue size ahead"), "%s", q.error);
}

Test(virtq, buffer_outside_ram)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, RAM, 1, 0, 0);
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, buffer_in_the_unbacked_high_range)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, GUEST_MEM_HIGH_START + BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, buffer_address_plus_length_wraps_past_2_64)
{
	ring_init(QSZ, false, false);
	/* addr + len = 0x1000 after the wrap: inside RAM if the sum were trusted. */
	set_desc(desc, 0, 0xfffffffffffff000ULL, 0x2000, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, buffer_at_the_top_of_the_address_space)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, UINT64_MAX, 1, 0, 0);
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, buffer_crossing_the_end_of_ram)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, RAM - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, largest_length_from_the_start_of_ram)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, 0, UINT32_MAX, 0, 0); /* 4 GiB in a 16 MiB guest */
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, readable_after_writable)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(desc, 1, BUF + 8, 8, 0, 0);
	offer(0);
	assert_broken("device-readable descriptor after a writable one");
}

Test(virtq, readable_in_an_indirect_table_after_a_direct_writable)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 16);
	set_desc(t, 0, BUF + 0x100, 8, 0, 0);
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(desc, 1, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("device-readable descriptor after a writable one");
}

Test(virtq, indirect_without_the_feature)
{
	ring_init(QSZ, false, false);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 16);
	set_desc(t, 0, BUF, 8, 0, 0);
	set_desc(desc, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("INDIRECT_DESC was not negotiated");
}

Test(virtq, indirect_with_next)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 16);
	set_desc(t, 0, BUF, 8, 0, 0);
	set_desc(desc, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, BUF + 0x100, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	assert_broken("indirect descriptor with NEXT set");
}

static void indirect_len(uint32_t len)
{
	ring_init(QSZ, false, true);
	set_desc(desc, 0, TABLE, len, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table length");
}

Test(virtq, indirect_table_length_not_a_multiple_of_16)
{
	indirect_len(24);
}

Test(virtq, indirect_table_length_zero)
{
	indirect_len(0);
}

Test(virtq, indirect_table_length_8)
{
	indirect_len(8);
}

Test(virtq, indirect_table_too_long)
{
	/* 257 entries: more than any queue may hold (the largest is VIRTQ_MAX_SIZE). */
	gm_fill(&gm, TABLE, 16 * (VIRTQ_MAX_SIZE + 1), 0);
	indirect_len(16 * (VIRTQ_MAX_SIZE + 1));
}

Test(virtq, indirect_table_length_near_4_gib)
{
	indirect_len(0xfffffff0u);
}

Test(virtq, nested_indirect)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 32);
	struct virtq_desc *t2 = gm_ptr(&gm, TABLE + 0x1000, 16);
	set_desc(t2, 0, BUF, 8, 0, 0);
	set_desc(t, 0, BUF + 0x100, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, 1, TABLE + 0x1000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(desc, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect descriptor inside an indirect table");
}

Test(virtq, indirect_table_pointing_at_itself)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 16);
	set_desc(t, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(desc, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect descriptor inside an indirect table");
}

Test(virtq, indirect_table_outside_ram)
{
	ring_init(QSZ, false, true);
	set_desc(desc, 0, RAM, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table outside guest RAM");
}

Test(virtq, indirect_table_crossing_the_end_of_ram)
{
	ring_init(QSZ, false, true);
	set_desc(desc, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table outside guest RAM");
}

Test(virtq, indirect_table_address_wraps)
{
	ring_init(QSZ, false, true);
	set_desc(desc, 0, 0xfffffffffffffff0ULL, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table outside guest RAM");
}

#define ITABLE_LEN (3 * 16)

/* A ring just reset and enabled, whose only chain is slot 0: the table of 3 at table. */
static void offer_table_ref(uint64_t table)
{
	memset(avail, 0, 6 + 2 * VIRTQ_MAX_SIZE);
	memset(used, 0, 6 + 8 * VIRTQ_MAX_SIZE);
	ring_init(QSZ, false, true);
	set_desc(desc, 0, table, ITABLE_LEN, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
}

/*
 * The same, with the table written first: 16 readable bytes, then 64 and 1 writable
 * ones, at odd addresses too (buffers need no alignment either), NEXT links scattered.
 */
static void offer_indirect_at(uint64_t table)
{
	put_desc(table, 0, BUF + 3, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(table, 2, BUF + 0x201, 64, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(table, 1, BUF + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	offer_table_ref(table);
}

/* The device took exactly the chain offer_indirect_at wrote, from the table at table. */
static void assert_indirect_taken(uint64_t table)
{
	cr_assert_eq(virtq_pop_chain(&q, &c), 1, "table at 0x%llx refused: %s",
		     (unsigned long long)table, q.error ? q.error : "");
	cr_assert_eq(c.head, 0);
	cr_assert_eq(c.nout, 1, "readable segments");
	cr_assert_eq(c.nin, 2, "writable segments");
	cr_assert_eq(c.out_len, 16);
	cr_assert_eq(c.in_len, 65);
	assert_iov(0, BUF + 3, 16);
	assert_iov(1, BUF + 0x201, 64);
	assert_iov(2, BUF + 0x400, 1);
}

/*
 * 2.7.5.3: the driver can store the table "anywhere in memory"; only the descriptor
 * table proper must be 16-byte aligned (2.7). Linux 6.1 with SLOB hands out 8-byte
 * aligned kmalloc memory for its tables: refusing them hung the guest at its first read.
 */
Test(virtq, indirect_table_8_byte_aligned)
{
	offer_indirect_at(TABLE + 8);
	assert_indirect_taken(TABLE + 8);
}

Test(virtq, indirect_table_at_an_odd_address)
{
	offer_indirect_at(TABLE + 1);
	assert_indirect_taken(TABLE + 1);
	offer_indirect_at(TABLE + 0x1000 - 17); /* odd, and across a page boundary */
	assert_indirect_taken(TABLE + 0x1000 - 17);
}

Test(virtq, misaligned_indirect_table_still_gets_every_check)
{
	/* A loop in a table at an odd address is still a loop: each entry is read in place. */
	ring_init(QSZ, false, true);
	put_desc(TABLE + 5, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(TABLE + 5, 1, BUF + 8, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(desc, 0, TABLE + 5, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("loop");
}

/* A table that ends inside RAM is taken at any alignment; one byte past its end is not. */
Test(virtq, indirect_table_straddling_the_end_of_ram)
{
	uint64_t fit[] = { RAM - ITABLE_LEN, RAM - ITABLE_LEN - 1, RAM - ITABLE_LEN - 8 };
	for (size_t i = 0; i < ARRAY_SIZE(fit); i++) {
		offer_indirect_at(fit[i]);
		assert_indirect_taken(fit[i]);
	}
	uint64_t past[] = { RAM - ITABLE_LEN + 1, RAM - ITABLE_LEN + 8, RAM - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(past); i++) {
		offer_table_ref(past[i]);
		assert_broken("indirect table outside guest RAM");
	}
}

/*
 * RAM below 3 GiB and from 4 GiB is one host mapping, so a table crossing the MMIO gap
 * would be contiguous on the host: it must still be refused, as the guest has no RAM
 * there. Either side of the gap, any alignment is fine.
 */
Test(virtq, indirect_table_crossing_the_mmio_gap)
{
	guest_mem_destroy(&gm);
	setup_ram(GUEST_MEM_GAP_START + 16 * MIB);
	uint64_t fit[] = { GUEST_MEM_GAP_START - ITABLE_LEN - 1,
			   GUEST_MEM_GAP_START - ITABLE_LEN - 8, GUEST_MEM_HIGH_START + 8,
			   GUEST_MEM_HIGH_START + 1 };
	for (size_t i = 0; i < ARRAY_SIZE(fit); i++) {
		offer_indirect_at(fit[i]);
		assert_indirect_taken(fit[i]);
	}
	uint64_t across[] = { GUEST_MEM_GAP_START - ITABLE_LEN + 8,  /* low RAM into the gap */
			      GUEST_MEM_GAP_START - 1,               /* one byte of RAM */
			      GUEST_MEM_HIGH_START - 8,              /* the gap into high RAM */
			      GUEST_MEM_HIGH_START - ITABLE_LEN + 1, /* one byte in the gap */
			      GUEST_MEM_GAP_START + 0x1000 + 8 };    /* wholly in the gap */
	for (size_t i = 0; i < ARRAY_SIZE(across); i++) {
		offer_table_ref(across[i]);
		assert_broken("indirect table outside guest RAM");
	}
}

Test(virtq, loop_inside_an_indirect_table)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 32);
	set_desc(t, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF + 8, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(desc, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("loop");
}

Test(virtq, next_beyond_an_indirect_table_but_inside_the_queue)
{
	/* The bound inside a table is the table's length, not the queue size. */
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 32);
	set_desc(t, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(t, 1, BUF + 8, 8, 0, 0);
	set_desc(desc, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("beyond the table");
}

Test(virtq, bad_buffer_inside_an_indirect_table)
{
	ring_init(QSZ, false, true);
	struct virtq_desc *t = gm_ptr(&gm, TABLE, 32);
	set_desc(t, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, 1, RAM - 4, 8, VIRTQ_DESC_F_WRITE, 0);
	set_desc(desc, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken("outside guest RAM");
}

Test(virtq, broken_queue_stays_broken_after_the_ring_is_fixed)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, RAM, 8, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), -1);
	const char *why = q.error;
	/* The guest repairs the descriptor and offers more work. */
	set_desc(desc, 0, BUF, 8, 0, 0);
	set_desc(desc, 1, BUF, 8, 0, 0);
	offer(1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(virtq_pop_chain(&q, &c), -1);
	cr_assert_eq(q.error, why, "the first reason is kept");
	cr_assert_eq(q.last_avail, 0);
	/* Reset and enable again: the queue works. */
	ring_init(QSZ, false, false);
	avail->idx = 0;
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
}

Test(virtq, good_chain_before_a_bad_one_is_delivered)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, 0, 0);
	set_desc(desc, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	offer(0);
	offer(1);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_eq(c.head, 0);
	cr_assert_eq(virtq_pop_chain(&q, &c), -1);
	cr_assert(strstr(q.error, "loop"), "%s", q.error);
	cr_assert_eq(q.last_avail, 1);
}

Test(virtq, break_by_the_device)
{
	ring_init(QSZ, false, false);
	set_desc(desc, 0, BUF, 8, 0, 0);
	offer(0);
	virtq_break(&q, "block request without a writable status byte");
	cr_assert(q.broken);
	cr_assert_eq(virtq_pop_chain(&q, &c), -1);
	cr_assert_str_eq(q.error, "block request without a writable status byte");
}

/*
 * A device that popped what was there, found it too little and gave it back waits for
 * the ring to grow past where it ran dry, not merely for a non-empty ring (that spun
 * virtio-net forever on a frame bigger than the posted buffers).
 */
Test(virtq, arm_notify_at_waits_for_buffers_beyond_the_dry_point)
{
	ring_init(QSZ, true, false);
	uint16_t *avail_event = (uint16_t *)&used->ring[QSZ];
	set_desc(desc, 0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop_chain(&q, &c), 1);
	cr_assert_eq(virtq_pop_chain(&q, &c), 0);
	uint16_t dry = q.last_avail;
	virtq_unpop(&q);
	cr_assert(virtq_arm_notify(&q), "the given-back chain is still there");
	cr_assert_not(virtq_arm_notify_at(&q, dry), "nothing beyond the dry point yet");
	cr_assert_eq(*avail_event, dry, "the driver is not asked to notify at the dry point");
	offer(0);
	cr_assert(virtq_arm_notify_at(&q, dry), "a buffer posted beyond it is not reported");
}
