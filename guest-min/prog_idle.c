/*
 * idle: stay up until the monitor stops the VM, for pause/resume, signal and
 * Ctrl+Alt+Del tests.
 *
 * Every idle.tick_ms milliseconds (default 0: no ticks) it prints
 * "idle: tick N", where N counts tick_ms windows of TSC time since the
 * program started. The TSC keeps running while the monitor has the vCPU
 * paused, so after a resume N jumps by the windows that passed: ticks skip,
 * they never come in a burst. That makes a pause visible in the output.
 *
 * It polls the i8042 (status port bit 0, data port) and prints
 * "idle: ctrl-alt-del" and exits 0 once it has read the make codes of Ctrl,
 * Alt and Del in scan code set 2 (0x14 0x11 0xe0 0x71, what Firecracker's
 * SendCtrlAltDel and ember send); other bytes are printed as they come.
 * idle.max_ms (default 0: forever) is a safety net for tests: after that
 * long it exits 1, so a test that lost track of its monitor leaves nothing
 * spinning.
 */
#include "guest-min.h"

#define I8042_DATA   0x60
#define I8042_STATUS 0x64
#define I8042_OBF    0x01

static const uint8_t ctrl_alt_del[] = { 0x14, 0x11, 0xe0, 0x71 };

struct idle_run {
	uint64_t start, period, last_tick; /* period 0: no ticks */
	uint64_t deadline;                 /* 0: none */
	unsigned matched;                  /* bytes of ctrl_alt_del seen in a row */
	bool kbd;                          /* there is an i8042 to poll */
};

static void idle_tick(struct idle_run *r, uint64_t now)
{
	uint64_t n;

	if (now < r->start)
		return; /* a TSC that stepped back: no tick rather than a wrapped number */
	n = (now - r->start) / r->period; /* period != 0 here */
	if (n > r->last_tick) {
		r->last_tick = n;
		gm_printf("idle: tick %llu\n", (unsigned long long)n);
	}
}

/* True when byte completes the Ctrl+Alt+Del sequence. */
static bool idle_key(struct idle_run *r, uint8_t byte)
{
	if (byte == ctrl_alt_del[r->matched]) {
		r->matched++;
	} else {
		gm_printf("idle: keyboard byte 0x%x\n", byte);
		r->matched = byte == ctrl_alt_del[0] ? 1 : 0;
	}
	return r->matched == sizeof(ctrl_alt_del);
}

/* TSC deadline ms from start, saturating; 0 (none) when ms is 0. */
static uint64_t deadline_after(const struct gm_ctx *c, uint64_t start, uint64_t ms)
{
	uint64_t span = gm_ms_to_tsc(c, ms);

	if (!ms)
		return 0;
	return span > UINT64_MAX - start ? UINT64_MAX : start + span;
}

static bool idle_setup(const struct gm_ctx *c, struct idle_run *r)
{
	uint64_t tick_ms, max_ms;

	if (!gm_param_u64(c, "idle.tick_ms", 3600000, 0, &tick_ms) ||
	    !gm_param_u64(c, "idle.max_ms", UINT32_MAX, 0, &max_ms))
		return false;
	r->start = gm_rdtsc();
	r->period = tick_ms ? gm_ms_to_tsc(c, tick_ms) : 0;
	r->last_tick = 0;
	r->deadline = deadline_after(c, r->start, max_ms);
	r->matched = 0;
	/* No controller (QEMU microvm) reads all-ones, OBF included: do not read 0xff forever. */
	r->kbd = inb(I8042_STATUS) != 0xff;
	if (!r->kbd)
		gm_puts("idle: no i8042 (status 0xff), not polling the keyboard\n");
	if (tick_ms)
		gm_printf("idle: polling, a tick every %llu ms\n", (unsigned long long)tick_ms);
	else
		gm_puts("idle: polling, no ticks\n");
	return true;
}

int prog_idle(const struct gm_ctx *c)
{
	struct idle_run r;

	if (!idle_setup(c, &r))
		return 2;
	for (;;) {
		uint64_t now = gm_rdtsc();

		if (r.period)
			idle_tick(&r, now);
		if (r.kbd && (inb(I8042_STATUS) & I8042_OBF) && idle_key(&r, inb(I8042_DATA))) {
			gm_puts("idle: ctrl-alt-del\n");
			return 0;
		}
		if (r.deadline && now > r.deadline) {
			gm_puts("idle: nobody stopped the VM within idle.max_ms\n");
			return 1;
		}
	}
}
