/*
 * libFuzzer target over the guest boundary: ring and descriptor bytes a hostile guest
 * writes -> the virtqueue walk (virtio/virtq.c) -> virtio-blk's request decode and
 * its sync engine (virtio/blk.c, a memfd disk) or virtio-net's transmit and receive
 * paths (virtio/net.c, on a fake TAP: an AF_UNIX datagram socketpair, which keeps frame
 * boundaries as a TAP does). The real devices run on a vm without KVM
 * (tests/fake_vm.h), driven through their register window as in the unit tests.
 *
 * Guest RAM is 64 KiB in two regions with a gap between them, like the RAM below and
 * above the MMIO gap of a guest over 3 GiB, shrunk: guest-physical 0x0-0x7fff and
 * 0x1_0000_0000-0x1_0000_7fff, one host mapping with a PROT_NONE page on either side. Below, an "offset" is a u16 into that 64 KiB
 * seen as one image: offsets 0x8000-0xffff are the second region.
 *
 * Input (little-endian; bytes missing at the end read as 0):
 *   byte 0     flags
 *                bit 0  device: 0 virtio-blk (queue 0), 1 virtio-net (0 RX, 1 TX)
 *                bit 1  negotiate VIRTIO_RING_F_EVENT_IDX
 *                bit 2  negotiate VIRTIO_RING_F_INDIRECT_DESC
 *                bit 3  blk: read-only drive        net: negotiate MRG_RXBUF
 *                bit 4  blk: cache=Unsafe (no FLUSH) net: no MAC configured
 *                bit 5  rate limit: 2 requests (frames) per 100 s
 *   byte 1     QueueNum for every queue (0 means 256; the transport refuses what is
 *              not a power of two)
 *   bytes 2-13 ring offsets, u16 each: queue 0 desc, avail, used; queue 1 desc, avail,
 *              used (blk has no queue 1)
 *   then records until the input ends, the first byte's low 2 bits saying which:
 *     0 WRITE  u16 offset, u16 len, len bytes: copied into RAM (clipped at its end)
 *     1 KICK   u8 queue: QueueNotify (any value; the transport ignores missing
 *              queues), then the notify handler and whatever else is ready
 *     2 FRAME  u16 len, len bytes: one frame on the fake TAP for the guest to receive
 *              (net; ignored by blk), then the TAP's handler
 *     3 RESET  device reset (Status 0), then negotiation and queue setup again
 *   At the end every queue is kicked once more.
 * The device comes up before the first record (DRIVER_OK looks at the zeroed rings);
 * RAM starts zeroed and the 32 KiB disk starts with the same pattern every run.
 *
 * Checked besides ASan/UBSan and libFuzzer's leak, timeout and crash detection
 * (through -Wl,--wrap, see the Makefile):
 *   - guest_mem_at returns exactly what the region table says: never a pointer for a
 *     range that leaves a region (past the end, across the gap, wrapping);
 *   - every chain virtq_pop_chain hands a device lies in guest RAM, its lengths add up,
 *     its head is inside the ring; a -1 comes with the queue broken;
 *   - a device completes only chains it took and did not give back, and never says it
 *     wrote more than the chain's writable bytes;
 *   - every step (a kick, a frame, a reset) changes guest RAM only inside the writable
 *     buffers of chains the device took and in its used rings; what it hands to
 *     preadv/pread lies in such writable buffers, to pwritev/pwrite/writev in readable
 *     ones;
 *   - each frame on the TAP is a header and 1..65550 bytes; the disk never grows.
 *
 * FUZZ_VIRTIO_LOG=1 in the environment shows the devices' log lines (off otherwise),
 * each completion and how each queue ended: `FUZZ_VIRTIO_LOG=1 build/fuzz/fuzz_virtio
 * FILE` tells what a seed or a finding does.
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../virtio/blk.h"
#include "../../virtio/net.h"
#include "../fake_vm.h"

#define RAM_BYTES 0x10000ULL
#define REGION_BYTES 0x8000ULL
#define HIGH_GPA 0x100000000ULL
#define PAGE 4096ULL
#define DISK_BYTES (32 * 1024)
#define NET_HDR 12
#define NET_MAX_FRAME 65550
#define MAX_PENDING 1024

/* A broken rule: the input is a finding (libFuzzer saves it as crash-*). */
#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_virtio: %s:%d: check failed: %s\n",    \
				__FILE__, __LINE__, #cond);                           \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* ---- the machine: built once, guest RAM and disk reset for every input */

static struct vm vm;
static struct virtio_registry reg; /* the one device of the input */
static uint8_t *ram; /* the 64 KiB image; vm.mem's two regions point into it */
static int disk_fd = -1;
static char disk_path[64];
static uint8_t disk_pattern[DISK_BYTES];
static struct virtio_mmio *cur; /* the device of the input being run */
static bool verbose;            /* FUZZ_VIRTIO_LOG=1 */

/* Offset in the image -> guest-physical address. */
static uint64_t image_gpa(uint16_t off)
{
	return off < REGION_BYTES ? off : HIGH_GPA + (off - REGION_BYTES);
}

static void ram_create(void)
{
	uint8_t *p = mmap(NULL, RAM_BYTES + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
	CHECK(p != MAP_FAILED);
	ram = p + PAGE;
	CHECK(mprotect(ram, RAM_BYTES, PROT_READ | PROT_WRITE) == 0);
	vm.mem = (struct guest_mem){
		.host = ram,
		.size = RAM_BYTES,
		.nregions = 2,
		.regions = { { 0, REGION_BYTES, ram },
			     { HIGH_GPA, REGION_BYTES, ram + REGION_BYTES } },
	};
}

static void disk_create(void)
{
	disk_fd = memfd_create("fuzz-virtio-disk", MFD_CLOEXEC);
	CHECK(disk_fd >= 0);
	for (size_t i = 0; i < sizeof(disk_pattern); i++)
		disk_pattern[i] = (uint8_t)(i * 31 + (i >> 9));
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", disk_fd);
}

ssize_t __real_pwrite(int fd, const void *buf, size_t len, off_t at);

static void disk_reset(void)
{
	CHECK(ftruncate(disk_fd, DISK_BYTES) == 0);
	CHECK(__real_pwrite(disk_fd, disk_pattern, DISK_BYTES, 0) == DISK_BYTES);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *show = getenv("FUZZ_VIRTIO_LOG");
	verbose = show && *show == '1';
	if (verbose)
		log_init(2, LOG_DEBUG, "fuzz");
	else
		log_init(2, LOG_OFF, "fuzz");
	ram_create();
	disk_create();
	return 0;
}

/* ---- checks on guest memory */

/* The region [gpa, gpa + len) lies in, from the table: NULL if none holds all of it. */
static uint8_t *expected_host(uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm.mem.nregions; i++) {
		const struct guest_mem_region *r = &vm.mem.regions[i];
		if (len && gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

/* [p, p + len) is inside one region of guest RAM (len 0: p anywhere in RAM). */
static bool in_ram(const void *p, size_t len)
{
	const uint8_t *b = p;
	for (unsigned i = 0; i < vm.mem.nregions; i++) {
		const struct guest_mem_region *r = &vm.mem.regions[i];
		if (b >= r->host && b <= r->host + r->size && len <= (size_t)(r->host + r->size - b))
			return true;
	}
	return false;
}

/*
 * What the device may touch in this input: the buffers of the chains it took, writable
 * or readable as their descriptors said, and the used rings. A step (a kick, a frame,
 * a reset) may change no other byte of guest RAM.
 */
static uint8_t may_write[RAM_BYTES], may_read[RAM_BYTES], before[RAM_BYTES];

static size_t image_off(const void *p)
{
	return (size_t)((const uint8_t *)p - ram);
}

static void allow(uint8_t *map, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		memset(map + image_off(iov[i].iov_base), 1, iov[i].iov_len);
}

static bool allowed(const uint8_t *map, const void *p, size_t len)
{
	return in_ram(p, len) && !memchr(map + image_off(p), 0, len);
}

/* The device writes to its used rings (elements, idx and avail_event). */
static void allow_used_rings(void)
{
	for (unsigned q = 0; cur && q < cur->ops->num_queues; q++)
		if (cur->queues[q].enabled)
			memset(may_write + image_off(cur->queues[q].used), 1,
			       6 + 8 * (size_t)cur->queues[q].size);
}

static void step_begin(void)
{
	allow_used_rings();
	memcpy(before, ram, RAM_BYTES);
}

static void step_end(void)
{
	allow_used_rings();
	for (size_t at = 0; at < RAM_BYTES; at += 256) {
		if (memcmp(before + at, ram + at, 256) == 0)
			continue;
		for (size_t i = at; i < at + 256; i++) {
			if (before[i] != ram[i] && !may_write[i]) {
				fprintf(stderr, "fuzz_virtio: the device wrote image offset 0x%zx, "
						"in no buffer it was given\n", i);
				CHECK(!"a write outside the device's buffers");
			}
		}
	}
}

static void check_iov(const uint8_t *map, const struct iovec *iov, int n)
{
	CHECK(n >= 0);
	for (int i = 0; i < n; i++)
		CHECK(allowed(map, iov[i].iov_base, iov[i].iov_len));
}

void *__real_guest_mem_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
void *__wrap_guest_mem_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
void *__wrap_guest_mem_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	void *p = __real_guest_mem_at(gm, gpa, len);
	CHECK(gm == &vm.mem);
	CHECK(p == expected_host(gpa, len));
	return p;
}

/* ---- chains taken and completed, per queue of the current device */

static struct pending {
	unsigned n;
	struct {
		uint16_t head;
		uint64_t in_len;
	} c[MAX_PENDING];
} pending[VIRTIO_MAX_QUEUES];

static struct pending *pending_of(const struct virtq *q)
{
	CHECK(cur && q >= cur->queues && q < cur->queues + VIRTIO_MAX_QUEUES);
	return &pending[q - cur->queues];
}

int __real_virtq_pop_chain(struct virtq *q, struct virtq_chain *c);
int __wrap_virtq_pop_chain(struct virtq *q, struct virtq_chain *c);
int __wrap_virtq_pop_chain(struct virtq *q, struct virtq_chain *c)
{
	int got = __real_virtq_pop_chain(q, c);
	CHECK(got >= -1 && got <= 1);
	if (got < 0)
		CHECK(q->broken && q->error);
	if (got != 1)
		return got;
	CHECK(q->enabled && c->head < q->size);
	CHECK(c->nout + c->nin <= VIRTQ_MAX_CHAIN);
	uint64_t out = 0, in = 0;
	for (unsigned i = 0; i < c->nout + c->nin; i++) {
		CHECK(c->iov[i].iov_len > 0 && in_ram(c->iov[i].iov_base, c->iov[i].iov_len));
		*(i < c->nout ? &out : &in) += c->iov[i].iov_len;
	}
	CHECK(out == c->out_len && in == c->in_len);
	allow(may_read, c->iov, c->nout);
	allow(may_write, c->iov + c->nout, c->nin);
	struct pending *p = pending_of(q);
	CHECK(p->n < MAX_PENDING); /* chains taken and never completed */
	p->c[p->n].head = c->head;
	p->c[p->n].in_len = c->in_len;
	p->n++;
	return got;
}

void __real_virtq_unpop(struct virtq *q);
void __wrap_virtq_unpop(struct virtq *q);
void __wrap_virtq_unpop(struct virtq *q)
{
	struct pending *p = pending_of(q);
	CHECK(p->n > 0); /* gives back a chain it never took */
	p->n--;
	__real_virtq_unpop(q);
}

/* head, completed with len bytes written, was taken and is not completed yet. */
static void check_completion(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->enabled)
		return; /* after a reset: the transport drops it */
	struct pending *p = pending_of(q);
	if (verbose)
		fprintf(stderr, "fuzz_virtio: queue %u: head %u completed, %u bytes written\n",
			(unsigned)(q - cur->queues), head, len);
	for (unsigned i = 0; i < p->n; i++) {
		if (p->c[i].head == head && len <= p->c[i].in_len) {
			p->c[i] = p->c[--p->n];
			return;
		}
	}
	CHECK(!"a completion of a chain not taken, or longer than its writable part");
}

void __real_virtq_fill_used(struct virtq *q, uint16_t head, uint32_t len);
void __wrap_virtq_fill_used(struct virtq *q, uint16_t head, uint32_t len);
void __wrap_virtq_fill_used(struct virtq *q, uint16_t head, uint32_t len)
{
	check_completion(q, head, len);
	__real_virtq_fill_used(q, head, len);
}

void __real_virtq_push_used(struct virtq *q, uint16_t head, uint32_t len);
void __wrap_virtq_push_used(struct virtq *q, uint16_t head, uint32_t len);
void __wrap_virtq_push_used(struct virtq *q, uint16_t head, uint32_t len)
{
	check_completion(q, head, len);
	__real_virtq_push_used(q, head, len);
}

void __real_virtq_reset(struct virtq *q);
void __wrap_virtq_reset(struct virtq *q);
void __wrap_virtq_reset(struct virtq *q)
{
	if (cur)
		pending_of(q)->n = 0;
	__real_virtq_reset(q);
}

/* ---- the host side of the devices' I/O: only the buffers the guest gave them */

ssize_t __real_preadv(int fd, const struct iovec *iov, int n, off_t at);
ssize_t __wrap_preadv(int fd, const struct iovec *iov, int n, off_t at);
ssize_t __wrap_preadv(int fd, const struct iovec *iov, int n, off_t at)
{
	check_iov(may_write, iov, n);
	return __real_preadv(fd, iov, n, at);
}

ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t at);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t at);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t at)
{
	check_iov(may_read, iov, n);
	return __real_pwritev(fd, iov, n, at);
}

ssize_t __real_pread(int fd, void *buf, size_t len, off_t at);
ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t at);
ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t at)
{
	CHECK(allowed(may_write, buf, len));
	return __real_pread(fd, buf, len, at);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t at);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t at)
{
	CHECK(allowed(may_read, buf, len));
	return __real_pwrite(fd, buf, len, at);
}

ssize_t __real_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n)
{
	check_iov(may_read, iov, n);
	return __real_writev(fd, iov, n);
}

/*
 * Large blocks (virtio-blk's request pool: 256 requests, 2 MiB; struct virtio_net with
 * its 64 KiB frame buffer) are kept for the next run instead of going back to ASan,
 * which quarantines or unmaps them: faulting fresh pages into every run took 90% of
 * the time (100 runs/s). A kept block is zeroed again as calloc would; a double free of
 * one is still caught, a use after free is not.
 */
#define KEEP_MIN (64u << 10)
static struct kept {
	void *p;
	size_t size;
	bool used;
} kept[4];

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total) || total < KEEP_MIN)
		return __real_calloc(n, size);
	struct kept *room = NULL;
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		if (kept[i].p && !kept[i].used && kept[i].size == total) {
			kept[i].used = true;
			return memset(kept[i].p, 0, total);
		}
		if (!kept[i].p && !room)
			room = &kept[i];
	}
	void *p = __real_calloc(n, size);
	if (p && room)
		*room = (struct kept){ p, total, true };
	return p;
}

void __real_free(void *p);
void __wrap_free(void *p);
void __wrap_free(void *p)
{
	for (unsigned i = 0; p && i < sizeof(kept) / sizeof(kept[0]); i++) {
		if (kept[i].p == p) {
			CHECK(kept[i].used); /* freed twice */
			kept[i].used = false;
			return;
		}
	}
	__real_free(p);
}

/* ---- the fake TAP: net.c opens /dev/net/tun and sets it up with three ioctls */

static int tap_fd = -1, tap_peer = -1;

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
	if (strcmp(path, "/dev/net/tun") == 0) {
		int sv[2];
		CHECK(tap_fd < 0);
		CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
		tap_fd = sv[0];
		tap_peer = sv[1];
		return tap_fd;
	}
	va_list ap;
	va_start(ap, flags);
	int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
	va_end(ap);
	return __real_open(path, flags, mode);
}

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd == tap_fd) {
		CHECK(req == TUNSETIFF || req == TUNSETVNETHDRSZ || req == TUNSETOFFLOAD);
		return 0;
	}
	return __real_ioctl(fd, req, arg);
}

/* Reads back what the device sent: each one frame of a header and 1..65550 bytes. */
static void tap_drain(void)
{
	static uint8_t frame[NET_HDR + NET_MAX_FRAME + 1];
	if (tap_peer < 0)
		return;
	ssize_t n;
	while ((n = recv(tap_peer, frame, sizeof(frame), MSG_TRUNC)) >= 0)
		CHECK(n > NET_HDR && n <= NET_HDR + NET_MAX_FRAME);
}

/* ---- one input */

struct input {
	const uint8_t *p;
	size_t len, off;
};

static uint8_t take8(struct input *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static uint16_t take16(struct input *in)
{
	uint16_t lo = take8(in);
	return (uint16_t)(lo | take8(in) << 8);
}

/* Up to want bytes of the input, no further than its end; *got says how many. */
static const uint8_t *take_bytes(struct input *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p + in->off;
	*got = want < in->len - in->off ? want : in->len - in->off;
	in->off += *got;
	return p;
}

#define F_NET 0x01
#define F_EVENT_IDX 0x02
#define F_INDIRECT 0x04
#define F_RO_OR_MRG 0x08
#define F_UNSAFE_OR_NO_MAC 0x10
#define F_RATE_LIMIT 0x20

#define NET_F_MRG_RXBUF 15
#define ALL_BUT_RING_FEATURES \
	(~0ULL & ~(1ULL << VIRTIO_RING_F_EVENT_IDX) & ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC))

struct setup {
	uint8_t flags;
	uint32_t qsize;
	uint16_t ring[VIRTIO_MAX_QUEUES][3];
};

static const struct rate_limiter_config slow = { .ops = { .size = 2, .refill_time_ms = 100000 } };

static void device_create(const struct setup *s)
{
	struct errbuf e = { "" };
	struct virtio_net *iface; /* the fuzzer needs no handle: the transport frees both */
	struct virtio_blk *drive;
	int r;
	if (s->flags & F_NET) {
		struct net_config c = { .has_mac = !(s->flags & F_UNSAFE_OR_NO_MAC),
					.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };
		snprintf(c.id, sizeof(c.id), "fuzz");
		snprintf(c.tap, sizeof(c.tap), "fuzztap");
		if (s->flags & F_RATE_LIMIT)
			c.rx = c.tx = slow;
		r = virtio_net_create(&vm.host, &reg, &c, &iface, &e);
	} else {
		struct drive_config d = {
			.path = disk_path,
			.read_only = s->flags & F_RO_OR_MRG,
			.engine = DRIVE_ENGINE_SYNC,
			.cache = s->flags & F_UNSAFE_OR_NO_MAC ? DRIVE_CACHE_UNSAFE :
								 DRIVE_CACHE_WRITEBACK,
		};
		snprintf(d.id, sizeof(d.id), "fuzz");
		if (s->flags & F_RATE_LIMIT)
			d.rate_limiter = slow;
		r = virtio_blk_create(&vm.host, &reg, &d, &drive, &e);
	}
	if (r < 0) {
		fprintf(stderr, "fuzz_virtio: cannot create the device: %s\n", e.msg);
		abort();
	}
	cur = reg.t[0];
}

/* Negotiation, queue setup and DRIVER_OK, as the flags and ring offsets say. */
static void device_up(const struct setup *s)
{
	uint64_t want = ALL_BUT_RING_FEATURES;
	if (s->flags & F_EVENT_IDX)
		want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (s->flags & F_INDIRECT)
		want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if ((s->flags & F_NET) && !(s->flags & F_RO_OR_MRG))
		want &= ~(1ULL << NET_F_MRG_RXBUF);
	bool ok = fake_virtio_negotiate(cur, want);
	CHECK(ok);
	for (unsigned q = 0; q < cur->ops->num_queues; q++)
		fake_virtio_queue(cur, q, s->qsize, image_gpa(s->ring[q][0]),
				  image_gpa(s->ring[q][1]), image_gpa(s->ring[q][2]));
	fake_virtio_driver_ok(cur);
	tap_drain();
}

/* Runs what the event thread would find ready (the TAP, timers), then reads the TAP. */
static void settle(void)
{
	int rounds = 0;
	while (fake_vm_poll(&vm, 0) > 0)
		CHECK(++rounds < 1000); /* a handler that leaves its fd ready: the loop spins */
	tap_drain();
}

/* A kick of q, as a step: the handler and whatever else it made ready. */
static void kick_step(uint8_t q)
{
	step_begin();
	fake_virtio_kick(cur, q);
	settle();
	step_end();
}

static void up_step(const struct setup *s)
{
	step_begin();
	device_up(s);
	step_end();
}

static void run_records(struct input *in, const struct setup *s)
{
	while (in->off < in->len) {
		uint8_t op = take8(in) & 3;
		if (op == 0) {
			uint16_t off = take16(in), want = take16(in);
			size_t got;
			const uint8_t *b = take_bytes(in, want, &got);
			if (got > RAM_BYTES - off)
				got = RAM_BYTES - off;
			memcpy(ram + off, b, got);
		} else if (op == 1) {
			kick_step(take8(in));
		} else if (op == 2) {
			uint16_t want = take16(in);
			size_t got;
			const uint8_t *b = take_bytes(in, want, &got);
			step_begin();
			if (tap_peer >= 0 && got)
				(void)send(tap_peer, b, got, MSG_DONTWAIT);
			settle();
			step_end();
		} else {
			up_step(s);
		}
	}
	for (unsigned q = 0; q < cur->ops->num_queues; q++)
		kick_step((uint8_t)q);
}

/* FUZZ_VIRTIO_LOG=1: how the device and each queue ended. */
static void report(void)
{
	fprintf(stderr, "fuzz_virtio: status 0x%x\n", fake_virtio_rd(cur, VIRTIO_MMIO_STATUS));
	for (unsigned q = 0; q < cur->ops->num_queues; q++) {
		const struct virtq *vq = &cur->queues[q];
		fprintf(stderr, "fuzz_virtio: queue %u: %s, %u taken, used idx %u%s%s\n", q,
			vq->enabled ? "enabled" : "not enabled", vq->last_avail, vq->used_idx,
			vq->broken ? ", broken: " : "", vq->broken ? vq->error : "");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size, 0 };
	struct setup s = { .flags = take8(&in) };
	uint8_t qsize = take8(&in);
	s.qsize = qsize ? qsize : 256;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		for (unsigned k = 0; k < 3; k++)
			s.ring[q][k] = take16(&in);

	memset(ram, 0, RAM_BYTES);
	disk_reset();
	struct errbuf e = { "" };
	if (fake_vm_init(&vm, &e) < 0) {
		fprintf(stderr, "fuzz_virtio: %s\n", e.msg);
		abort();
	}
	memset(pending, 0, sizeof(pending));
	memset(may_write, 0, sizeof(may_write));
	memset(may_read, 0, sizeof(may_read));
	device_create(&s);
	up_step(&s);
	run_records(&in, &s);

	if (verbose)
		report();
	struct stat st;
	CHECK(fstat(disk_fd, &st) == 0 && st.st_size == DISK_BYTES);
	fake_vm_destroy(&vm, &reg); /* closes the TAP end the device holds */
	cur = NULL;
	if (tap_peer >= 0)
		close(tap_peer);
	tap_fd = tap_peer = -1;
	return 0;
}
