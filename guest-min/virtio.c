/*
 * virtio-mmio transport and split virtqueues, polled.
 *
 * Only what a test guest needs: modern devices (version 2), one ring area per
 * queue, no event index, no interrupts (avail->flags asks the device not to
 * raise them).  Everything the device reports is checked before use: a
 * hostile or broken device must not make guest-min fault (see guest-min.h).
 */
#include "virtio.h"

#define PARAM "virtio_mmio.device"
#define VQ_AVAIL_OFF 4096
#define VQ_USED_OFF  5120

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	uint8_t v;

	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(addr) : "memory");
}

uint32_t gm_virtio_read32(const struct gm_vdev *dev, uint32_t off)
{
	return mmio_read32(dev->base + off);
}

void gm_virtio_write32(const struct gm_vdev *dev, uint32_t off, uint32_t v)
{
	mmio_write32(dev->base + off, v);
}

uint32_t gm_virtio_status(const struct gm_vdev *dev)
{
	return mmio_read32(dev->base + VMMIO_STATUS);
}

const char *gm_virtio_status_str(uint32_t status)
{
	static const char *const names[8] = {
		"ACKNOWLEDGE", "DRIVER", "DRIVER_OK", "FEATURES_OK",
		"bit4", "bit5", "NEEDS_RESET", "FAILED",
	};
	static char buf[96];
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 8; i++) {
		const char *s = names[i];

		if (!(status & (1u << i)))
			continue;
		if (n && n < sizeof(buf) - 1)
			buf[n++] = '|';
		while (*s && n < sizeof(buf) - 1)
			buf[n++] = *s++;
	}
	if (!n) {
		buf[n++] = '0';
	}
	buf[n] = '\0';
	return buf;
}

/* Config space lies at 0x100 up to the end of the register window. */
static bool cfg_ok(const struct gm_vdev *dev, uint32_t off, uint32_t width)
{
	return dev->size > VMMIO_CONFIG && off <= dev->size - VMMIO_CONFIG &&
	       width <= dev->size - VMMIO_CONFIG - off && !(off % width);
}

uint8_t gm_virtio_cfg8(const struct gm_vdev *dev, uint32_t off)
{
	return cfg_ok(dev, off, 1) ? mmio_read8(dev->base + VMMIO_CONFIG + off) : 0;
}

uint32_t gm_virtio_cfg32(const struct gm_vdev *dev, uint32_t off)
{
	return cfg_ok(dev, off, 4) ? mmio_read32(dev->base + VMMIO_CONFIG + off) : 0;
}

/* Two 32-bit halves, retried while ConfigGeneration changes (4.2.2.2). */
uint64_t gm_virtio_cfg64(const struct gm_vdev *dev, uint32_t off)
{
	uint64_t v = 0;

	if (!cfg_ok(dev, off, 8))
		return 0;
	for (int tries = 0; tries < 100; tries++) {
		uint32_t gen = mmio_read32(dev->base + VMMIO_CONFIG_GENERATION);

		v = mmio_read32(dev->base + VMMIO_CONFIG + off) |
		    (uint64_t)mmio_read32(dev->base + VMMIO_CONFIG + off + 4) << 32;
		if (gen == mmio_read32(dev->base + VMMIO_CONFIG_GENERATION))
			break;
	}
	return v;
}

void gm_virtio_cfg_write8(const struct gm_vdev *dev, uint32_t off, uint8_t v)
{
	if (cfg_ok(dev, off, 1))
		mmio_write8(dev->base + VMMIO_CONFIG + off, v);
}

void gm_virtio_cfg_write32(const struct gm_vdev *dev, uint32_t off, uint32_t v)
{
	if (cfg_ok(dev, off, 4))
		mmio_write32(dev->base + VMMIO_CONFIG + off, v);
}

/* "<size>@<base>:<irq>[:<id>]", as Linux's virtio_mmio.device= takes it. */
static bool parse_device(const char *v, uint64_t *base, uint64_t *size)
{
	const char *at = v, *end;

	while (*at && *at != '@')
		at++;
	if (*at != '@' || !gm_parse_size(v, (size_t)(at - v), size))
		return false;
	for (end = at + 1; *end && *end != ':'; end++)
		;
	return gm_parse_size(at + 1, (size_t)(end - at - 1), base);
}

bool gm_virtio_find(const struct gm_ctx *ctx, uint32_t id, unsigned nth, struct gm_vdev *dev)
{
	const char *v;
	int pos = 0;

	while ((v = gm_param_next(ctx, PARAM, &pos))) {
		uint64_t base, size;
		uint32_t magic, version, devid;

		if (!parse_device(v, &base, &size)) {
			gm_printf("virtio: ignoring malformed " PARAM "=%s\n", v);
			continue;
		}
		if (base < GM_MMIO_BASE || size < VMMIO_CONFIG || size > GM_MMIO_END - base ||
		    (base & 3)) {
			gm_printf("virtio: ignoring %s: not a register window in the MMIO "
				  "gap [0x%llx, 0x%llx)\n", v,
				  (unsigned long long)GM_MMIO_BASE,
				  (unsigned long long)GM_MMIO_END);
			continue;
		}
		if (!gm_range_mapped(base, size)) {
			gm_printf("virtio: ignoring %s: not identity-mapped\n", v);
			continue;
		}
		magic = mmio_read32(base + VMMIO_MAGIC);
		if (magic != VMMIO_MAGIC_VALUE) {
			gm_printf("virtio: ignoring %s: magic 0x%x is not 'virt'\n", v, magic);
			continue;
		}
		version = mmio_read32(base + VMMIO_VERSION);
		devid = mmio_read32(base + VMMIO_DEVICE_ID);
		if (version != 2) {
			gm_printf("virtio: ignoring %s: version %u, guest-min drives only "
				  "version 2 (modern) devices\n", v, version);
			continue;
		}
		if (devid != id)
			continue; /* 0 is an empty slot; other ids are not asked for */
		if (nth--)
			continue;
		dev->base = base;
		dev->size = size;
		dev->id = devid;
		dev->offered = dev->accepted = 0;
		return true;
	}
	return false;
}

bool gm_virtio_reset(const struct gm_ctx *ctx, struct gm_vdev *dev, const char *who)
{
	uint64_t deadline = gm_rdtsc() + gm_ms_to_tsc(ctx, 1000);
	uint32_t st;

	gm_virtio_write32(dev, VMMIO_STATUS, 0);
	while ((st = gm_virtio_status(dev)) != 0) {
		if (gm_rdtsc() > deadline) {
			gm_printf("%s: device at 0x%llx still reads status 0x%x (%s) 1 s "
				  "after reset\n", who, (unsigned long long)dev->base, st,
				  gm_virtio_status_str(st));
			return false;
		}
	}
	return true;
}

static bool vq_setup(struct gm_vdev *dev, struct gm_vq *vq, uint16_t index, const char *who)
{
	uint32_t max, n;

	gm_virtio_write32(dev, VMMIO_QUEUE_SEL, index);
	if (gm_virtio_read32(dev, VMMIO_QUEUE_READY)) {
		gm_printf("%s: queue %u is ready before setup\n", who, index);
		return false;
	}
	max = gm_virtio_read32(dev, VMMIO_QUEUE_NUM_MAX);
	if (!max) {
		gm_printf("%s: queue %u does not exist (QueueNumMax 0)\n", who, index);
		return false;
	}
	n = max < GM_VQ_MAX_SIZE ? max : GM_VQ_MAX_SIZE;
	/* QueueNum only has to be at most QueueNumMax (4.2.2.2): a driver may ask less. */
	if (vq->limit && n > vq->limit)
		n = vq->limit;
	while (n & (n - 1)) /* split rings are a power of two */
		n &= n - 1;
	if (!vq->mem && !(vq->mem = gm_alloc(GM_VQ_MEM_SIZE, 4096))) {
		gm_printf("%s: no memory for queue %u\n", who, index);
		return false;
	}
	gm_fill64(vq->mem, 0, GM_VQ_MEM_SIZE / 8);
	vq->dev = dev;
	vq->index = index;
	vq->size = (uint16_t)n;
	vq->num_max = max;
	vq->desc = (volatile struct virtq_desc *)vq->mem;
	vq->avail = (volatile struct virtq_avail *)(vq->mem + VQ_AVAIL_OFF);
	vq->used = (volatile struct virtq_used *)(vq->mem + VQ_USED_OFF);
	vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* we poll */
	vq->avail_idx = vq->last_used = 0;
	vq->outstanding = 0;
	vq->nfree = (uint16_t)n;
	vq->free_head = 0;
	for (uint32_t i = 0; i < n; i++) {
		vq->next[i] = (uint16_t)(i + 1);
		vq->chain_len[i] = 0;
	}

	gm_virtio_write32(dev, VMMIO_QUEUE_NUM, n);
	gm_virtio_write32(dev, VMMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)vq->desc);
	gm_virtio_write32(dev, VMMIO_QUEUE_DESC_HIGH, (uint32_t)((uintptr_t)vq->desc >> 32));
	gm_virtio_write32(dev, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)vq->avail);
	gm_virtio_write32(dev, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)((uintptr_t)vq->avail >> 32));
	gm_virtio_write32(dev, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)vq->used);
	gm_virtio_write32(dev, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)((uintptr_t)vq->used >> 32));
	gm_virtio_write32(dev, VMMIO_QUEUE_READY, 1);
	return true;
}

static bool init_fail(struct gm_vdev *dev, uint32_t st)
{
	gm_virtio_write32(dev, VMMIO_STATUS, st | VIRTIO_S_FAILED);
	return false;
}

bool gm_virtio_init(const struct gm_ctx *ctx, struct gm_vdev *dev, uint64_t want,
		    struct gm_vq *vqs, unsigned nvq, const char *who)
{
	uint32_t st = VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER;
	uint64_t acc;

	if (!gm_virtio_reset(ctx, dev, who))
		return false;
	gm_virtio_write32(dev, VMMIO_STATUS, VIRTIO_S_ACKNOWLEDGE);
	gm_virtio_write32(dev, VMMIO_STATUS, st);

	gm_virtio_write32(dev, VMMIO_DEVICE_FEATURES_SEL, 0);
	dev->offered = gm_virtio_read32(dev, VMMIO_DEVICE_FEATURES);
	gm_virtio_write32(dev, VMMIO_DEVICE_FEATURES_SEL, 1);
	dev->offered |= (uint64_t)gm_virtio_read32(dev, VMMIO_DEVICE_FEATURES) << 32;
	if (!(dev->offered & VIRTIO_F_VERSION_1)) {
		gm_printf("%s: device does not offer VIRTIO_F_VERSION_1 (features 0x%llx)\n",
			  who, (unsigned long long)dev->offered);
		return init_fail(dev, st);
	}
	/* Never event-index: this driver does not implement it. */
	acc = (want | VIRTIO_F_VERSION_1) & dev->offered & ~VIRTIO_F_EVENT_IDX;
	dev->accepted = acc;
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES_SEL, 0);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES, (uint32_t)acc);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES_SEL, 1);
	gm_virtio_write32(dev, VMMIO_DRIVER_FEATURES, (uint32_t)(acc >> 32));

	st |= VIRTIO_S_FEATURES_OK;
	gm_virtio_write32(dev, VMMIO_STATUS, st);
	if (!(gm_virtio_status(dev) & VIRTIO_S_FEATURES_OK)) {
		gm_printf("%s: device refused features 0x%llx (FEATURES_OK did not stick)\n",
			  who, (unsigned long long)acc);
		return init_fail(dev, st);
	}
	for (unsigned i = 0; i < nvq; i++)
		if (!vq_setup(dev, &vqs[i], (uint16_t)i, who))
			return init_fail(dev, st);

	st |= VIRTIO_S_DRIVER_OK;
	gm_virtio_write32(dev, VMMIO_STATUS, st);
	st = gm_virtio_status(dev);
	if (st & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED) || !(st & VIRTIO_S_DRIVER_OK)) {
		gm_printf("%s: device status 0x%x (%s) after DRIVER_OK\n", who, st,
			  gm_virtio_status_str(st));
		return false;
	}
	return true;
}

int gm_vq_add(struct gm_vq *vq, const struct gm_vbuf *bufs, unsigned n)
{
	uint16_t head = vq->free_head, idx = head;

	if (!n || n > vq->nfree)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		volatile struct virtq_desc *d = &vq->desc[idx];
		uint16_t flags = bufs[i].write ? VIRTQ_DESC_F_WRITE : 0;

		d->addr = bufs[i].addr;
		d->len = bufs[i].len;
		if (i + 1 < n) {
			flags |= VIRTQ_DESC_F_NEXT;
			d->next = vq->next[idx];
		} else {
			d->next = 0;
		}
		d->flags = flags;
		idx = vq->next[idx];
	}
	vq->free_head = idx;
	vq->nfree = (uint16_t)(vq->nfree - n);
	vq->chain_len[head] = (uint16_t)n;
	vq->outstanding++;
	gm_vq_publish_raw(vq, head);
	return head;
}

int gm_vq_add_indirect(struct gm_vq *vq, uint64_t table, uint32_t len)
{
	uint16_t head = vq->free_head;
	volatile struct virtq_desc *d = &vq->desc[head];

	if (!vq->nfree)
		return -1;
	d->addr = table;
	d->len = len;
	d->next = 0;
	d->flags = VIRTQ_DESC_F_INDIRECT; /* never NEXT with INDIRECT (2.7.5.3.1) */
	vq->free_head = vq->next[head];
	vq->nfree--;
	vq->chain_len[head] = 1; /* ring descriptors: the table is not ours to free */
	vq->outstanding++;
	gm_vq_publish_raw(vq, head);
	return head;
}

void gm_vq_publish_raw(struct gm_vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	gm_barrier(); /* descriptors and ring entry before the index (x86: TSO) */
	vq->avail->idx = ++vq->avail_idx;
}

void gm_vq_kick(struct gm_vq *vq)
{
	/* avail->idx must be visible before we read the device's flag (store->load). */
	gm_mfence();
	if (!(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY))
		gm_virtio_write32(vq->dev, VMMIO_QUEUE_NOTIFY, vq->index);
}

uint16_t gm_vq_used_idx(const struct gm_vq *vq)
{
	return vq->used->idx;
}

int gm_vq_poll(struct gm_vq *vq, uint32_t *len)
{
	uint16_t uidx = vq->used->idx, id16, last;
	uint32_t id;

	if (uidx == vq->last_used)
		return -1;
	gm_barrier(); /* the element after the index (x86 keeps loads in order) */
	id = vq->used->ring[vq->last_used & (vq->size - 1)].id;
	*len = vq->used->ring[vq->last_used & (vq->size - 1)].len;
	vq->last_used++;
	if (id >= vq->size || !vq->chain_len[id]) {
		gm_printf("virtio: queue %u: device used id %u, which is not an outstanding "
			  "chain\n", vq->index, id);
		return -2;
	}
	id16 = (uint16_t)id;
	last = id16;
	for (unsigned i = 1; i < vq->chain_len[id16]; i++)
		last = vq->next[last];
	vq->next[last] = vq->free_head;
	vq->free_head = id16;
	vq->nfree = (uint16_t)(vq->nfree + vq->chain_len[id16]);
	vq->chain_len[id16] = 0;
	vq->outstanding--;
	return id16;
}

int gm_vq_wait(struct gm_vq *vq, uint64_t deadline_tsc, uint32_t *len)
{
	for (;;) {
		int r = gm_vq_poll(vq, len);

		if (r != -1)
			return r;
		if (gm_rdtsc() > deadline_tsc)
			return -1;
	}
}
