#include "virtq.h"

#include <string.h>

#include "../lib/util.h"

/* Ring fields the guest may change at any time are read once, with these. */
#define GUEST_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define GUEST_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static bool virtq_fail(struct virtq *q, const char *why)
{
	q->broken = true;
	q->error = why;
	return false;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static bool is_power_of_two(uint16_t v)
{
	return v && !(v & (v - 1));
}

/* Host pointer for a ring part of len bytes at gpa, or NULL if outside RAM or misaligned. */
static void *virtq_ring_at(const struct guest_mem *mem, uint64_t gpa, uint64_t len,
			   uint64_t align)
{
	return (gpa & (align - 1)) ? NULL : guest_mem_at(mem, gpa, len);
}

bool virtq_enable(struct virtq *q, const struct guest_mem *mem, uint16_t max, bool event_idx,
		  bool indirect)
{
	if (!is_power_of_two(q->size) || q->size > max || max > VIRTQ_MAX_SIZE)
		return virtq_fail(q, "queue size is not a power of two within the maximum");
	uint64_t n = q->size;
	q->mem = mem;
	q->desc = virtq_ring_at(mem, q->desc_gpa, 16 * n, 16);
	q->avail = virtq_ring_at(mem, q->avail_gpa, 6 + 2 * n, 2);
	q->used = virtq_ring_at(mem, q->used_gpa, 6 + 8 * n, 4);
	if (!q->desc || !q->avail || !q->used)
		return virtq_fail(q, "ring address outside guest RAM or misaligned");
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->last_avail = q->used_idx = 0;
	q->signalled_valid = false;
	q->enabled = true;
	return true;
}

/*
 * Entry idx of a descriptor table, copied out of guest memory exactly once. The table
 * is a byte pointer on purpose: an indirect table may start at any address (the spec
 * gives it no alignment; Linux's kmalloc with SLOB gives 8 bytes), and a read through a
 * misaligned struct virtq_desc pointer is undefined behaviour, whatever x86 tolerates.
 */
static struct virtq_desc virtq_read_desc(const uint8_t *table, uint16_t idx)
{
	struct virtq_desc copy;
	memcpy(&copy, table + (size_t)idx * sizeof(copy), sizeof(copy));
	/* The guest can rewrite the table under us: the compiler must not re-read it. */
	__asm__ volatile("" ::: "memory");
	return copy;
}

static bool virtq_add_segment(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
	if (d->len == 0)
		return true; /* moves no data; still counted against the chain length */
	void *host = guest_mem_at(q->mem, d->addr, d->len);
	if (!host)
		return virtq_fail(q, "descriptor buffer outside guest RAM (or its length wraps)");
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	if (!writable && c->nin)
		return virtq_fail(q, "device-readable descriptor after a writable one");
	unsigned n = c->nout + c->nin;
	if (n == VIRTQ_MAX_CHAIN)
		return virtq_fail(q, "descriptor chain holds more buffers than the queue size");
	c->iov[n] = (struct iovec){ .iov_base = host, .iov_len = d->len };
	if (writable) {
		guest_mem_mark_written(q->mem, host, d->len); /* the device may write it all */
		c->nin++;
		c->in_len += d->len;
	} else {
		c->nout++;
		c->out_len += d->len;
	}
	return true;
}

static bool virtq_walk(struct virtq *q, const uint8_t *table, uint32_t table_len,
		       uint16_t first, bool in_indirect, struct virtq_chain *c);

static bool virtq_walk_indirect(struct virtq *q, const struct virtq_desc *d,
				struct virtq_chain *c)
{
	if (!q->indirect)
		return virtq_fail(q, "indirect descriptor, but INDIRECT_DESC was not negotiated");
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return virtq_fail(q, "indirect descriptor with NEXT set");
	if (d->len == 0 || d->len % sizeof(struct virtq_desc) ||
	    d->len / sizeof(struct virtq_desc) > VIRTQ_MAX_CHAIN)
		return virtq_fail(q, "indirect table length is not 16 x (1..256)");
	/*
	 * 2.7.5.3 lets the table be "anywhere in memory": no alignment is asked (16 is the
	 * main descriptor table's, 2.7), only that every byte of it is RAM of one region.
	 */
	const uint8_t *table = guest_mem_at(q->mem, d->addr, d->len);
	if (!table)
		return virtq_fail(q, "indirect table outside guest RAM (past its end, in the "
				     "MMIO gap, or wrapping)");
	return virtq_walk(q, table, d->len / sizeof(struct virtq_desc), 0, true, c);
}

/*
 * Follows NEXT links from first in table. Each step costs one unit of a budget the
 * size of the table, so a cycle ends as an error instead of a hang.
 */
static bool virtq_walk(struct virtq *q, const uint8_t *table, uint32_t table_len,
		       uint16_t first, bool in_indirect, struct virtq_chain *c)
{
	uint32_t budget = table_len;
	uint16_t idx = first;
	for (;;) {
		if (idx >= table_len)
			return virtq_fail(q, "descriptor index beyond the table");
		if (budget-- == 0)
			return virtq_fail(q, "descriptor chain longer than its table (a loop?)");
		struct virtq_desc d = virtq_read_desc(table, idx);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (in_indirect)
				return virtq_fail(q, "indirect descriptor inside an indirect table");
			return virtq_walk_indirect(q, &d, c);
		}
		if (!virtq_add_segment(q, c, &d))
			return false;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return true;
		idx = d.next;
	}
}

int virtq_pop_chain(struct virtq *q, struct virtq_chain *c)
{
	if (q->broken)
		return -1;
	if (!q->enabled)
		return 0;
	uint16_t avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return virtq_fail(q, "available index ran more than the queue size ahead"), -1;
	uint16_t head = GUEST_LOAD(&q->avail->ring[q->last_avail & (q->size - 1)]);
	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	if (!virtq_walk(q, (const uint8_t *)q->desc, q->size, head, false, c))
		return -1;
	q->last_avail++;
	return 1;
}

uint16_t virtq_pending(const struct virtq *q)
{
	if (!q->enabled)
		return 0;
	return (uint16_t)(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) - q->last_avail);
}

void virtq_break(struct virtq *q, const char *why)
{
	virtq_fail(q, why);
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

/* The used ring, avail_event included: what the device writes besides the guest's buffers. */
static uint64_t virtq_used_bytes(const struct virtq *q)
{
	return 6 + 8 * (uint64_t)q->size;
}

void virtq_fill_used(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->enabled)
		return; /* reset while the request was in flight: the ring is gone */
	struct virtq_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];
	GUEST_STORE(&e->id, (uint32_t)head);
	GUEST_STORE(&e->len, len);
	q->used_idx++;
}

void virtq_publish_used(struct virtq *q)
{
	if (!q->enabled)
		return;
	/* The elements must be visible before the index that publishes them. */
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
	guest_mem_mark_written(q->mem, q->used, virtq_used_bytes(q));
}

void virtq_push_used(struct virtq *q, uint16_t head, uint32_t len)
{
	virtq_fill_used(q, head, len);
	virtq_publish_used(q);
}

static uint16_t *virtq_used_event(const struct virtq *q)
{
	return &q->avail->ring[q->size];
}

static uint16_t *virtq_avail_event(const struct virtq *q)
{
	return (uint16_t *)&q->used->ring[q->size];
}

bool virtq_needs_interrupt(struct virtq *q)
{
	if (!q->enabled)
		return false;
	/* Our used->idx store must be ordered before reading what the driver asked for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(GUEST_LOAD(&q->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t event = GUEST_LOAD(virtq_used_event(q));
	uint16_t old = q->signalled, now = q->used_idx;
	bool valid = q->signalled_valid;
	q->signalled = now;
	q->signalled_valid = true;
	/* 2.7.10: interrupt when used_event lies in (old, now]. */
	return !valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool virtq_arm_notify_at(struct virtq *q, uint16_t idx)
{
	if (!q->enabled || q->broken)
		return false;
	if (q->event_idx) {
		GUEST_STORE(virtq_avail_event(q), idx);
		guest_mem_mark_written(q->mem, q->used, virtq_used_bytes(q));
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != idx;
}

bool virtq_arm_notify(struct virtq *q)
{
	return virtq_arm_notify_at(q, q->last_avail);
}

void virtq_save(const struct virtq *q, struct virtq_state *s)
{
	*s = (struct virtq_state){
		.desc_gpa = q->desc_gpa, .avail_gpa = q->avail_gpa, .used_gpa = q->used_gpa,
		.size = q->size, .last_avail = q->last_avail, .used_idx = q->used_idx,
		.signalled = q->signalled, .ready = q->ready, .enabled = q->enabled,
		.event_idx = q->event_idx, .indirect = q->indirect, .broken = q->broken,
		.signalled_valid = q->signalled_valid,
	};
}

bool virtq_restore(struct virtq *q, const struct virtq_state *s, const struct guest_mem *mem,
		   uint16_t max)
{
	virtq_reset(q);
	q->size = s->size;
	q->ready = s->ready;
	q->desc_gpa = s->desc_gpa, q->avail_gpa = s->avail_gpa, q->used_gpa = s->used_gpa;
	if (!s->enabled)
		return true;
	if (!virtq_enable(q, mem, max, s->event_idx, s->indirect))
		return false;
	q->last_avail = s->last_avail;
	q->used_idx = s->used_idx;
	q->signalled = s->signalled;
	q->signalled_valid = s->signalled_valid;
	if (s->broken)
		virtq_break(q, "broken when the snapshot was taken");
	return !s->broken;
}
