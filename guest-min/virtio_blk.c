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
	if (!len)
		return 0;
	if (!blk->size_max)
		return 1;
	return (unsigned)((len + (uint64_t)blk->size_max - 1) / blk->size_max);
}

int gm_blk_submit(struct gm_blk *blk, uint32_t type, uint64_t sector, void *data,
		  uint32_t len)
{
	struct gm_vbuf bufs[GM_VQ_MAX_SIZE];
	unsigned segs = gm_blk_segs(blk, len), n = 0;
	uint64_t addr = (uint64_t)(uintptr_t)data;
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	int head;

	if (segs + 2 > blk->vq.size || (blk->seg_max && segs > blk->seg_max))
		return -1;
	/* The header slot is the head's: known only once descriptors are taken. */
	bufs[n++] = (struct gm_vbuf){ 0, 16, false };
	for (uint32_t left = len; left;) {
		uint32_t chunk = blk->size_max && left > blk->size_max ? blk->size_max : left;

		bufs[n++] = (struct gm_vbuf){ addr, chunk, dev_writes };
		addr += chunk;
		left -= chunk;
	}
	bufs[n++] = (struct gm_vbuf){ 0, 1, true };
	if (n > blk->vq.nfree)
		return -1;
	/* gm_vq_add takes descriptors from free_head on: that is our head. */
	head = blk->vq.free_head;
	blk->req->hdr[head].type = type;
	blk->req->hdr[head].reserved = 0;
	blk->req->hdr[head].sector = sector;
	blk->req->status[head] = 0xff; /* so a status the device never wrote shows */
	bufs[0].addr = (uint64_t)(uintptr_t)&blk->req->hdr[head];
	bufs[n - 1].addr = (uint64_t)(uintptr_t)&blk->req->status[head];
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
