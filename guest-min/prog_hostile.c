/*
 * hostile-*: programs that each attack one thing in the monitor's virtio
 * device, then prove the monitor survived.
 *
 * Each program has one or more cases (hostile-X CASE runs one, no argument
 * runs them all).  A case initialises the first virtio-blk device, does its
 * attack, and watches for up to hostile.wait_ms (1000) what the device does:
 *   "device needs reset"   Status has DEVICE_NEEDS_RESET (0x40): what the
 *                          virtio spec asks for a malformed ring, and what
 *                          ember implements;
 *   "device failed the request (status N)"  the chain came back with an error;
 *   "no reaction"          neither within the wait;
 *   "device completed the bad chain with status OK": wrong, the case fails.
 * The notify and config attacks expect no reset: they print "device still
 * working" after a good request on the same, untouched device.  Then every
 * case resets the device (Status = 0, waits for 0), initialises it again and
 * writes and reads back one 4 KiB block at sector 8.  When all cases pass:
 * "hostile-X: ember alive", exit 0; otherwise the reason and exit 1.
 *
 * Raw descriptors are written straight into the ring (guest-min's own free
 * list is thrown away by the reset that follows every case).
 */
#include "virtio.h"

#define ALIVE_SECTOR  8
#define ALIVE_LEN     4096u
#define OOB_ADDR      0x7ffff0000000ULL /* far beyond any guest RAM */
#define GAP_ADDR      0xfffff000ULL     /* last page below 4 GiB: MMIO gap */
#define RESET_REQS    32
#define RESET_REQ_LEN (1u << 20)
#define CANARY        0x7972616e61632d67ULL /* "g-canary" */

struct hostile {
	const struct gm_ctx *ctx;
	const char *prog;      /* "hostile-loop" */
	const char *cs;        /* current case */
	uint64_t extra;        /* extra features (INDIRECT_DESC) */
	uint64_t wait_ms;
	struct gm_blk *blk;
	uint8_t *buf;          /* 2 x ALIVE_LEN, then scratch (indirect tables) */
	uint8_t *big;          /* hostile-reset: RESET_REQS x RESET_REQ_LEN */
	bool skipped;          /* the case had nothing to attack */
};

struct hcase {
	const char *name;
	bool (*attack)(struct hostile *h); /* false: the case failed (message printed) */
	bool expect_reset;
};

static void desc(struct hostile *h, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	volatile struct virtq_desc *d = &h->blk->vq.desc[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* A T_IN header of sector 0 in slot 0 and its status byte: what raw chains point at. */
static uint64_t hdr0(struct hostile *h)
{
	h->blk->req->hdr[0].type = VIRTIO_BLK_T_IN;
	h->blk->req->hdr[0].reserved = 0;
	h->blk->req->hdr[0].sector = 0;
	h->blk->req->status[0] = 0xff;
	return (uint64_t)(uintptr_t)&h->blk->req->hdr[0];
}

static uint64_t status0(struct hostile *h)
{
	return (uint64_t)(uintptr_t)&h->blk->req->status[0];
}

static uint64_t scratch(struct hostile *h)
{
	return (uint64_t)(uintptr_t)(h->buf + 2 * ALIVE_LEN);
}

static void publish_kick(struct hostile *h, uint16_t head)
{
	gm_vq_publish_raw(&h->blk->vq, head);
	gm_vq_kick(&h->blk->vq);
}

/* header -> data -> status, with the data descriptor given. */
static void bad_data(struct hostile *h, uint64_t addr, uint32_t len)
{
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(h, 1, addr, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(h, 2, status0(h), 1, VIRTQ_DESC_F_WRITE, 0);
	publish_kick(h, 0);
}

static void spin_us(const struct gm_ctx *ctx, uint64_t us)
{
	uint64_t end = gm_rdtsc() + gm_ms_to_tsc(ctx, 1) * us / 1000;

	while (gm_rdtsc() < end)
		;
}

/* One 4 KiB block written at sector 8 and read back equal; false (and why) otherwise. */
static bool good_io(struct hostile *h, const char *when)
{
	uint64_t *w = (uint64_t *)h->buf, *r = (uint64_t *)(h->buf + ALIVE_LEN);
	uint64_t stamp = gm_rdtsc();
	int st;

	gm_fill64(w, stamp, ALIVE_LEN / 8);
	w[0] = 0x6576696c612d6d67ULL; /* "gm-alive" */
	gm_fill64(r, 0, ALIVE_LEN / 8);
	st = gm_blk_sync(h->ctx, h->blk, VIRTIO_BLK_T_OUT, ALIVE_SECTOR, w, ALIVE_LEN, 5000);
	if (st == VIRTIO_BLK_S_OK)
		st = gm_blk_sync(h->ctx, h->blk, VIRTIO_BLK_T_IN, ALIVE_SECTOR, r, ALIVE_LEN,
				 5000);
	if (st != VIRTIO_BLK_S_OK) {
		uint32_t ds = gm_virtio_status(&h->blk->dev);

		gm_printf("%s: %s: good request %s failed (%s, device status 0x%x %s)\n",
			  h->prog, h->cs, when, st < 0 ? "no completion" : "error status", ds,
			  gm_virtio_status_str(ds));
		return false;
	}
	if (gm_cmp64(w, r, ALIVE_LEN / 8) != ALIVE_LEN / 8) {
		gm_printf("%s: %s: good request %s read back different data\n", h->prog, h->cs,
			  when);
		return false;
	}
	return true;
}

/*
 * After a ring attack: wait for NEEDS_RESET or a completion.  False only
 * when the device completed the bad chain as if it were fine.
 */
static bool watch(struct hostile *h)
{
	uint64_t deadline = gm_rdtsc() + gm_ms_to_tsc(h->ctx, h->wait_ms);
	uint16_t used0 = h->blk->vq.last_used;
	uint32_t st;

	for (;;) {
		bool used = gm_vq_used_idx(&h->blk->vq) != used0;

		st = gm_virtio_status(&h->blk->dev);
		if (used) {
			uint32_t id = h->blk->vq.used->ring[used0 & (h->blk->vq.size - 1)].id;
			uint8_t bs = id == 0 ? h->blk->req->status[0] : 0xff;

			if (bs == VIRTIO_BLK_S_OK) {
				gm_printf("%s: %s: device completed the bad chain with status "
					  "OK (id %u, len %u, status 0x%x %s)\n", h->prog, h->cs, id,
					  h->blk->vq.used->ring[used0 & (h->blk->vq.size - 1)].len,
					  st, gm_virtio_status_str(st));
				return false;
			}
			if (bs == 0xff)
				gm_printf("%s: %s: device returned the chain (id %u) without "
					  "writing its status byte%s\n", h->prog, h->cs, id,
					  st & VIRTIO_S_NEEDS_RESET ? ", device needs reset" : "");
			else
				gm_printf("%s: %s: device failed the request (id %u, status "
					  "%u)%s\n", h->prog, h->cs, id, bs,
					  st & VIRTIO_S_NEEDS_RESET ? ", device needs reset" : "");
			return true;
		}
		if (st & VIRTIO_S_NEEDS_RESET) {
			gm_printf("%s: %s: device needs reset\n", h->prog, h->cs);
			return true;
		}
		if (gm_rdtsc() > deadline) {
			gm_printf("%s: %s: no reaction within %llu ms (status 0x%x %s)\n",
				  h->prog, h->cs, (unsigned long long)h->wait_ms, st,
				  gm_virtio_status_str(st));
			return true;
		}
		spin_us(h->ctx, 200);
	}
}

/* ---------------------------------------------------------------- loop */

static bool loop_self(struct hostile *h)
{
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, 0);
	publish_kick(h, 0);
	return true;
}

static bool loop_cycle(struct hostile *h)
{
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(h, 1, scratch(h), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(h, 2, scratch(h) + 512, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	publish_kick(h, 0);
	return true;
}

/* ---------------------------------------------------------------- oob */

static bool oob_data(struct hostile *h)
{
	bad_data(h, OOB_ADDR, 4096);
	return true;
}

static bool oob_gap(struct hostile *h)
{
	bad_data(h, GAP_ADDR, 4096);
	return true;
}

static bool oob_own_regs(struct hostile *h)
{
	/* DMA aimed at the device's own register window. */
	bad_data(h, h->blk->dev.base, 512);
	return true;
}

static bool oob_header(struct hostile *h)
{
	hdr0(h);
	desc(h, 0, OOB_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(h, 1, scratch(h), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(h, 2, status0(h), 1, VIRTQ_DESC_F_WRITE, 0);
	publish_kick(h, 0);
	return true;
}

static bool oob_ring(struct hostile *h)
{
	/* The queue's own addresses, moved out of RAM before QueueReady. */
	struct gm_vdev *dev = &h->blk->dev;

	if (!gm_virtio_reset(h->ctx, dev, h->prog))
		return false;
	gm_virtio_write32(dev, VMMIO_STATUS, VIRTIO_S_ACKNOWLEDGE);
	gm_virtio_write32(dev, VMMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES_SEL, 0);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES, (uint32_t)dev->accepted);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES_SEL, 1);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES, (uint32_t)(dev->accepted >> 32));
	gm_virtio_write32(dev, VMMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
			  VIRTIO_S_FEATURES_OK);
	gm_virtio_write32(dev, VMMIO_QUEUE_SEL, 0);
	gm_virtio_write32(dev, VMMIO_QUEUE_NUM, h->blk->vq.size);
	gm_virtio_write32(dev, VMMIO_QUEUE_DESC_LOW, (uint32_t)OOB_ADDR);
	gm_virtio_write32(dev, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(OOB_ADDR >> 32));
	gm_virtio_write32(dev, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)GAP_ADDR);
	gm_virtio_write32(dev, VMMIO_QUEUE_DRIVER_HIGH, 0);
	gm_virtio_write32(dev, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)(OOB_ADDR + 0x10000));
	gm_virtio_write32(dev, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(OOB_ADDR >> 32));
	gm_virtio_write32(dev, VMMIO_QUEUE_READY, 1);
	gm_virtio_write32(dev, VMMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
			  VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
	gm_virtio_write32(dev, VMMIO_QUEUE_NOTIFY, 0);
	return true;
}

/* ---------------------------------------------------------------- wrap */

static bool wrap_addr(struct hostile *h)
{
	bad_data(h, 0xfffffffffffff000ULL, 0x2000); /* addr + len passes 2^64 */
	return true;
}

static bool wrap_sum(struct hostile *h)
{
	/* Two buffers whose lengths add up to exactly 2^32: 0 in 32 bits. */
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(h, 1, scratch(h), 0x80000000u, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(h, 2, scratch(h), 0x80000000u, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	desc(h, 3, status0(h), 1, VIRTQ_DESC_F_WRITE, 0);
	publish_kick(h, 0);
	return true;
}

static bool wrap_status(struct hostile *h)
{
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(h, 1, scratch(h), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(h, 2, 0xffffffffffffffffULL, 1, VIRTQ_DESC_F_WRITE, 0); /* ends at 2^64 */
	publish_kick(h, 0);
	return true;
}

/* ---------------------------------------------------------------- index */

static bool index_head(struct hostile *h)
{
	publish_kick(h, h->blk->vq.size); /* one past the last descriptor */
	return true;
}

static bool index_head_max(struct hostile *h)
{
	publish_kick(h, 0xffff);
	return true;
}

static bool index_jump(struct hostile *h)
{
	struct gm_vq *vq = &h->blk->vq;

	/* avail->idx more than a whole ring ahead of what the device has seen. */
	for (uint16_t i = 0; i < vq->size; i++)
		vq->avail->ring[i] = 0;
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(h, 1, scratch(h), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(h, 2, status0(h), 1, VIRTQ_DESC_F_WRITE, 0);
	vq->avail_idx = (uint16_t)(vq->avail_idx + vq->size + 1);
	gm_barrier();
	vq->avail->idx = vq->avail_idx;
	gm_vq_kick(vq);
	return true;
}

static bool index_next(struct hostile *h)
{
	desc(h, 0, hdr0(h), 16, VIRTQ_DESC_F_NEXT, (uint16_t)(h->blk->vq.size + 5));
	publish_kick(h, 0);
	return true;
}

/* ---------------------------------------------------------------- notify */

static bool notify_bogus(struct hostile *h)
{
	static const uint32_t bogus[] = { 7, 1, 0xffff, 0x10000, 0xffffffffu };
	uint32_t st;

	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++)
		gm_virtio_write32(&h->blk->dev, VMMIO_QUEUE_NOTIFY, bogus[i]);
	gm_virtio_write32(&h->blk->dev, VMMIO_QUEUE_NOTIFY, 0); /* nothing queued */
	if (!good_io(h, "after the bogus notifies"))
		return false;
	st = gm_virtio_status(&h->blk->dev);
	if (st & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) {
		gm_printf("%s: %s: device status 0x%x (%s) after bogus notifies\n", h->prog,
			  h->cs, st, gm_virtio_status_str(st));
		return false;
	}
	gm_printf("%s: %s: device still working\n", h->prog, h->cs);
	return true;
}

/* ---------------------------------------------------------------- config */

static bool config_writes(struct hostile *h)
{
	struct gm_vdev *dev = &h->blk->dev;
	uint64_t cap = gm_virtio_cfg64(dev, VIRTIO_BLK_CFG_CAPACITY), cap2;
	uint32_t magic = gm_virtio_read32(dev, VMMIO_MAGIC), devid, ver, st;
	uint32_t cfg_len = (uint32_t)(dev->size - VMMIO_CONFIG);

	/* Every blk config field is read-only without CONFIG_WCE, which we never accept. */
	for (uint32_t off = 0; off < 0x40 && off + 4 <= cfg_len; off += 4)
		gm_virtio_cfg_write32(dev, off, 0xdeadbeef);
	for (uint32_t off = 0; off < 0x40 && off < cfg_len; off++)
		gm_virtio_cfg_write8(dev, off, 0xa5);
	if (cfg_len >= 4)
		gm_virtio_cfg_write32(dev, (cfg_len - 4) & ~3u, 0xdeadbeef); /* last word */
	/* Read-only registers too. */
	gm_virtio_write32(dev, VMMIO_MAGIC, 0);
	gm_virtio_write32(dev, VMMIO_VERSION, 1);
	gm_virtio_write32(dev, VMMIO_DEVICE_ID, 1);
	gm_virtio_write32(dev, VMMIO_DEVICE_FEATURES, 0xffffffffu);
	gm_virtio_write32(dev, VMMIO_QUEUE_NUM_MAX, 0xffff);
	gm_virtio_write32(dev, VMMIO_INTERRUPT_STATUS, 0xffffffffu);
	gm_virtio_write32(dev, VMMIO_CONFIG_GENERATION, 0xffffffffu);

	cap2 = gm_virtio_cfg64(dev, VIRTIO_BLK_CFG_CAPACITY);
	devid = gm_virtio_read32(dev, VMMIO_DEVICE_ID);
	ver = gm_virtio_read32(dev, VMMIO_VERSION);
	if (cap2 != cap || gm_virtio_read32(dev, VMMIO_MAGIC) != magic ||
	    devid != VIRTIO_ID_BLK || ver != 2) {
		gm_printf("%s: %s: read-only state changed: capacity %llu -> %llu, device id "
			  "%u, version %u\n", h->prog, h->cs, (unsigned long long)cap,
			  (unsigned long long)cap2, devid, ver);
		return false;
	}
	gm_printf("%s: %s: capacity unchanged (%llu sectors)\n", h->prog, h->cs,
		  (unsigned long long)cap2);
	if (!good_io(h, "after the config writes"))
		return false;
	st = gm_virtio_status(dev);
	if (st & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) {
		gm_printf("%s: %s: device status 0x%x (%s) after config writes\n", h->prog,
			  h->cs, st, gm_virtio_status_str(st));
		return false;
	}
	gm_printf("%s: %s: device still working\n", h->prog, h->cs);
	return true;
}

/* ---------------------------------------------------------------- reset */

/*
 * Several large reads in flight, then Status = 0 at once.  After the device
 * reads back 0 it must not touch guest memory any more: canaries written
 * after the reset must survive a wait.
 */
static bool reset_midway(struct hostile *h)
{
	struct gm_blk *blk = h->blk;
	uint64_t cap = blk->capacity * 512, len = RESET_REQ_LEN, deadline;
	unsigned n = 0, done, before;
	volatile uint8_t *used;
	uint32_t used_len;
	uint32_t st;

	if (!h->big && !(h->big = gm_alloc((uint64_t)RESET_REQS * RESET_REQ_LEN, 4096))) {
		gm_printf("%s: %s: not enough guest RAM\n", h->prog, h->cs);
		return false;
	}
	if (blk->size_max && blk->seg_max && len > (uint64_t)blk->size_max * blk->seg_max)
		len = (uint64_t)blk->size_max * blk->seg_max & ~4095ULL;
	for (uint64_t off = 0; n < RESET_REQS && off + len <= cap; off += len, n++)
		if (gm_blk_submit(blk, VIRTIO_BLK_T_IN, off / 512, h->big + off,
				  (uint32_t)len) < 0)
			break;
	if (!n) {
		gm_printf("%s: %s: disk too small for one %llu-byte read\n", h->prog, h->cs,
			  (unsigned long long)len);
		return false;
	}
	gm_vq_kick(&blk->vq);
	before = (uint16_t)(gm_vq_used_idx(&blk->vq) - blk->vq.last_used);
	gm_virtio_write32(&blk->dev, VMMIO_STATUS, 0);
	deadline = gm_rdtsc() + gm_ms_to_tsc(h->ctx, 5000);
	while ((st = gm_virtio_status(&blk->dev)) != 0)
		if (gm_rdtsc() > deadline) {
			gm_printf("%s: %s: status still 0x%x 5 s after the reset\n", h->prog,
				  h->cs, st);
			return false;
		}
	done = (uint16_t)(gm_vq_used_idx(&blk->vq) - blk->vq.last_used);
	gm_printf("%s: %s: %u reads of %llu KiB queued; %u had completed when Status=0 was "
		  "written, %u when it read back 0\n", h->prog, h->cs, n,
		  (unsigned long long)(len >> 10), before, done);

	/* The data buffers, and the used ring (index and every element), as canaries. */
	for (uint64_t off = 0; off < n * len; off += 4096)
		*(volatile uint64_t *)(h->big + off) = CANARY;
	used = (volatile uint8_t *)blk->vq.used;
	used_len = 4 + 8 * (uint32_t)blk->vq.size;
	for (uint32_t i = 0; i < used_len; i++)
		used[i] = 0xa5;
	spin_us(h->ctx, 200000);
	for (uint64_t off = 0; off < n * len; off += 4096)
		if (*(volatile uint64_t *)(h->big + off) != CANARY) {
			gm_printf("%s: %s: guest memory at 0x%llx written after the reset "
				  "completed\n", h->prog, h->cs,
				  (unsigned long long)(uintptr_t)(h->big + off));
			return false;
		}
	for (uint32_t i = 0; i < used_len; i++)
		if (used[i] != 0xa5) {
			gm_printf("%s: %s: used ring byte %u written after the reset "
				  "completed\n", h->prog, h->cs, i);
			return false;
		}
	gm_printf("%s: %s: no DMA after the reset\n", h->prog, h->cs);
	return true;
}

/* ---------------------------------------------------------------- indirect */

/* A valid 3-entry indirect table (header, 512-byte read, status) at scratch. */
static uint64_t indirect_table(struct hostile *h)
{
	volatile struct virtq_desc *t = (volatile struct virtq_desc *)(uintptr_t)scratch(h);

	t[0] = (struct virtq_desc){ hdr0(h), 16, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ scratch(h) + 1024, 512,
				    VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	t[2] = (struct virtq_desc){ status0(h), 1, VIRTQ_DESC_F_WRITE, 0 };
	return scratch(h);
}

static bool have_indirect(struct hostile *h)
{
	if (h->blk->dev.accepted & VIRTIO_F_INDIRECT_DESC)
		return true;
	gm_printf("%s: %s: device does not offer VIRTIO_RING_F_INDIRECT_DESC, nothing to "
		  "attack\n", h->prog, h->cs);
	h->skipped = true;
	return false;
}

static bool indirect_len(struct hostile *h)
{
	if (have_indirect(h)) {
		desc(h, 0, indirect_table(h), 20, VIRTQ_DESC_F_INDIRECT, 0); /* not n * 16 */
		publish_kick(h, 0);
	}
	return true;
}

static bool indirect_empty(struct hostile *h)
{
	if (have_indirect(h)) {
		desc(h, 0, indirect_table(h), 0, VIRTQ_DESC_F_INDIRECT, 0);
		publish_kick(h, 0);
	}
	return true;
}

static bool indirect_nested(struct hostile *h)
{
	if (have_indirect(h)) {
		volatile struct virtq_desc *t = (volatile struct virtq_desc *)(uintptr_t)scratch(h);
		uint64_t inner = indirect_table(h);

		/* A second table in the first one: forbidden (2.7.5.3.1). */
		t[8] = (struct virtq_desc){ inner, 48, VIRTQ_DESC_F_INDIRECT, 0 };
		desc(h, 0, inner + 8 * 16, 16, VIRTQ_DESC_F_INDIRECT, 0);
		publish_kick(h, 0);
	}
	return true;
}

static bool indirect_oob(struct hostile *h)
{
	if (have_indirect(h)) {
		desc(h, 0, OOB_ADDR, 48, VIRTQ_DESC_F_INDIRECT, 0);
		publish_kick(h, 0);
	}
	return true;
}

static bool indirect_loop(struct hostile *h)
{
	if (have_indirect(h)) {
		volatile struct virtq_desc *t = (volatile struct virtq_desc *)(uintptr_t)scratch(h);
		uint64_t table = indirect_table(h);

		/* header -> 1 -> 2 -> 1 -> ...: writable buffers only, a pure cycle */
		t[1].next = 2;
		t[2] = (struct virtq_desc){ scratch(h) + 1536, 512,
					    VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1 };
		desc(h, 0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
		publish_kick(h, 0);
	}
	return true;
}

static bool indirect_huge(struct hostile *h)
{
	if (have_indirect(h)) {
		/* A table longer than the queue and than RAM: 2^32 - 16 bytes. */
		desc(h, 0, indirect_table(h), 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, 0);
		publish_kick(h, 0);
	}
	return true;
}

/* ---------------------------------------------------------------- driver */

static int run(const struct gm_ctx *ctx, const char *prog, const struct hcase *cases,
	       size_t ncases, uint64_t extra)
{
	struct hostile h = { .ctx = ctx, .prog = prog, .extra = extra };
	const char *only = ctx->argc > 1 ? ctx->argv[1] : NULL;
	bool ran = false, bad = false;
	uint64_t repeat;

	if (!gm_param_u64(ctx, "hostile.wait_ms", 60000, 1000, &h.wait_ms) ||
	    !gm_param_u64(ctx, "hostile.repeat", 10000, 1, &repeat) || !repeat)
		return 2;
	h.blk = gm_zalloc(sizeof(*h.blk));
	h.buf = gm_alloc(4 * ALIVE_LEN, 4096);
	if (!h.blk || !h.buf) {
		gm_printf("%s: not enough guest RAM\n", prog);
		return 1;
	}
	for (size_t i = 0; i < ncases * repeat; i++) {
		const struct hcase *c = &cases[i % ncases];

		if (only && !gm_streq(only, c->name))
			continue;
		ran = true;
		h.cs = c->name;
		if (!gm_blk_open(ctx, h.blk, 0, extra, prog) || !good_io(&h, "before the attack"))
			return 1;
		h.skipped = false;
		/* A wrong reaction is remembered; whether the monitor survived is still checked. */
		if (!c->attack(&h) || (c->expect_reset && !h.skipped && !watch(&h)))
			bad = true;
		if (!gm_blk_reinit(ctx, h.blk, prog) ||
		    !good_io(&h, "after reset and re-initialisation"))
			return 1;
	}
	if (!ran) {
		gm_printf("%s: no case '%s'; cases:", prog, only);
		for (size_t i = 0; i < ncases; i++)
			gm_printf(" %s", cases[i].name);
		gm_puts("\n");
		return 2;
	}
	gm_printf("%s: ember alive%s\n", prog, bad ? ", but the device mishandled an attack" : "");
	return bad ? 1 : 0;
}

#define RUN(ctx, prog, cases, extra) \
	run(ctx, prog, cases, sizeof(cases) / sizeof(cases[0]), extra)

int prog_hostile_loop(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "self", loop_self, true },
		{ "cycle", loop_cycle, true },
	};
	return RUN(c, "hostile-loop", cases, 0);
}

int prog_hostile_oob(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "data", oob_data, true },
		{ "gap", oob_gap, true },
		{ "regs", oob_own_regs, true },
		{ "header", oob_header, true },
		{ "ring", oob_ring, true },
	};
	return RUN(c, "hostile-oob", cases, 0);
}

int prog_hostile_wrap(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "addr", wrap_addr, true },
		{ "sum", wrap_sum, true },
		{ "status", wrap_status, true },
	};
	return RUN(c, "hostile-wrap", cases, 0);
}

int prog_hostile_index(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "head", index_head, true },
		{ "head-max", index_head_max, true },
		{ "jump", index_jump, true },
		{ "next", index_next, true },
	};
	return RUN(c, "hostile-index", cases, 0);
}

int prog_hostile_notify(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "bogus", notify_bogus, false },
	};
	return RUN(c, "hostile-notify", cases, 0);
}

int prog_hostile_config(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "write", config_writes, false },
	};
	return RUN(c, "hostile-config", cases, 0);
}

int prog_hostile_reset(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "midway", reset_midway, false },
	};
	return RUN(c, "hostile-reset", cases, 0);
}

int prog_hostile_indirect(const struct gm_ctx *c)
{
	static const struct hcase cases[] = {
		{ "len", indirect_len, true },
		{ "empty", indirect_empty, true },
		{ "nested", indirect_nested, true },
		{ "oob", indirect_oob, true },
		{ "loop", indirect_loop, true },
		{ "huge", indirect_huge, true },
	};
	return RUN(c, "hostile-indirect", cases, VIRTIO_F_INDIRECT_DESC);
}
