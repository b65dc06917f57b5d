#include "rate_limiter.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

/* ---------------------------------------------------------------- one bucket */

static bool bucket_unlimited(const struct token_bucket *b)
{
	return b->size == 0;
}

static int bucket_check(const struct token_bucket_config *c, const char *what,
			struct errbuf *e)
{
	if (c->size == 0 || c->refill_time_ms == 0)
		return 0;
	/* The budget is signed so that an oversize request can leave a debt. */
	if (c->size > (uint64_t)INT64_MAX)
		return errf(e, "rate limiter %s: size %llu is too large (at most %lld)", what,
			    (unsigned long long)c->size, (long long)INT64_MAX);
	if (c->refill_time_ms > UINT64_MAX / NS_PER_MS)
		return errf(e, "rate limiter %s: refill time %llu ms is too large", what,
			    (unsigned long long)c->refill_time_ms);
	return 0;
}

/* A new, full bucket; c must have passed bucket_check. */
static void bucket_set(struct token_bucket *b, const struct token_bucket_config *c)
{
	bool limited = c->size != 0 && c->refill_time_ms != 0;
	*b = (struct token_bucket){
		.size = limited ? c->size : 0,
		.refill_ns = limited ? c->refill_time_ms * NS_PER_MS : 0,
		.burst = limited ? c->one_time_burst : 0,
		.budget = limited ? (int64_t)c->size : 0,
	};
}

/*
 * Adds what refilled since last_ns. The remainder below one token is kept in frac, so
 * frequent calls lose nothing to rounding. A full bucket only moves last_ns: time
 * spent full earns nothing, which is also why a new bucket needs no start time.
 */
static void bucket_refill(struct token_bucket *b, uint64_t now_ns)
{
	if (bucket_unlimited(b))
		return;
	if (b->budget >= (int64_t)b->size) {
		b->last_ns = now_ns;
		b->frac = 0;
		return;
	}
	if (now_ns <= b->last_ns)
		return;
	unsigned __int128 acc = (unsigned __int128)(now_ns - b->last_ns) * b->size + b->frac;
	unsigned __int128 add = acc / b->refill_ns;
	b->frac = (uint64_t)(acc % b->refill_ns);
	b->last_ns = now_ns;
	if ((__int128)b->budget + (__int128)add >= (__int128)b->size) {
		b->budget = (int64_t)b->size;
		b->frac = 0;
	} else {
		b->budget += (int64_t)add;
	}
}

/* Of a request for `tokens`, what the budget (not the burst) has to pay. */
static uint64_t bucket_rest(const struct token_bucket *b, uint64_t tokens)
{
	return tokens > b->burst ? tokens - b->burst : 0;
}

/* What the budget must hold before paying `rest`: an oversize request needs it full. */
static int64_t bucket_need(const struct token_bucket *b, uint64_t rest)
{
	return (int64_t)(rest < b->size ? rest : b->size);
}

static bool bucket_can_take(const struct token_bucket *b, uint64_t tokens)
{
	if (bucket_unlimited(b))
		return true;
	uint64_t rest = bucket_rest(b, tokens);
	return rest == 0 || b->budget >= bucket_need(b, rest);
}

static void bucket_take(struct token_bucket *b, uint64_t tokens)
{
	if (bucket_unlimited(b))
		return;
	uint64_t rest = bucket_rest(b, tokens);
	b->burst -= tokens - rest;
	/* Clamped so that an absurd request cannot wrap the budget; it just repays longer. */
	__int128 budget = (__int128)b->budget - (__int128)rest;
	b->budget = budget < -(__int128)INT64_MAX ? -INT64_MAX : (int64_t)budget;
}

/* How long until bucket_can_take(b, tokens) holds, counting the refill remainder. */
static uint64_t bucket_wait_ns(const struct token_bucket *b, uint64_t tokens)
{
	if (bucket_can_take(b, tokens))
		return 0;
	/* Below 2^64 (need <= INT64_MAX, budget >= -INT64_MAX), so the product fits. */
	unsigned __int128 deficit =
		(unsigned __int128)((__int128)bucket_need(b, bucket_rest(b, tokens)) - b->budget);
	unsigned __int128 work = deficit * b->refill_ns - b->frac;
	unsigned __int128 ns = (work + b->size - 1) / b->size;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static void bucket_give_back(struct token_bucket *b, uint64_t tokens)
{
	if (bucket_unlimited(b) || tokens == 0)
		return;
	/* Most likely they came from the burst if some of it is left. */
	if (b->burst > 0) {
		b->burst = b->burst > UINT64_MAX - tokens ? UINT64_MAX : b->burst + tokens;
		return;
	}
	__int128 budget = (__int128)b->budget + (__int128)tokens;
	b->budget = budget > (__int128)b->size ? (int64_t)b->size : (int64_t)budget;
}

/* ---------------------------------------------------------------- the limiter */

static int arm_timer(int fd, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) },
	};
	return timerfd_settime(fd, 0, &its, NULL);
}

int rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *c,
		      struct errbuf *e)
{
	rl->timer_fd = -1;
	rl->blocked = false;
	if (bucket_check(&c->bandwidth, "bandwidth", e) < 0 || bucket_check(&c->ops, "ops", e) < 0)
		return -1;
	bucket_set(&rl->bandwidth, &c->bandwidth);
	bucket_set(&rl->ops, &c->ops);
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (rl->timer_fd < 0)
		return errf(e, "rate limiter: timerfd_create: %s", strerror(errno));
	return 0;
}

void rate_limiter_destroy(struct rate_limiter *rl)
{
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
	rl->blocked = false;
}

/* Refused: block until both buckets could pay, as the slower of them says. */
static bool block_until_refilled(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t wait = bucket_wait_ns(&rl->bandwidth, bytes);
	uint64_t wait_ops = bucket_wait_ns(&rl->ops, ops);
	if (wait_ops > wait)
		wait = wait_ops;
	if (wait < RATE_LIMITER_MIN_WAIT_NS)
		wait = RATE_LIMITER_MIN_WAIT_NS;
	if (arm_timer(rl->timer_fd, wait) < 0) {
		/* Blocked with no timer would stall the device for good: let it through. */
		log_once(LOG_ERROR, "rate limiter: timerfd_settime: %s; not limiting",
			 strerror(errno));
		return true;
	}
	rl->blocked = true;
	return false;
}

bool rate_limiter_consume_at(struct rate_limiter *rl, uint64_t bytes, uint64_t ops,
			     uint64_t now_ns)
{
	if (rl->blocked)
		return false;
	bucket_refill(&rl->bandwidth, now_ns);
	bucket_refill(&rl->ops, now_ns);
	if (!bucket_can_take(&rl->bandwidth, bytes) || !bucket_can_take(&rl->ops, ops))
		return block_until_refilled(rl, bytes, ops);
	bucket_take(&rl->bandwidth, bytes);
	bucket_take(&rl->ops, ops);
	return true;
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	if (bucket_unlimited(&rl->bandwidth) && bucket_unlimited(&rl->ops) && !rl->blocked)
		return true; /* the common case needs no clock read */
	return rate_limiter_consume_at(rl, bytes, ops, monotonic_ns());
}

void rate_limiter_replenish(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	bucket_give_back(&rl->bandwidth, bytes);
	bucket_give_back(&rl->ops, ops);
}

void rate_limiter_timer_fired(struct rate_limiter *rl)
{
	uint64_t expirations;
	/* EAGAIN (not expired yet) is fine: an early retry just blocks again. */
	if (read(rl->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_once(LOG_ERROR, "rate limiter: read timerfd: %s", strerror(errno));
	arm_timer(rl->timer_fd, 0);
	rl->blocked = false;
}

bool rate_limiter_is_blocked(const struct rate_limiter *rl)
{
	return rl->blocked;
}

int rate_limiter_update(struct rate_limiter *rl, const struct token_bucket_config *bandwidth,
			const struct token_bucket_config *ops, struct errbuf *e)
{
	if (bandwidth && bucket_check(bandwidth, "bandwidth", e) < 0)
		return -1;
	if (ops && bucket_check(ops, "ops", e) < 0)
		return -1;
	if (bandwidth)
		bucket_set(&rl->bandwidth, bandwidth);
	if (ops)
		bucket_set(&rl->ops, ops);
	/* The device waits for the timer to retry: make that now, under the new limits. */
	if (rl->blocked && arm_timer(rl->timer_fd, 1) < 0)
		rl->blocked = false;
	return 0;
}

/* ---------------------------------------------------------------- command line */

enum num_result { NUM_OK, NUM_BAD, NUM_TOO_LARGE };

/* Plain decimal digits, the whole of [s, s + n). */
static enum num_result parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0)
		return NUM_BAD;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NUM_BAD;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return NUM_TOO_LARGE;
	}
	*out = v;
	return NUM_OK;
}

static int parse_field(const char *spec, const char *name, const char *s, size_t n,
		       uint64_t *out, struct errbuf *e)
{
	switch (parse_u64(s, n, out)) {
	case NUM_OK:
		return 0;
	case NUM_TOO_LARGE:
		return errf(e, "rate limit '%s': %s '%.*s' is too large", spec, name, (int)n, s);
	case NUM_BAD:
		break;
	}
	return errf(e, "rate limit '%s': %s '%.*s' is not a number", spec, name, (int)n, s);
}

int rate_limiter_parse(const char *spec, struct token_bucket_config *out, struct errbuf *e)
{
	const char *slash = strchr(spec, '/');
	if (!slash)
		return errf(e, "rate limit '%s': expected SIZE/REFILL_MS[+BURST]", spec);
	const char *refill = slash + 1;
	const char *plus = strchr(refill, '+');
	size_t refill_len = plus ? (size_t)(plus - refill) : strlen(refill);

	struct token_bucket_config c = { 0, 0, 0 };
	if (parse_field(spec, "size", spec, (size_t)(slash - spec), &c.size, e) < 0 ||
	    parse_field(spec, "refill time", refill, refill_len, &c.refill_time_ms, e) < 0)
		return -1;
	if (plus && parse_field(spec, "burst", plus + 1, strlen(plus + 1), &c.one_time_burst, e) < 0)
		return -1;
	if (c.size == 0)
		return errf(e, "rate limit '%s': size must be > 0", spec);
	if (c.refill_time_ms == 0)
		return errf(e, "rate limit '%s': refill time must be > 0", spec);
	if (c.size > (uint64_t)INT64_MAX)
		return errf(e, "rate limit '%s': size is too large (at most %lld)", spec,
			    (long long)INT64_MAX);
	if (c.refill_time_ms > UINT64_MAX / NS_PER_MS)
		return errf(e, "rate limit '%s': refill time is too large (at most %llu ms)", spec,
			    (unsigned long long)(UINT64_MAX / NS_PER_MS));
	*out = c;
	return 0;
}

static void bucket_restore(struct token_bucket *b, int64_t budget, uint64_t burst, uint64_t now)
{
	int64_t cap = b->size > INT64_MAX ? INT64_MAX : (int64_t)b->size;
	b->budget = budget > cap ? cap : budget < -cap ? -cap : budget;
	b->burst = burst < b->burst ? burst : b->burst;
	b->frac = 0;
	b->last_ns = now;
}

void rate_limiter_save(const struct rate_limiter *rl, struct rate_limiter_state *s)
{
	*s = (struct rate_limiter_state){
		.budget = { rl->bandwidth.budget, rl->ops.budget },
		.burst = { rl->bandwidth.burst, rl->ops.burst },
	};
}

void rate_limiter_restore(struct rate_limiter *rl, const struct rate_limiter_state *s)
{
	uint64_t now = monotonic_ns();
	bucket_restore(&rl->bandwidth, s->budget[0], s->burst[0], now);
	bucket_restore(&rl->ops, s->budget[1], s->burst[1], now);
}
