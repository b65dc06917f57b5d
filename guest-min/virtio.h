/*
 * guest-min's virtio-mmio driver: modern (version 2) devices only, split
 * virtqueues, polled (no interrupts, see guest-min.h).
 *
 * Devices are found through the virtio_mmio.device=<size>@<addr>:<irq>
 * command-line parameters that ember and QEMU microvm both append.  Ring and
 * request memory comes from gm_alloc (guest RAM below 1 GiB, identity
 * mapped), so guest-physical addresses are the pointers themselves.
 */
#ifndef GUEST_MIN_VIRTIO_H
#define GUEST_MIN_VIRTIO_H

#include "guest-min.h"

/* virtio-mmio registers (virtio 1.2, 4.2.2). */
#define VMMIO_MAGIC            0x000
#define VMMIO_VERSION          0x004
#define VMMIO_DEVICE_ID        0x008
#define VMMIO_VENDOR_ID        0x00c
#define VMMIO_DEVICE_FEATURES  0x010
#define VMMIO_DEVICE_FEATURES_SEL 0x014
#define VMMIO_DRIVER_FEATURES  0x020
#define VMMIO_DRIVER_FEATURES_SEL 0x024
#define VMMIO_QUEUE_SEL        0x030
#define VMMIO_QUEUE_NUM_MAX    0x034
#define VMMIO_QUEUE_NUM        0x038
#define VMMIO_QUEUE_READY      0x044
#define VMMIO_QUEUE_NOTIFY     0x050
#define VMMIO_INTERRUPT_STATUS 0x060
#define VMMIO_INTERRUPT_ACK    0x064
#define VMMIO_STATUS           0x070
#define VMMIO_QUEUE_DESC_LOW   0x080
#define VMMIO_QUEUE_DESC_HIGH  0x084
#define VMMIO_QUEUE_DRIVER_LOW 0x090
#define VMMIO_QUEUE_DRIVER_HIGH 0x094
#define VMMIO_QUEUE_DEVICE_LOW 0x0a0
#define VMMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VMMIO_CONFIG_GENERATION 0x0fc
#define VMMIO_CONFIG           0x100

#define VMMIO_MAGIC_VALUE      0x74726976u /* "virt" */

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLK 2

/* Device status (2.1). */
#define VIRTIO_S_ACKNOWLEDGE   0x01
#define VIRTIO_S_DRIVER        0x02
#define VIRTIO_S_DRIVER_OK     0x04
#define VIRTIO_S_FEATURES_OK   0x08
#define VIRTIO_S_NEEDS_RESET   0x40
#define VIRTIO_S_FAILED        0x80

/* Transport feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_EVENT_IDX     (1ULL << 29)
#define VIRTIO_F_VERSION_1     (1ULL << 32)

/* virtio-blk (5.2). */
#define VIRTIO_BLK_F_SIZE_MAX  (1ULL << 1)
#define VIRTIO_BLK_F_SEG_MAX   (1ULL << 2)
#define VIRTIO_BLK_F_RO        (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE  (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH     (1ULL << 9)

#define VIRTIO_BLK_T_IN        0
#define VIRTIO_BLK_T_OUT       1
#define VIRTIO_BLK_T_FLUSH     4
#define VIRTIO_BLK_T_GET_ID    8

#define VIRTIO_BLK_S_OK        0
#define VIRTIO_BLK_S_IOERR     1
#define VIRTIO_BLK_S_UNSUPP    2

#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08 /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX  0x0c /* le32 */
#define VIRTIO_BLK_ID_BYTES     20

/* virtio-net (5.1). */
#define VIRTIO_NET_F_MAC       (1ULL << 5)
#define VIRTIO_NET_CFG_MAC     0x00
#define VIRTIO_NET_HDR_LEN     12 /* virtio_net_hdr_v1: VERSION_1 always has num_buffers */

/* Split virtqueue (2.7). */
#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

/*
 * Largest queue guest-min sets up: QueueNumMax cut to it and to vq->limit (a
 * driver may choose a smaller size, 4.2.2.2), rounded down to a power of two.
 */
#define GM_VQ_MAX_SIZE 256
/* One ring area per queue: descriptors at 0, avail at 4096, used at 5120. */
#define GM_VQ_MEM_SIZE 8192

struct gm_vdev {
	uint64_t base, size;   /* register window */
	uint32_t id;           /* VIRTIO_ID_* */
	uint64_t offered;      /* DeviceFeatures */
	uint64_t accepted;     /* what we wrote to DriverFeatures */
};

struct gm_vq {
	struct gm_vdev *dev;
	uint16_t index;        /* queue index (QueueSel) */
	uint16_t size;         /* entries */
	uint16_t limit;        /* at most this many (a power of two), 0: none; set by the caller */
	uint32_t num_max;      /* the device's QueueNumMax at the last setup */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	uint8_t *mem;          /* GM_VQ_MEM_SIZE bytes, kept across re-inits; NULL: a new one */
	uint16_t avail_idx;    /* our copy of avail->idx */
	uint16_t last_used;    /* used entries consumed so far */
	uint16_t nfree, free_head;
	uint16_t next[GM_VQ_MAX_SIZE];  /* free list and chain links, our own copy */
	uint16_t chain_len[GM_VQ_MAX_SIZE]; /* descriptors per outstanding head, 0 = free */
	uint16_t outstanding;  /* chains published, not yet used */
};

/* One buffer of a chain: device-readable, or device-writable when write. */
struct gm_vbuf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/*
 * The nth (0-based) virtio-mmio device with this device id among the
 * virtio_mmio.device= parameters; false when there is none.  Entries that are
 * malformed, outside the MMIO gap, unmapped, not "virt" or not version 2 are
 * reported once and skipped.
 */
bool gm_virtio_find(const struct gm_ctx *ctx, uint32_t id, unsigned nth, struct gm_vdev *dev);

/*
 * Full initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, features (want is
 * masked with what is offered; VIRTIO_F_VERSION_1 is required), FEATURES_OK
 * read back, queues 0..nvq-1, DRIVER_OK.  who prefixes error messages.
 */
bool gm_virtio_init(const struct gm_ctx *ctx, struct gm_vdev *dev, uint64_t want,
		    struct gm_vq *vqs, unsigned nvq, const char *who);

/* Status = 0, then wait (1 s) until it reads back 0 (4.2.3.1.1). */
bool gm_virtio_reset(const struct gm_ctx *ctx, struct gm_vdev *dev, const char *who);

uint32_t gm_virtio_status(const struct gm_vdev *dev);
/* Raw register access, for programs that poke the device on purpose. */
uint32_t gm_virtio_read32(const struct gm_vdev *dev, uint32_t off);
void gm_virtio_write32(const struct gm_vdev *dev, uint32_t off, uint32_t v);

/* Device config space (offsets from 0x100), bounds-checked: 0 / ignored outside. */
uint8_t gm_virtio_cfg8(const struct gm_vdev *dev, uint32_t off);
uint32_t gm_virtio_cfg32(const struct gm_vdev *dev, uint32_t off);
uint64_t gm_virtio_cfg64(const struct gm_vdev *dev, uint32_t off); /* generation-checked */
void gm_virtio_cfg_write8(const struct gm_vdev *dev, uint32_t off, uint8_t v);
void gm_virtio_cfg_write32(const struct gm_vdev *dev, uint32_t off, uint32_t v);

/* A printable name for status bits, e.g. "ACK|DRIVER|FEATURES_OK|DRIVER_OK". */
const char *gm_virtio_status_str(uint32_t status);

/*
 * Put a chain of n buffers on the avail ring (no notify); returns its head
 * descriptor, or -1 when fewer than n descriptors are free.
 */
int gm_vq_add(struct gm_vq *vq, const struct gm_vbuf *bufs, unsigned n);
/*
 * One VIRTQ_DESC_F_INDIRECT descriptor naming a table of len bytes at table
 * (already filled in), on the avail ring (no notify); its head or -1.
 */
int gm_vq_add_indirect(struct gm_vq *vq, uint64_t table, uint32_t len);
/* QueueNotify unless the device set VIRTQ_USED_F_NO_NOTIFY (after a fence). */
void gm_vq_kick(struct gm_vq *vq);
/*
 * Next used element: its head (its chain is freed) and *len, or -1 when the
 * device has used nothing new, or -2 when the device returned a head that is
 * not outstanding (a device bug; reported).
 */
int gm_vq_poll(struct gm_vq *vq, uint32_t *len);
/* gm_vq_poll until deadline_tsc; -1 on timeout. */
int gm_vq_wait(struct gm_vq *vq, uint64_t deadline_tsc, uint32_t *len);

/* Raw ring access for hostile programs: publish any value as a head. */
void gm_vq_publish_raw(struct gm_vq *vq, uint16_t head);
/* Device's used->idx, read once. */
uint16_t gm_vq_used_idx(const struct gm_vq *vq);

/* ---- virtio-blk helpers (virtio_blk.c), shared by blk and hostile-* ---- */

struct gm_blk_req_mem {
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} hdr[GM_VQ_MAX_SIZE];
	uint8_t status[GM_VQ_MAX_SIZE];
};

struct gm_blk {
	struct gm_vdev dev;
	struct gm_vq vq;
	struct gm_blk_req_mem *req; /* indexed by head descriptor */
	uint64_t capacity;          /* 512-byte sectors */
	uint32_t size_max;          /* max bytes per data descriptor (0: none) */
	uint32_t seg_max;           /* max data descriptors per request (0: none) */
	uint64_t want;              /* features asked for at init */
	/*
	 * Request layout, zero for the plain one (data split by size_max only, a
	 * direct chain).  segs: split the data into this many descriptors, at
	 * sector boundaries, as evenly as the sectors allow.  tables: put every
	 * chain in an indirect table at tables + head * GM_BLK_TABLE_STRIDE +
	 * table_off (0 or 8: a struct virtq_desc needs 8-byte alignment in C, the
	 * spec asks none) and only one INDIRECT descriptor on the ring.
	 */
	uint32_t segs;
	uint8_t *tables;            /* GM_BLK_TABLES_SIZE bytes */
	uint32_t table_off;
};

/* One table slot per head, room for a full-length chain (queue size entries). */
#define GM_BLK_TABLE_STRIDE (GM_VQ_MAX_SIZE * 16u)
#define GM_BLK_TABLES_SIZE  (GM_VQ_MAX_SIZE * GM_BLK_TABLE_STRIDE + 16u)

/*
 * The nth (0-based) virtio-blk device: found, initialised with the blk
 * features guest-min uses plus extra, config read.  Prints why not.
 */
bool gm_blk_open(const struct gm_ctx *ctx, struct gm_blk *blk, unsigned nth, uint64_t extra,
		 const char *who);
/* Reset and initialise again with the same features. */
bool gm_blk_reinit(const struct gm_ctx *ctx, struct gm_blk *blk, const char *who);
/*
 * Header + data (split by size_max, or into segs pieces) + status, direct or
 * in an indirect table (see struct gm_blk); returns head or -1 (no room, or a
 * layout the device's limits or the queue size do not allow).
 */
int gm_blk_submit(struct gm_blk *blk, uint32_t type, uint64_t sector, void *data,
		  uint32_t len);
/*
 * One request, waited for (timeout_ms): the status byte (0 OK, 1 IOERR,
 * 2 UNSUPP, ...), -1 when it did not complete in time or could not be queued.
 */
int gm_blk_sync(const struct gm_ctx *ctx, struct gm_blk *blk, uint32_t type,
		uint64_t sector, void *data, uint32_t len, uint64_t timeout_ms);
/* Data descriptors one request of len bytes needs (with segs: how many it gets). */
unsigned gm_blk_segs(const struct gm_blk *blk, uint32_t len);

/* prog_net.c: "a.b.c.d" and "aa:bb:cc:dd:ee:ff". */
bool gm_net_parse_ip(const char *s, uint8_t ip[4]);
bool gm_net_parse_mac(const char *s, uint8_t mac[6]);

/* Programs (prog_blk.c, prog_net.c, prog_hostile.c, prog_hostile_net.c). */
int prog_blk(const struct gm_ctx *ctx);
int prog_net(const struct gm_ctx *ctx);
int prog_hostile_loop(const struct gm_ctx *ctx);
int prog_hostile_oob(const struct gm_ctx *ctx);
int prog_hostile_wrap(const struct gm_ctx *ctx);
int prog_hostile_index(const struct gm_ctx *ctx);
int prog_hostile_notify(const struct gm_ctx *ctx);
int prog_hostile_config(const struct gm_ctx *ctx);
int prog_hostile_reset(const struct gm_ctx *ctx);
int prog_hostile_indirect(const struct gm_ctx *ctx);
int prog_hostile_net(const struct gm_ctx *ctx);

#endif
