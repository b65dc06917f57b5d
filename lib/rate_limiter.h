/*
 * Token-bucket rate limiter with Firecracker's semantics, for virtio-blk (bytes and
 * operations per drive) and virtio-net (the same, per direction).
 *
 * A bucket holds up to `size` tokens and refills continuously at size/refill_time; it
 * starts full, plus a one-time burst that is spent first and never refills. A bucket
 * with size 0 or refill time 0 is unlimited. A limiter has a bandwidth bucket (bytes)
 * and an ops bucket (requests); a request takes from both or from neither.
 *
 * Refused requests: rate_limiter_consume() returns false, takes nothing, marks the
 * limiter blocked and arms `timer_fd` (one-shot, CLOCK_MONOTONIC) for when enough
 * tokens will be there, never sooner than RATE_LIMITER_MIN_WAIT_NS so a trickle of small
 * requests cannot make a timer storm. The device adds timer_fd to its event loop once,
 * stops taking requests from the guest while blocked, and calls
 * rate_limiter_timer_fired() when the fd is readable, then retries. While blocked,
 * consume refuses without looking at the buckets (the timer is already armed).
 *
 * Requests larger than a bucket (after the one-time burst): Firecracker lets them
 * through and blocks for the excess. Here such a request waits until the bucket is
 * full, then passes and leaves the bucket in debt (a negative budget) that refills
 * like any deficit. It therefore never blocks forever, and the long-run rate stays
 * exactly size/refill_time, which Firecracker's version exceeds.
 *
 * Not thread-safe: one limiter belongs to one device and runs on its thread.
 */
#ifndef EMBER_RATE_LIMITER_H
#define EMBER_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* The shortest wait the timer is armed for. */
#define RATE_LIMITER_MIN_WAIT_NS 2000000ULL

/* Firecracker's TokenBucket; all zero is unlimited. */
struct token_bucket_config {
	uint64_t size;           /* tokens; 0: unlimited */
	uint64_t one_time_burst; /* extra tokens at start, spent first, never refilled */
	uint64_t refill_time_ms; /* time to refill an empty bucket; 0: unlimited */
};

struct rate_limiter_config {
	struct token_bucket_config bandwidth; /* bytes */
	struct token_bucket_config ops;       /* requests */
};

struct token_bucket {
	uint64_t size;      /* 0: unlimited */
	uint64_t refill_ns; /* time to refill from empty */
	uint64_t burst;     /* what is left of the one-time burst */
	int64_t budget;     /* tokens now; negative while an oversize request is repaid */
	uint64_t frac;      /* refill not yet a whole token, in token*ns/refill_ns units */
	uint64_t last_ns;   /* when the refill was last computed; only meaningful below size */
};

struct rate_limiter {
	struct token_bucket bandwidth, ops;
	int timer_fd; /* always created, so a run-time update can start limiting */
	bool blocked;
};

/*
 * Checks c (size at most INT64_MAX, refill time at most UINT64_MAX ns) and creates the
 * timerfd (CLOEXEC|NONBLOCK). Both buckets start full.
 */
int rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *c,
		      struct errbuf *e);
void rate_limiter_destroy(struct rate_limiter *rl);

/* Takes `bytes` and `ops` tokens, both or neither, at CLOCK_MONOTONIC now. */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops);
/* The same with an explicit clock (nanoseconds, monotonic), for tests. */
bool rate_limiter_consume_at(struct rate_limiter *rl, uint64_t bytes, uint64_t ops,
			     uint64_t now_ns);

/*
 * Gives back tokens a request took but could not use (Firecracker's manual
 * replenish): to the one-time burst while some of it is left, else to the budget,
 * capped at the bucket size. Does not unblock: the armed timer still fires.
 */
void rate_limiter_replenish(struct rate_limiter *rl, uint64_t bytes, uint64_t ops);

/*
 * Called when timer_fd is readable: drains it, disarms it and unblocks. Safe to call
 * early or spuriously: the next refused consume blocks and arms the timer again.
 */
void rate_limiter_timer_fired(struct rate_limiter *rl);
bool rate_limiter_is_blocked(const struct rate_limiter *rl);

/*
 * Run-time change (the API's PATCH): a non-NULL config replaces that bucket with a new,
 * full one (Firecracker's BucketUpdate::Update; all zero disables it), NULL keeps it.
 * A blocked limiter has its timer re-armed to fire at once so the device retries under
 * the new limits. On a bad config nothing changes and -1 is returned.
 */
int rate_limiter_update(struct rate_limiter *rl, const struct token_bucket_config *bandwidth,
			const struct token_bucket_config *ops, struct errbuf *e);

/* A run-time change as the API's PATCH gives it: each bucket, or NULL to keep it. */
struct rate_limiter_change {
	const struct token_bucket_config *bandwidth, *ops;
};

/*
 * Parses one bucket as given on the command line: SIZE/REFILL_MS[+BURST] in plain
 * decimal, e.g. "10485760/1000" (10 MiB per second) or "100/1000+500". SIZE and
 * REFILL_MS must be > 0 (leave the option out for unlimited).
 */
int rate_limiter_parse(const char *spec, struct token_bucket_config *out, struct errbuf *e);

/*
 * For snapshots: what each bucket holds now (Firecracker persists the same). A restore
 * onto a limiter built from the same configuration gives back the tokens, capped at
 * the bucket's size; refill counts from the restore. A blocked limiter's timer is
 * not saved: the restored device looks at its ring once, which blocks it again.
 */
struct rate_limiter_state {
	int64_t budget[2]; /* bandwidth, ops */
	uint64_t burst[2];
};
void rate_limiter_save(const struct rate_limiter *rl, struct rate_limiter_state *s);
void rate_limiter_restore(struct rate_limiter *rl, const struct rate_limiter_state *s);

#endif
