/*
 * virtio-blk requests (virtio 1.2, 5.2.6): a 16-byte header the device reads,
 * the data (device-writable for T_IN / GET_ID), and one status byte the
 * device writes.  Header and status live in per-head slots, so a request's
 * head descriptor names its memory.
 */
#include "virtio.h"

/* Features every blk user asks for; the rest comes from the caller. */
#define BLK_FEATURES (VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_RO | \
		      VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH)

static bool blk_init(const struct gm_ctx *ctx, struct gm_blk *blk, const char *who)
{
	if (!gm_virtio_init(ctx, &blk->dev, blk->want, &blk->vq, 1, who))
		return false;
	blk->capacity = gm_virtio_cfg64(&blk->dev, VIRTIO_BLK_CFG_CAPACITY);
	blk->size_max = blk->dev.accepted & VIRTIO_BLK_F_SIZE_MAX ?
			gm_virtio_cfg32(&blk->dev, VIRTIO_BLK_CFG_SIZE_MAX) : 0;
	blk->seg_max = blk->dev.accepted & VIRTIO_BLK_F_SEG_MAX ?
		       gm_virtio_cfg32(&blk->dev, VIRTIO_BLK_CFG_SEG_MAX) : 0;
	/* A size_max below a page would make requests absurdly long chains. */
	if (blk->size_max && blk->size_max < 4096) {
		gm_printf("%s: device size_max %u is below 4096, not supported\n", who,
			  blk->size_max);
		return false;
	}
	return true;
}

bool gm_blk_open(const struct gm_ctx *ctx, struct gm_blk *blk, unsigned nth, uint64_t extra,
		 const char *who)
{
	if (!gm_virtio_find(ctx, VIRTIO_ID_BLK, nth, &blk->dev)) {
		gm_printf("%s: no virtio-blk device #%u (virtio_mmio.device= parameters "
			  "name none)\n", who, nth);
		return false;
	}
	if (!blk->req && !(blk->req = gm_alloc(sizeof(*blk->req), 4096))) {
		gm_printf("%s: no memory for request headers\n", who);
		return false;
	}
	blk->want = BLK_FEATURES | extra;
	return blk_init(ctx, blk, who);
}

bool gm_blk_reinit(const struct gm_ctx *ctx, struct gm_blk *blk, const char *who)
{
	return blk_init(ctx, blk, who);
}

unsigned gm_blk_segs(const struct gm_blk *blk, uint32_t len)
{
	uint32_t sectors = len / 512;

	if (!len)
		return 0;
	if (blk->segs) /* as many as asked, but never a piece below a sector */
		return sectors < blk->segs ? (sectors ? sectors : 1) : blk->segs;
	if (!blk->size_max)
		return 1;
	return (unsigned)((len + (uint64_t)blk->size_max - 1) / blk->size_max);
}

/*
 * The data as segs buffers.  Plain layout: size_max pieces.  With blk->segs:
 * whole sectors, the first (sectors % segs) pieces one sector longer, the
 * last also taking any bytes past the last whole sector.  Every piece must
 * fit size_max; false when one does not (the caller sized it wrong).
 */
static bool split_data(const struct gm_blk *blk, struct gm_vbuf *bufs, unsigned segs,
		       uint64_t addr, uint32_t len, bool dev_writes)
{
	uint32_t sectors = len / 512, base = segs ? sectors / segs : 0,
		 extra = segs ? sectors % segs : 0, left = len;

	for (unsigned i = 0; i < segs; i++) {
		uint32_t chunk;

		if (!blk->segs)
			chunk = blk->size_max && left > blk->size_max ? blk->size_max : left;
		else if (i + 1 == segs)
			chunk = left;
		else
			chunk = (base + (i < extra)) * 512;
		if (blk->size_max && chunk > blk->size_max)
			return false;
		bufs[i] = (struct gm_vbuf){ addr, chunk, dev_writes };
		addr += chunk;
		left -= chunk;
	}
	return true;
}

/* The chain, written into head's indirect table, NEXT-linked by table index. */
static uint64_t fill_table(struct gm_blk *blk, uint16_t head, const struct gm_vbuf *bufs,
			   unsigned n)
{
	uint8_t *at = blk->tables + (uint64_t)head * GM_BLK_TABLE_STRIDE + blk->table_off;
	struct virtq_desc *t = (struct virtq_desc *)at;

	for (unsigned i = 0; i < n; i++) {
		t[i].addr = bufs[i].addr;
		t[i].len = bufs[i].len;
		t[i].flags = (uint16_t)((bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					(i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		t[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
	return (uint64_t)(uintptr_t)at;
}

int gm_blk_submit(struct gm_blk *blk, uint32_t type, uint64_t sector, void *data,
		  uint32_t len)
{
	struct gm_vbuf bufs[GM_VQ_MAX_SIZE];
	unsigned segs = gm_blk_segs(blk, len), n = 0;
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	int head;

	/* 2.7.5.3.1: a chain, indirect table included, is never longer than the queue. */
	if (segs + 2 > blk->vq.size || (blk->seg_max && segs > blk->seg_max))
		return -1;
	/* The header slot is the head's: known only once descriptors are taken. */
	bufs[n++] = (struct gm_vbuf){ 0, 16, false };
	if (!split_data(blk, bufs + n, segs, (uint64_t)(uintptr_t)data, len, dev_writes))
		return -1;
	n += segs;
	bufs[n++] = (struct gm_vbuf){ 0, 1, true };
	if ((blk->tables ? 1 : n) > blk->vq.nfree)
		return -1;
	/* gm_vq_add takes descriptors from free_head on: that is our head. */
	head = blk->vq.free_head;
	blk->req->hdr[head].type = type;
	blk->req->hdr[head].reserved = 0;
	blk->req->hdr[head].sector = sector;
	blk->req->status[head] = 0xff; /* so a status the device never wrote shows */
	bufs[0].addr = (uint64_t)(uintptr_t)&blk->req->hdr[head];
	bufs[n - 1].addr = (uint64_t)(uintptr_t)&blk->req->status[head];
	if (blk->tables)
		return gm_vq_add_indirect(&blk->vq, fill_table(blk, (uint16_t)head, bufs, n),
					  n * (uint32_t)sizeof(struct virtq_desc));
	return gm_vq_add(&blk->vq, bufs, n);
}

int gm_blk_sync(const struct gm_ctx *ctx, struct gm_blk *blk, uint32_t type,
		uint64_t sector, void *data, uint32_t len, uint64_t timeout_ms)
{
	uint32_t used_len;
	int head = gm_blk_submit(blk, type, sector, data, len), done;

	if (head < 0)
		return -1;
	gm_vq_kick(&blk->vq);
	done = gm_vq_wait(&blk->vq, gm_rdtsc() + gm_ms_to_tsc(ctx, timeout_ms), &used_len);
	if (done != head)
		return -1;
	return blk->req->status[head];
}
