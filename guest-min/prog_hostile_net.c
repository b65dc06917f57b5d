/*
 * hostile-net [case]: attacks on the first virtio-net device's queues, the
 * net counterpart of hostile-* (prog_hostile.c, same output and verdicts).
 *
 * Proof of life, before and after every attack (after a reset and a new
 * initialisation): an ARP request for net.peer (default 10.0.0.1) from net.ip
 * (default 10.0.0.2) goes out and the device returns the TX buffer; with
 * hostile.reply=1 the peer's ARP reply must also arrive (a host TAP with
 * net.peer as its address answers without any neighbour setup).  The RX
 * attacks need such a reply to make the device use the bad buffer; without
 * one they report "no reaction".
 */
#include "virtio.h"

#define RXQ 0
#define TXQ 1
#define OOB_ADDR     0x7ffff0000000ULL
#define FRAME_OFF    0          /* TX frame (virtio-net header + ARP) */
#define RX_OFF       4096       /* RX buffers, 2048 bytes each */
#define NRX          8
#define RX_SIZE      2048u
#define HUGE_LEN     (16u << 20)
#define ARP_FRAME    (VIRTIO_NET_HDR_LEN + 42)

struct hnet {
	const struct gm_ctx *ctx;
	const char *cs;
	struct gm_vdev dev;
	struct gm_vq vq[2];
	uint8_t mac[6], ip[4], peer[4];
	uint8_t *mem;          /* 64 KiB: frame, RX buffers, scratch */
	uint64_t wait_ms;
	bool want_reply;
	struct gm_vq *attacked; /* the queue the case broke */
};

struct ncase {
	const char *name;
	void (*attack)(struct hnet *h);
	bool must_not_complete; /* completing the chain would mean the device used bad memory */
};

static uint64_t addr(struct hnet *h, uint32_t off)
{
	return (uint64_t)(uintptr_t)(h->mem + off);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Who has net.peer? Tell net.ip: a broadcast the peer answers. */
static void build_arp(struct hnet *h)
{
	uint8_t *f = h->mem + FRAME_OFF, *a;

	gm_fill64(f, 0, 128 / 8);
	memset(f + VIRTIO_NET_HDR_LEN, 0xff, 6);
	memcpy(f + VIRTIO_NET_HDR_LEN + 6, h->mac, 6);
	put16(f + VIRTIO_NET_HDR_LEN + 12, 0x0806);
	a = f + VIRTIO_NET_HDR_LEN + 14;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, h->mac, 6);
	memcpy(a + 14, h->ip, 4);
	memcpy(a + 24, h->peer, 4);
}

static bool is_arp_reply(struct hnet *h, const uint8_t *f, uint32_t len)
{
	const uint8_t *a = f + VIRTIO_NET_HDR_LEN + 14;

	return len >= VIRTIO_NET_HDR_LEN + 42 && f[VIRTIO_NET_HDR_LEN + 12] == 0x08 &&
	       f[VIRTIO_NET_HDR_LEN + 13] == 0x06 && a[6] == 0 && a[7] == 2 &&
	       !memcmp(a + 14, h->peer, 4) && !memcmp(a + 24, h->ip, 4);
}

static bool setup(struct hnet *h, const char *prog)
{
	if (!gm_virtio_init(h->ctx, &h->dev, VIRTIO_NET_F_MAC, h->vq, 2, prog))
		return false;
	if (h->dev.accepted & VIRTIO_NET_F_MAC) {
		for (uint32_t i = 0; i < 6; i++)
			h->mac[i] = gm_virtio_cfg8(&h->dev, VIRTIO_NET_CFG_MAC + i);
	} else {
		static const uint8_t fallback[6] = { 0x02, 0x67, 0x6d, 0x00, 0x00, 0x02 };

		memcpy(h->mac, fallback, 6);
	}
	build_arp(h);
	return true;
}

static void send_arp(struct hnet *h)
{
	struct gm_vbuf b = { addr(h, FRAME_OFF), ARP_FRAME, false };

	gm_vq_add(&h->vq[TXQ], &b, 1);
	gm_vq_kick(&h->vq[TXQ]);
}

/* RX buffers posted, an ARP request sent and returned, the reply seen if wanted. */
static bool alive(struct hnet *h, const char *prog, const char *when)
{
	uint64_t deadline = gm_rdtsc() + gm_ms_to_tsc(h->ctx, 2000);
	bool sent = false, replied = false;
	uint32_t len, st;
	int head;

	for (uint32_t i = 0; i < NRX; i++) {
		struct gm_vbuf b = { addr(h, RX_OFF + i * RX_SIZE), RX_SIZE, true };

		gm_vq_add(&h->vq[RXQ], &b, 1);
	}
	gm_vq_kick(&h->vq[RXQ]);
	send_arp(h);
	while (gm_rdtsc() < deadline && !(sent && (replied || !h->want_reply))) {
		if ((head = gm_vq_poll(&h->vq[TXQ], &len)) >= 0)
			sent = true;
		if ((head = gm_vq_poll(&h->vq[RXQ], &len)) >= 0) {
			const uint8_t *f = h->mem + RX_OFF + (uint32_t)head * RX_SIZE;

			/* One descriptor per buffer, posted in order: head i is buffer i. */
			if (head < NRX && is_arp_reply(h, f, len < RX_SIZE ? len : RX_SIZE))
				replied = true;
		}
	}
	if (sent && (replied || !h->want_reply))
		return true;
	st = gm_virtio_status(&h->dev);
	gm_printf("%s: %s: %s: %s (device status 0x%x %s)\n", prog, h->cs, when,
		  sent ? "no ARP reply came back" : "the device did not return the TX buffer",
		  st, gm_virtio_status_str(st));
	return false;
}

static void raw(struct gm_vq *vq, uint16_t i, uint64_t a, uint32_t len, uint16_t flags,
		uint16_t next)
{
	volatile struct virtq_desc *d = &vq->desc[i];

	d->addr = a;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void tx_raw(struct hnet *h, uint64_t a, uint32_t len)
{
	raw(&h->vq[TXQ], 0, a, len, 0, 0);
	gm_vq_publish_raw(&h->vq[TXQ], 0);
	gm_vq_kick(&h->vq[TXQ]);
	h->attacked = &h->vq[TXQ];
}

static void tx_oob(struct hnet *h)
{
	tx_raw(h, OOB_ADDR, ARP_FRAME);
}

static void tx_wrap(struct hnet *h)
{
	tx_raw(h, 0xffffffffffffff00ULL, 0x200);
}

static void tx_loop(struct hnet *h)
{
	raw(&h->vq[TXQ], 0, addr(h, FRAME_OFF), VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1);
	raw(&h->vq[TXQ], 1, addr(h, FRAME_OFF) + VIRTIO_NET_HDR_LEN, 42, VIRTQ_DESC_F_NEXT, 0);
	gm_vq_publish_raw(&h->vq[TXQ], 0);
	gm_vq_kick(&h->vq[TXQ]);
	h->attacked = &h->vq[TXQ];
}

static void tx_huge(struct hnet *h)
{
	/* A 16 MiB "frame" of guest RAM (the guest's own image and beyond): far over 64 KiB. */
	tx_raw(h, 0x100000, HUGE_LEN);
}

static void tx_short(struct hnet *h)
{
	/* Less than the virtio-net header. */
	tx_raw(h, addr(h, FRAME_OFF), 4);
}

static void tx_writable(struct hnet *h)
{
	/* A TX chain ending in a device-writable buffer. */
	raw(&h->vq[TXQ], 0, addr(h, FRAME_OFF), ARP_FRAME, VIRTQ_DESC_F_NEXT, 1);
	raw(&h->vq[TXQ], 1, addr(h, 8192 + 4096), 512, VIRTQ_DESC_F_WRITE, 0);
	gm_vq_publish_raw(&h->vq[TXQ], 0);
	gm_vq_kick(&h->vq[TXQ]);
	h->attacked = &h->vq[TXQ];
}

/* The only RX buffer is the bad one; then a valid ARP request makes the peer answer. */
static void rx_bad(struct hnet *h, uint64_t a, uint32_t len, uint16_t flags)
{
	raw(&h->vq[RXQ], 0, a, len, flags, 0);
	gm_vq_publish_raw(&h->vq[RXQ], 0);
	gm_vq_kick(&h->vq[RXQ]);
	send_arp(h);
	h->attacked = &h->vq[RXQ];
}

static void rx_readonly(struct hnet *h)
{
	rx_bad(h, addr(h, RX_OFF), RX_SIZE, 0); /* no VIRTQ_DESC_F_WRITE */
}

static void rx_oob(struct hnet *h)
{
	rx_bad(h, OOB_ADDR, RX_SIZE, VIRTQ_DESC_F_WRITE);
}

static void rx_tiny(struct hnet *h)
{
	rx_bad(h, addr(h, RX_OFF), 4, VIRTQ_DESC_F_WRITE); /* smaller than the header */
}

/* Like prog_hostile.c's watch: NEEDS_RESET, a completion, or nothing. */
static bool watch(struct hnet *h, const char *prog, const struct ncase *c)
{
	uint64_t deadline = gm_rdtsc() + gm_ms_to_tsc(h->ctx, h->wait_ms);
	struct gm_vq *vq = h->attacked;
	uint16_t used0 = vq->last_used;
	uint32_t st;

	for (;;) {
		st = gm_virtio_status(&h->dev);
		if (gm_vq_used_idx(vq) != used0) {
			uint32_t len = vq->used->ring[used0 & (vq->size - 1)].len;

			gm_printf("%s: %s: device returned the chain (len %u)%s\n", prog, h->cs, len,
				  st & VIRTIO_S_NEEDS_RESET ? ", device needs reset" : "");
			if (c->must_not_complete) {
				gm_printf("%s: %s: a chain on memory outside RAM must not come back\n",
					  prog, h->cs);
				return false;
			}
			return true;
		}
		if (st & VIRTIO_S_NEEDS_RESET) {
			gm_printf("%s: %s: device needs reset\n", prog, h->cs);
			return true;
		}
		if (gm_rdtsc() > deadline) {
			gm_printf("%s: %s: no reaction within %llu ms (status 0x%x %s)\n", prog,
				  h->cs, (unsigned long long)h->wait_ms, st, gm_virtio_status_str(st));
			return true;
		}
	}
}

int prog_hostile_net(const struct gm_ctx *ctx)
{
	static const struct ncase cases[] = {
		{ "tx-oob", tx_oob, true },
		{ "tx-wrap", tx_wrap, true },
		{ "tx-loop", tx_loop, false },
		{ "tx-huge", tx_huge, false },
		{ "tx-short", tx_short, false },
		{ "tx-writable", tx_writable, false },
		{ "rx-readonly", rx_readonly, false },
		{ "rx-oob", rx_oob, true },
		{ "rx-tiny", rx_tiny, false },
	};
	static const char prog[] = "hostile-net";
	const char *only = ctx->argc > 1 ? ctx->argv[1] : NULL;
	const char *ip = gm_param(ctx, "net.ip"), *peer = gm_param(ctx, "net.peer");
	struct hnet *h = gm_zalloc(sizeof(*h));
	bool ran = false, bad = false;

	if (!h || !(h->mem = gm_alloc(65536, 4096))) {
		gm_printf("%s: not enough guest RAM\n", prog);
		return 1;
	}
	h->ctx = ctx;
	h->want_reply = gm_param_bool(ctx, "hostile.reply");
	if (!gm_net_parse_ip(ip ? ip : "10.0.0.2", h->ip) ||
	    !gm_net_parse_ip(peer ? peer : "10.0.0.1", h->peer) ||
	    !gm_param_u64(ctx, "hostile.wait_ms", 60000, 1000, &h->wait_ms)) {
		gm_printf("%s: bad net.ip, net.peer or hostile.wait_ms\n", prog);
		return 2;
	}
	if (!gm_virtio_find(ctx, VIRTIO_ID_NET, 0, &h->dev)) {
		gm_printf("%s: no virtio-net device\n", prog);
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ncase *c = &cases[i];

		if (only && !gm_streq(only, c->name))
			continue;
		ran = true;
		h->cs = c->name;
		if (!setup(h, prog) || !alive(h, prog, "before the attack") || !setup(h, prog))
			return 1;
		c->attack(h);
		if (!watch(h, prog, c))
			bad = true;
		if (!setup(h, prog) || !alive(h, prog, "after reset and re-initialisation"))
			return 1;
	}
	if (!ran) {
		gm_printf("%s: no case '%s'; cases:", prog, only);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			gm_printf(" %s", cases[i].name);
		gm_puts("\n");
		return 2;
	}
	gm_printf("%s: ember alive%s\n", prog, bad ? ", but the device mishandled an attack" : "");
	return bad ? 1 : 0;
}
