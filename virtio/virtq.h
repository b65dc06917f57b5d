/*
 * The device side of one split virtqueue. This is the boundary where guest-written ring
 * contents become host pointers: every ring address, descriptor address, length, index
 * and chain is checked here, once, with overflow-safe arithmetic, and devices only ever
 * see the validated result (struct virtq_chain). Anything malformed breaks the queue;
 * the transport then asks the driver for a reset.
 */
#ifndef EMBER_VIRTQ_H
#define EMBER_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../lib/guest_mem.h"
#include "virtio_spec.h"

#define VIRTQ_MAX_SIZE 256
/* Longest chain, indirect tables included: a chain can never be longer than the queue. */
#define VIRTQ_MAX_CHAIN VIRTQ_MAX_SIZE

struct virtq {
	/* Written by the driver through transport registers; not yet trusted. */
	uint16_t size;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Set by virtq_enable once the addresses above are checked. */
	const struct guest_mem *mem;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	bool enabled;
	bool event_idx, indirect; /* negotiated features */
	bool broken;              /* a malformed ring was seen: nothing more is taken */
	const char *error;        /* why it broke, for the one log line */

	uint16_t last_avail; /* next avail ring slot the device will read */
	uint16_t used_idx;   /* the device's copy of used->idx */
	uint16_t signalled;  /* used_idx when the driver was last interrupted */
	bool signalled_valid;
};

/* One validated descriptor chain: device-readable segments first, then writable ones. */
struct virtq_chain {
	uint16_t head;
	unsigned nout, nin;      /* iov[0..nout) readable, iov[nout..nout+nin) writable */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/* Back to the state after device reset: not ready, no addresses, counters at zero. */
void virtq_reset(struct virtq *q);
/*
 * Checks size (a power of two, at most max) and the three ring addresses (inside RAM,
 * aligned) and caches host pointers. Returns false, with q->error set, if any is bad.
 */
bool virtq_enable(struct virtq *q, const struct guest_mem *mem, uint16_t max, bool event_idx,
		  bool indirect);
/*
 * Takes the next available chain. Returns 1 with *c filled, 0 when the ring is empty,
 * -1 when the ring is malformed (q->broken and q->error are then set).
 */
int virtq_pop_chain(struct virtq *q, struct virtq_chain *c);
/* Chains the driver made available that are not taken yet (0 for a queue not enabled). */
uint16_t virtq_pending(const struct virtq *q);
/* A device found a chain it cannot make sense of: the queue stops like on a bad ring. */
void virtq_break(struct virtq *q, const char *why);
/* Gives back the last popped chain untouched (a device that could not start it). */
void virtq_unpop(struct virtq *q);
/* Puts head on the used ring with len bytes written by the device. */
void virtq_push_used(struct virtq *q, uint16_t head, uint32_t len);
/*
 * The same in two steps, for several chains the driver must see at once (a merged
 * receive buffer): fill each, then publish them all with one index update.
 */
void virtq_fill_used(struct virtq *q, uint16_t head, uint32_t len);
void virtq_publish_used(struct virtq *q);
/* After pushes: does the driver want an interrupt (flags or used_event)? */
bool virtq_needs_interrupt(struct virtq *q);
/*
 * Before going idle: tells the driver where to notify next (avail_event) and returns
 * true if more chains arrived meanwhile, so the caller loops instead of sleeping.
 */
bool virtq_arm_notify(struct virtq *q);
/*
 * The same for a device that needs the ring to grow past avail index idx (a frame that
 * did not fit in what is there): true only once the driver has posted beyond idx.
 */
bool virtq_arm_notify_at(struct virtq *q, uint16_t idx);

/* For snapshots: the addresses the driver gave and where the device is in the rings. */
struct virtq_state {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size, last_avail, used_idx, signalled;
	uint8_t ready, enabled, event_idx, indirect, broken, signalled_valid, pad[2];
};
void virtq_save(const struct virtq *q, struct virtq_state *s);
/*
 * q as s left it. An enabled queue goes through virtq_enable's checks again (the file
 * is not trusted more than the guest): false, with q broken, when they fail.
 */
bool virtq_restore(struct virtq *q, const struct virtq_state *s, const struct guest_mem *mem,
		   uint16_t max);

#endif
