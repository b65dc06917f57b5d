/*
 * The token-bucket rate limiter: buckets driven by an injected clock (consume_at), the
 * timerfd it arms when it refuses, run-time updates, and the command-line form.
 * Expected numbers follow from Firecracker's model: a bucket of SIZE tokens refills
 * SIZE per REFILL_MS, starts full, and spends its one-time burst first.
 */
#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../../lib/rate_limiter.h"
#include "helpers.h"

#define MS 1000000ULL
/* An arbitrary start, far from 0 so that nothing depends on the clock's origin. */
#define T0 (1000 * 1000 * MS)

static struct rate_limiter rl;
static struct errbuf e;

static void init_limiter(struct token_bucket_config bw, struct token_bucket_config ops)
{
	struct rate_limiter_config c = { .bandwidth = bw, .ops = ops };
	memset(&e, 0, sizeof(e));
	cr_assert_eq(rate_limiter_init(&rl, &c, &e), 0, "rate_limiter_init: %s", e.msg);
	cr_assert_geq(rl.timer_fd, 0);
}

static struct token_bucket_config bucket(uint64_t size, uint64_t refill_ms, uint64_t burst)
{
	return (struct token_bucket_config){ .size = size, .refill_time_ms = refill_ms,
					     .one_time_burst = burst };
}

static const struct token_bucket_config unlimited = { 0, 0, 0 };

static void teardown(void)
{
	rate_limiter_destroy(&rl);
}

/* What is left of the armed timer, in ns (0: disarmed). */
static uint64_t timer_left_ns(void)
{
	struct itimerspec its;
	cr_assert_eq(timerfd_gettime(rl.timer_fd, &its), 0);
	cr_assert_eq(its.it_interval.tv_sec, 0, "the timer is one-shot");
	cr_assert_eq(its.it_interval.tv_nsec, 0, "the timer is one-shot");
	return (uint64_t)its.it_value.tv_sec * 1000 * MS + (uint64_t)its.it_value.tv_nsec;
}

/* The timer is armed for `want` ns, give or take the real time the test itself took. */
static void assert_timer_near(uint64_t want)
{
	uint64_t left = timer_left_ns();
	cr_assert(left <= want && left + 50 * MS > want,
		  "timer armed for %llu ns, want %llu ns", (unsigned long long)left,
		  (unsigned long long)want);
}

/* Refused at `now`: blocked, then unblocked by the timer as the event loop would. */
static void assert_refused(uint64_t bytes, uint64_t ops, uint64_t now)
{
	cr_assert_not(rate_limiter_consume_at(&rl, bytes, ops, now),
		      "consume(%llu, %llu) at +%llu ns must be refused", (unsigned long long)bytes,
		      (unsigned long long)ops, (unsigned long long)(now - T0));
	cr_assert(rate_limiter_is_blocked(&rl));
	rate_limiter_timer_fired(&rl);
	cr_assert_not(rate_limiter_is_blocked(&rl));
}

static void assert_taken(uint64_t bytes, uint64_t ops, uint64_t now)
{
	cr_assert(rate_limiter_consume_at(&rl, bytes, ops, now),
		  "consume(%llu, %llu) at +%llu ns must pass", (unsigned long long)bytes,
		  (unsigned long long)ops, (unsigned long long)(now - T0));
	cr_assert_not(rate_limiter_is_blocked(&rl));
}

TestSuite(rate_limiter, .fini = teardown);

Test(rate_limiter, bucket_starts_full_and_then_refuses)
{
	init_limiter(bucket(1000, 1000, 0), unlimited);
	assert_taken(1000, 1, T0);
	assert_refused(1, 1, T0);
}

Test(rate_limiter, refused_request_takes_nothing_and_blocks_until_timer)
{
	init_limiter(bucket(1000, 1000, 0), unlimited);
	assert_taken(900, 0, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 200, 0, T0));
	cr_assert(rate_limiter_is_blocked(&rl));
	/* 100 missing tokens at 1 token/ms. */
	assert_timer_near(100 * MS);
	cr_assert_not(rate_limiter_consume_at(&rl, 1, 0, T0 + 10000 * MS),
		      "while blocked nothing passes, however much refilled");
	rate_limiter_timer_fired(&rl);
	cr_assert_eq(timer_left_ns(), 0, "firing disarms the timer");
	assert_taken(100, 0, T0 + 10 * MS); /* the refused 200 took nothing */
}

Test(rate_limiter, refills_continuously_over_injected_time)
{
	init_limiter(bucket(1000, 1000, 0), unlimited);
	assert_taken(1000, 0, T0);
	assert_refused(500, 0, T0 + 499 * MS);
	assert_taken(500, 0, T0 + 500 * MS);
	assert_refused(1, 0, T0 + 500 * MS);
	/* Fractions of a token are kept across calls: two half-token steps make one. */
	assert_refused(1, 0, T0 + 500 * MS + MS / 2);
	assert_taken(1, 0, T0 + 501 * MS);
	/* Refill stops at the size. */
	assert_taken(1000, 0, T0 + 100000 * MS);
	assert_refused(1, 0, T0 + 100000 * MS);
}

Test(rate_limiter, refill_rate_is_size_per_refill_time)
{
	/* 10 MiB per second: 10485.76 bytes per ms. */
	init_limiter(bucket(10 * MIB, 1000, 0), unlimited);
	assert_taken(10 * MIB, 0, T0);
	assert_refused(1048577, 0, T0 + 100 * MS);
	assert_taken(1048576, 0, T0 + 100 * MS);
}

Test(rate_limiter, timer_is_armed_for_when_tokens_suffice)
{
	init_limiter(bucket(100, 1000, 0), unlimited);
	assert_taken(100, 0, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 40, 0, T0));
	assert_timer_near(400 * MS); /* 40 tokens at 10 ms each */
}

Test(rate_limiter, timer_waits_at_least_the_minimum)
{
	init_limiter(bucket(1000000, 1000, 0), unlimited);
	assert_taken(1000000, 0, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 1, 0, T0));
	assert_timer_near(RATE_LIMITER_MIN_WAIT_NS); /* 1 token would take 1 us */
}

Test(rate_limiter, timer_fd_fires_in_real_time)
{
	init_limiter(bucket(1000, 1000, 0), unlimited);
	cr_assert(rate_limiter_consume(&rl, 1000, 0));
	cr_assert_not(rate_limiter_consume(&rl, 2, 0));
	struct pollfd p = { .fd = rl.timer_fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 1000), 1, "the timer fires after about 2 ms");
	rate_limiter_timer_fired(&rl);
	cr_assert_not(rate_limiter_is_blocked(&rl));
	cr_assert_eq(poll(&p, 1, 0), 0, "rate_limiter_timer_fired drained the fd");
	cr_assert(rate_limiter_consume(&rl, 2, 0));
}

Test(rate_limiter, one_time_burst_is_spent_first_and_never_refills)
{
	init_limiter(bucket(100, 1000, 500), unlimited);
	assert_taken(300, 0, T0);        /* burst: 200 left, budget full */
	assert_taken(300, 0, T0);        /* 200 burst + 100 budget */
	assert_refused(1, 0, T0);
	assert_taken(100, 0, T0 + 1000 * MS);
	assert_refused(1, 0, T0 + 1000 * MS);
	assert_taken(100, 0, T0 + 60000 * MS);
	assert_refused(1, 0, T0 + 60000 * MS);
}

Test(rate_limiter, burst_then_budget_in_one_request)
{
	init_limiter(bucket(100, 1000, 50), unlimited);
	assert_taken(150, 0, T0);
	assert_refused(1, 0, T0);
}

Test(rate_limiter, refused_by_bandwidth_leaves_ops_alone)
{
	init_limiter(bucket(1000, 1000, 0), bucket(2, 1000, 0));
	assert_taken(600, 1, T0);
	assert_refused(600, 1, T0);
	assert_taken(0, 1, T0);  /* the ops token the refused request did not take */
	assert_refused(0, 1, T0);
}

Test(rate_limiter, refused_by_ops_leaves_bandwidth_alone)
{
	init_limiter(bucket(1000, 1000, 0), bucket(1, 1000, 0));
	assert_taken(100, 1, T0);
	assert_refused(100, 1, T0);
	assert_taken(900, 0, T0);
	assert_refused(1, 0, T0);
}

Test(rate_limiter, ops_bucket_limits_requests)
{
	init_limiter(unlimited, bucket(10, 1000, 0));
	for (int i = 0; i < 10; i++)
		assert_taken(1 * GIB, 1, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 0, 1, T0));
	assert_timer_near(100 * MS);
}

Test(rate_limiter, unlimited_always_passes)
{
	init_limiter(unlimited, unlimited);
	for (int i = 0; i < 100; i++) {
		cr_assert(rate_limiter_consume(&rl, UINT64_MAX, UINT64_MAX));
		cr_assert(rate_limiter_consume_at(&rl, UINT64_MAX, UINT64_MAX, T0));
	}
	cr_assert_not(rate_limiter_is_blocked(&rl));
	cr_assert_eq(timer_left_ns(), 0);
}

Test(rate_limiter, zero_size_or_zero_refill_is_unlimited)
{
	init_limiter(bucket(0, 1000, 5), bucket(5, 0, 0));
	for (int i = 0; i < 100; i++)
		assert_taken(1 * GIB, 1000, T0);
}

Test(rate_limiter, oversize_request_waits_for_a_full_bucket_then_leaves_a_debt)
{
	init_limiter(bucket(100, 1000, 0), unlimited);
	assert_taken(50, 0, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 250, 0, T0),
		      "larger than the bucket: waits until it is full");
	assert_timer_near(500 * MS);
	rate_limiter_timer_fired(&rl);
	assert_taken(250, 0, T0 + 500 * MS); /* budget now -150 */
	cr_assert_not(rate_limiter_consume_at(&rl, 1, 0, T0 + 500 * MS));
	assert_timer_near(1510 * MS); /* 150 of debt and 1 token, 10 ms each */
	rate_limiter_timer_fired(&rl);
	assert_refused(1, 0, T0 + 2000 * MS);
	assert_taken(1, 0, T0 + 2010 * MS);
	assert_refused(1, 0, T0 + 2010 * MS);
}

Test(rate_limiter, oversize_requests_keep_the_long_run_rate)
{
	/* 100 tokens per second; requests of 1000 must average one per 10 s. */
	init_limiter(bucket(100, 1000, 0), unlimited);
	uint64_t now = T0, passed = 0;
	for (int step = 0; step < 1000; step++, now += 100 * MS) {
		if (rate_limiter_consume_at(&rl, 1000, 0, now))
			passed++;
		else
			rate_limiter_timer_fired(&rl);
	}
	/* 100 s: the first passes at once, then one per 10 s. */
	cr_assert_eq(passed, 10, "%llu oversize requests passed in 100 s",
		     (unsigned long long)passed);
}

Test(rate_limiter, replenish_gives_tokens_back)
{
	init_limiter(bucket(1000, 1000, 0), bucket(10, 1000, 0));
	assert_taken(1000, 10, T0);
	rate_limiter_replenish(&rl, 300, 1);
	assert_taken(300, 1, T0);
	assert_refused(1, 0, T0);
	assert_refused(0, 1, T0);
}

Test(rate_limiter, replenish_is_capped_at_the_size)
{
	init_limiter(bucket(1000, 1000, 0), unlimited);
	rate_limiter_replenish(&rl, 500, 0);
	assert_taken(1000, 0, T0);
	assert_refused(1, 0, T0);
}

Test(rate_limiter, replenish_refills_the_burst_while_it_lasts)
{
	init_limiter(bucket(100, 1000, 100), unlimited);
	assert_taken(50, 0, T0);
	rate_limiter_replenish(&rl, 50, 0);
	assert_taken(200, 0, T0); /* 100 burst + 100 budget */
	assert_refused(1, 0, T0);
}

Test(rate_limiter, replenish_does_not_unblock)
{
	init_limiter(bucket(100, 1000, 0), unlimited);
	assert_taken(100, 0, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 100, 0, T0));
	rate_limiter_replenish(&rl, 100, 0);
	cr_assert(rate_limiter_is_blocked(&rl));
	cr_assert_not(rate_limiter_consume_at(&rl, 100, 0, T0));
	rate_limiter_timer_fired(&rl);
	assert_taken(100, 0, T0);
}

Test(rate_limiter, update_replaces_a_bucket_with_a_full_one)
{
	init_limiter(bucket(100, 1000, 0), bucket(10, 1000, 0));
	assert_taken(100, 10, T0);
	struct token_bucket_config bw = bucket(5000, 1000, 0);
	cr_assert_eq(rate_limiter_update(&rl, &bw, NULL, &e), 0, "%s", e.msg);
	assert_refused(0, 1, T0); /* ops kept, still empty */
	assert_taken(5000, 0, T0);
	assert_refused(1, 0, T0);
}

Test(rate_limiter, update_to_zero_disables_a_bucket)
{
	init_limiter(bucket(100, 1000, 0), unlimited);
	assert_taken(100, 0, T0);
	cr_assert_eq(rate_limiter_update(&rl, &unlimited, NULL, &e), 0, "%s", e.msg);
	assert_taken(1 * GIB, 1, T0);
}

Test(rate_limiter, update_can_start_limiting_an_unlimited_one)
{
	init_limiter(unlimited, unlimited);
	struct token_bucket_config ops = bucket(1, 1000, 0);
	cr_assert_eq(rate_limiter_update(&rl, NULL, &ops, &e), 0, "%s", e.msg);
	assert_taken(0, 1, T0);
	assert_refused(0, 1, T0);
}

Test(rate_limiter, update_while_blocked_fires_the_timer_at_once)
{
	init_limiter(bucket(100, 60000, 0), unlimited);
	assert_taken(100, 0, T0);
	cr_assert_not(rate_limiter_consume_at(&rl, 100, 0, T0));
	assert_timer_near(60000 * MS);
	struct token_bucket_config bw = bucket(1000, 1000, 0);
	cr_assert_eq(rate_limiter_update(&rl, &bw, NULL, &e), 0, "%s", e.msg);
	cr_assert(rate_limiter_is_blocked(&rl), "the device still waits for the timer");
	struct pollfd p = { .fd = rl.timer_fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 1000), 1, "the timer fires at once");
	rate_limiter_timer_fired(&rl);
	assert_taken(1000, 0, T0);
}

Test(rate_limiter, bad_update_changes_nothing)
{
	init_limiter(bucket(100, 1000, 0), unlimited);
	struct token_bucket_config ok = bucket(1, 1000, 0);
	struct token_bucket_config bad = bucket((uint64_t)INT64_MAX + 1, 1000, 0);
	cr_assert_eq(rate_limiter_update(&rl, &ok, &bad, &e), -1);
	assert_msg_has(e, "rate limiter ops: size 9223372036854775808 is too large");
	/* Bandwidth still 100 (a 1-token bucket would be in debt after the first 50). */
	assert_taken(50, 1 * GIB, T0);
	assert_taken(50, 1 * GIB, T0);
	assert_refused(1, 0, T0);
}

Test(rate_limiter, init_rejects_what_the_buckets_cannot_hold)
{
	struct rate_limiter_config c = { .bandwidth = bucket(100, UINT64_MAX / 1000000 + 1, 0) };
	cr_assert_eq(rate_limiter_init(&rl, &c, &e), -1);
	assert_msg_has(e, "rate limiter bandwidth: refill time 18446744073710 ms is too large");
	cr_assert_eq(rl.timer_fd, -1, "nothing to destroy after a failed init");
}

Test(rate_limiter, the_largest_bucket_still_computes)
{
	init_limiter(bucket((uint64_t)INT64_MAX, 1000, UINT64_MAX), unlimited);
	assert_taken(UINT64_MAX, 0, T0);          /* all of the burst */
	assert_taken((uint64_t)INT64_MAX, 0, T0); /* all of the budget */
	cr_assert_not(rate_limiter_consume_at(&rl, (uint64_t)INT64_MAX, 0, T0 + 1));
	assert_timer_near(1000 * MS);
	rate_limiter_timer_fired(&rl);
	assert_taken((uint64_t)INT64_MAX, 0, T0 + 1 + 1000 * MS);
	/* From a full bucket, the largest oversize request: its debt is clamped. */
	assert_taken(UINT64_MAX, 0, T0 + 3000 * MS);
	cr_assert_not(rate_limiter_consume_at(&rl, 1, 0, T0 + 3000 * MS));
	assert_timer_near(1000 * MS + 1); /* INT64_MAX + 1 tokens */
}

Test(rate_limiter, the_longest_refill_time_still_computes)
{
	init_limiter(bucket((uint64_t)INT64_MAX, UINT64_MAX / 1000000, 0), unlimited);
	assert_taken((uint64_t)INT64_MAX, 0, T0);
	/* 9.2e18 tokens per 1.8e19 ns: half a token per ns. */
	assert_refused(1, 0, T0 + 1);
	assert_taken(1, 0, T0 + 2);
	assert_refused(2, 0, T0 + 4);
	assert_taken(2, 0, T0 + 6);
}

/* ---------------------------------------------------------------- parse */

static struct token_bucket_config parse_ok(const char *spec)
{
	struct token_bucket_config c = { 7, 7, 7 };
	memset(&e, 0, sizeof(e));
	cr_assert_eq(rate_limiter_parse(spec, &c, &e), 0, "'%s': %s", spec, e.msg);
	return c;
}

static void parse_bad(const char *spec, const char *why)
{
	struct token_bucket_config c = { 7, 7, 7 };
	memset(&e, 0, sizeof(e));
	cr_assert_eq(rate_limiter_parse(spec, &c, &e), -1, "'%s' must be refused", spec);
	char want[256];
	snprintf(want, sizeof(want), "rate limit '%s': %s", spec, why);
	cr_assert_str_eq(e.msg, want);
	cr_assert(c.size == 7 && c.refill_time_ms == 7 && c.one_time_burst == 7,
		  "a refused spec leaves *out alone");
}

Test(rate_limiter, parse_size_and_refill)
{
	struct token_bucket_config c = parse_ok("10485760/1000");
	cr_assert_eq(c.size, 10485760);
	cr_assert_eq(c.refill_time_ms, 1000);
	cr_assert_eq(c.one_time_burst, 0);
}

Test(rate_limiter, parse_with_burst)
{
	struct token_bucket_config c = parse_ok("100/1000+500");
	cr_assert_eq(c.size, 100);
	cr_assert_eq(c.refill_time_ms, 1000);
	cr_assert_eq(c.one_time_burst, 500);
}

Test(rate_limiter, parse_largest_values)
{
	struct token_bucket_config c =
		parse_ok("9223372036854775807/18446744073709+18446744073709551615");
	cr_assert_eq(c.size, (uint64_t)INT64_MAX);
	cr_assert_eq(c.refill_time_ms, UINT64_MAX / 1000000);
	cr_assert_eq(c.one_time_burst, UINT64_MAX);
	init_limiter(c, unlimited);
}

Test(rate_limiter, parse_rejects_bad_forms)
{
	parse_bad("", "expected SIZE/REFILL_MS[+BURST]");
	parse_bad("1000", "expected SIZE/REFILL_MS[+BURST]");
	parse_bad("/1000", "size '' is not a number");
	parse_bad("10/", "refill time '' is not a number");
	parse_bad("abc/1000", "size 'abc' is not a number");
	parse_bad("-1/1000", "size '-1' is not a number");
	parse_bad("+1/1000", "size '+1' is not a number");
	parse_bad(" 10/1000", "size ' 10' is not a number");
	parse_bad("10/1000 ", "refill time '1000 ' is not a number");
	parse_bad("10/1/2", "refill time '1/2' is not a number");
	parse_bad("0x10/1000", "size '0x10' is not a number");
	parse_bad("10/1000+", "burst '' is not a number");
	parse_bad("10/1000+5+6", "burst '5+6' is not a number");
	parse_bad("10/+5", "refill time '' is not a number");
}

Test(rate_limiter, parse_rejects_zero)
{
	parse_bad("10/0", "refill time must be > 0");
	parse_bad("0/1000", "size must be > 0");
	parse_bad("0/0", "size must be > 0");
}

Test(rate_limiter, parse_rejects_overflow)
{
	parse_bad("18446744073709551616/1000", "size '18446744073709551616' is too large");
	parse_bad("99999999999999999999999/1000", "size '99999999999999999999999' is too large");
	parse_bad("10/18446744073709551616", "refill time '18446744073709551616' is too large");
	parse_bad("10/1000+18446744073709551616", "burst '18446744073709551616' is too large");
	parse_bad("9223372036854775808/1000", "size is too large (at most 9223372036854775807)");
	parse_bad("10/18446744073710", "refill time is too large (at most 18446744073709 ms)");
}
