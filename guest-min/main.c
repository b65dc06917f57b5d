/*
 * Command line -> program, and the programs themselves.
 *
 * Command line: space-separated tokens.  A token with '=' is a parameter
 * (key=value); the first token without '=' names the program, later ones are
 * its arguments.  No program means "hello".
 */
#include "guest-min.h"
#include "virtio.h"

/* QEMU's isa-debug-exit,iobase=0xf4 exits with (v << 1) | 1; ember with v. */
#define EXIT_PORT 0xf4

static char args_buf[GM_CMDLINE_MAX] GM_NOINIT;
static struct gm_ctx ctx;

void gm_exit(uint8_t status)
{
	outb(EXIT_PORT, status);
	/* Only reached if nothing listens on the port: park without faulting. */
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Last match wins, so a value the monitor appends overrides the user's. */
const char *gm_param(const struct gm_ctx *c, const char *key)
{
	for (int i = c->nparams - 1; i >= 0; i--)
		if (gm_streq(c->param_key[i], key))
			return c->param_val[i];
	return NULL;
}

const char *gm_param_next(const struct gm_ctx *c, const char *key, int *pos)
{
	for (; *pos < c->nparams; (*pos)++)
		if (gm_streq(c->param_key[*pos], key))
			return c->param_val[(*pos)++];
	return NULL;
}

bool gm_param_bool(const struct gm_ctx *c, const char *key)
{
	const char *v = gm_param(c, key);

	return v && (!*v || gm_streq(v, "1") || gm_streq(v, "y") || gm_streq(v, "yes") ||
		     gm_streq(v, "on") || gm_streq(v, "true"));
}

bool gm_param_u64(const struct gm_ctx *c, const char *key, uint64_t max, uint64_t def,
		  uint64_t *out)
{
	const char *v = gm_param(c, key);

	if (!v) {
		*out = def;
		return true;
	}
	if (gm_parse_u64(v, max, out))
		return true;
	gm_printf("guest-min: %s=%s: need a decimal number up to %llu\n", key, v,
		  (unsigned long long)max);
	return false;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Split a private copy in place; the raw line stays intact for "echo". */
static void parse_cmdline(struct gm_ctx *c, const char *cmdline)
{
	size_t len = gm_strlen(cmdline);
	char *p;

	if (len >= sizeof(args_buf))
		len = sizeof(args_buf) - 1;
	memcpy(args_buf, cmdline, len);
	args_buf[len] = '\0';

	c->cmdline = cmdline;
	for (p = args_buf; *p;) {
		char *tok, *eq = NULL;

		while (is_space(*p))
			*p++ = '\0';
		if (!*p)
			break;
		tok = p;
		while (*p && !is_space(*p)) {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (*p)
			*p++ = '\0';

		if (eq) {
			if (c->nparams < GM_MAX_PARAMS) {
				*eq = '\0';
				c->param_key[c->nparams] = tok;
				c->param_val[c->nparams] = eq + 1;
				c->nparams++;
			}
		} else if (gm_streq(tok, "ro") || gm_streq(tok, "rw")) {
			/* Linux's root mount flags, which ember adds for a root drive. */
		} else if (gm_streq(tok, "gm.boot_timer")) {
			c->boot_timer = true; /* a flag for guest-min, not a program */
		} else if (c->argc < GM_MAX_ARGS) {
			c->argv[c->argc++] = tok;
		}
	}
}

/*
 * Two clocks are possible: on hardware KVM the guest TSC was set to 0 when ember set up
 * the vCPU (ember.setup_us after its start); on a nested hypervisor that does not offset
 * the TSC (PVM), the guest reads the host's TSC, which ember sampled at its start
 * (ember.start_tsc). A reading within a minute after start_tsc means the latter.
 */
static uint64_t since_ember_start_us(uint64_t tsc, uint64_t khz, bool have_start,
				     uint64_t start_tsc, uint64_t setup_us)
{
	if (have_start && tsc >= start_tsc && gm_tsc_to_us(tsc - start_tsc, khz) < 60000000ULL)
		return gm_tsc_to_us(tsc - start_tsc, khz);
	return setup_us + gm_tsc_to_us(tsc, khz);
}

static void print_boot_timings(const struct gm_ctx *c, uint64_t greet_tsc)
{
	uint64_t khz = 0, setup_us = 0, start_tsc = 0;
	bool have_khz, have_setup, have_start;

	have_khz = gm_parse_u64(gm_param(c, "ember.tsc_khz"), UINT32_MAX, &khz) &&
		   khz != 0;
	have_setup = gm_parse_u64(gm_param(c, "ember.setup_us"), UINT64_MAX,
				  &setup_us);
	have_start = gm_parse_u64(gm_param(c, "ember.start_tsc"), UINT64_MAX,
				  &start_tsc);

	if (!have_khz || !have_setup) {
		gm_printf("guest-min: boot timings: entry at tsc %llu, greeting at "
			  "tsc %llu (tsc frequency unknown)\n",
			  (unsigned long long)gm_entry_tsc,
			  (unsigned long long)greet_tsc);
		return;
	}
	gm_printf("guest-min: boot timings: monitor setup %llu us, guest entry +%llu us, "
		  "greeting +%llu us after ember started (tsc %llu kHz)\n",
		  (unsigned long long)setup_us,
		  (unsigned long long)since_ember_start_us(gm_entry_tsc, khz, have_start,
							    start_tsc, setup_us),
		  (unsigned long long)since_ember_start_us(greet_tsc, khz, have_start,
							    start_tsc, setup_us),
		  (unsigned long long)khz);
}

static int prog_hello(const struct gm_ctx *c)
{
	uint64_t greet_tsc = gm_rdtsc();

	gm_puts("Hello from guest-min\n");
	print_boot_timings(c, greet_tsc);
	return 0;
}

static int prog_echo(const struct gm_ctx *c)
{
	gm_printf("cmdline: %s\n", c->cmdline);
	return 0;
}

static int prog_exit(const struct gm_ctx *c)
{
	uint64_t status;

	if (c->argc < 2 || !gm_parse_u64(c->argv[1], 255, &status)) {
		gm_printf("guest-min: exit: need a status 0-255, got '%s'\n",
			  c->argc < 2 ? "" : c->argv[1]);
		return 2;
	}
	return (int)status;
}

/* Reads one line from the serial port and prints it back: the input path. */
static int prog_read(const struct gm_ctx *c)
{
	static char line[256];
	uint64_t deadline = gm_rdtsc() + gm_ms_to_tsc(c, 30000);
	size_t n = 0;

	for (;;) {
		int ch = gm_getc_until(deadline);

		if (ch < 0) {
			gm_puts("guest-min: read: no input\n");
			return 3;
		}
		if (ch == '\n' || ch == '\r')
			break;
		if (n < sizeof(line) - 1)
			line[n++] = (char)ch;
	}
	line[n] = 0;
	gm_printf("read: %s\n", line);
	return 0;
}

/* Pulses the i8042 reset line, as Linux's reboot=k does; the monitor should end. */
static int prog_reboot(const struct gm_ctx *c)
{
	(void)c;
	outb(0x64, 0xfe);
	gm_puts("guest-min: reboot: still running after the reset pulse\n");
	return 3;
}

/* Writes one byte to an I/O port: pokes a device (ember-test's seccomp trigger). */
static int prog_outb(const struct gm_ctx *c)
{
	uint64_t port, value;

	if (c->argc < 3 || !gm_parse_u64(c->argv[1], 0xffff, &port) ||
	    !gm_parse_u64(c->argv[2], 255, &value)) {
		gm_puts("guest-min: outb: need a port (0-65535) and a value (0-255)\n");
		return 2;
	}
	outb((uint16_t)port, (uint8_t)value);
	gm_puts("outb: still running after the write\n");
	return 0;
}

/* A number as "0x..." or decimal, up to max (gm_parse_size takes both). */
static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
	return gm_parse_size(s, gm_strlen(s), out) && *out <= max;
}

/*
 * cpuid LEAF[.SUBLEAF]...: what the CPU tells the guest, one line per leaf, as
 * "cpuid 0x1.0x0: eax=0x... ebx=0x... ecx=0x... edx=0x..." (CPU templates).
 */
static int prog_cpuid(const struct gm_ctx *c)
{
	for (int i = 1; i < c->argc; i++) {
		const char *arg = c->argv[i];
		size_t len = gm_strlen(arg), dot = 0;
		uint64_t leaf, sub = 0;
		uint32_t a, b, cc, d;

		while (dot < len && arg[dot] != '.')
			dot++;
		if (!gm_parse_size(arg, dot, &leaf) || leaf > UINT32_MAX ||
		    (dot < len && (!gm_parse_size(arg + dot + 1, len - dot - 1, &sub) ||
				   sub > UINT32_MAX))) {
			gm_printf("guest-min: cpuid: '%s' is not LEAF[.SUBLEAF]\n", c->argv[i]);
			return 2;
		}
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d)
				 : "a"((uint32_t)leaf), "c"((uint32_t)sub));
		gm_printf("cpuid 0x%llx.0x%llx: eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x\n",
			  (unsigned long long)leaf, (unsigned long long)sub, a, b, cc, d);
	}
	return 0;
}

/* rdmsr ADDR...: "rdmsr 0x...: 0x..." each (an MSR KVM does not have faults the guest). */
static int prog_rdmsr(const struct gm_ctx *c)
{
	for (int i = 1; i < c->argc; i++) {
		uint64_t addr;
		uint32_t lo, hi;

		if (!parse_num(c->argv[i], UINT32_MAX, &addr)) {
			gm_printf("guest-min: rdmsr: '%s' is not an MSR number\n", c->argv[i]);
			return 2;
		}
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((uint32_t)addr));
		gm_printf("rdmsr 0x%llx: 0x%llx\n", (unsigned long long)addr,
			  ((unsigned long long)hi << 32) | lo);
	}
	return 0;
}

/*
 * Firecracker's boot-timer device: the byte 123 at its first byte says "booted".
 * Written before the program runs, so the monitor's timing covers guest-min's
 * boot only. Nothing listens there without the monitor's boot timer (ember
 * without --boot-timer, QEMU): the write then goes nowhere, which cannot fault.
 */
#define BOOT_TIMER_ADDR  0xc0000000ULL
#define BOOT_TIMER_MAGIC 123

static void signal_boot_timer(const struct gm_ctx *c)
{
	if (!c->boot_timer && !gm_param_bool(c, "gm.boot_timer"))
		return;
	if (!gm_range_mapped(BOOT_TIMER_ADDR, 1)) {
		gm_puts("guest-min: boot timer page not mapped, not written\n");
		return;
	}
	*(volatile uint8_t *)BOOT_TIMER_ADDR = BOOT_TIMER_MAGIC;
}

/*
 * touch MIB: writes one byte in each 4 KiB page of MIB MiB of free RAM (at most what
 * is left), so that every page is faulted in on the host: what huge pages save
 * (perf/huge_pages_bench.sh). Prints "touch: N MiB in P pages".
 */
static int prog_touch(const struct gm_ctx *c)
{
	uint64_t mib;
	if (c->argc != 2 || !gm_parse_size(c->argv[1], gm_strlen(c->argv[1]), &mib)) {
		gm_printf("guest-min: touch: usage: touch MIB\n");
		return 2;
	}
	uint64_t left = gm_alloc_left(4096) >> 20;
	if (mib > left)
		mib = left;
	volatile uint8_t *p = gm_alloc(mib << 20, 4096);
	uint64_t pages = (mib << 20) >> 12;
	for (uint64_t i = 0; p && i < pages; i++)
		p[i << 12] = 1;
	gm_printf("touch: %llu MiB in %llu pages\n", (unsigned long long)mib,
		  (unsigned long long)(p ? pages : 0));
	return 0;
}

/* One line per program. */
static const struct gm_program programs[] = {
	{ "hello", prog_hello },
	{ "echo",  prog_echo },
	{ "exit",  prog_exit },
	{ "read",  prog_read },
	{ "reboot", prog_reboot },
	{ "outb", prog_outb },
	{ "idle", prog_idle },
	{ "cpuid", prog_cpuid },
	{ "rdmsr", prog_rdmsr },
	{ "touch", prog_touch },
	{ "blk", prog_blk },
	{ "net", prog_net },
	{ "hostile-loop", prog_hostile_loop },
	{ "hostile-oob", prog_hostile_oob },
	{ "hostile-wrap", prog_hostile_wrap },
	{ "hostile-index", prog_hostile_index },
	{ "hostile-notify", prog_hostile_notify },
	{ "hostile-config", prog_hostile_config },
	{ "hostile-reset", prog_hostile_reset },
	{ "hostile-indirect", prog_hostile_indirect },
	{ "hostile-net", prog_hostile_net },
};

void gm_main(const char *cmdline, enum gm_boot how)
{
	const char *name;

	ctx.boot = how;
	parse_cmdline(&ctx, cmdline);
	signal_boot_timer(&ctx);
	name = ctx.argc > 0 ? ctx.argv[0] : "hello";

	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (gm_streq(programs[i].name, name))
			gm_exit((uint8_t)programs[i].run(&ctx));

	gm_printf("guest-min: unknown program '%s'\n", name);
	gm_exit(2);
}
