/*
 * virtio-net (virtio 1.2, 5.1) on a TAP opened with IFF_VNET_HDR: the 12-byte
 * virtio_net_hdr_v1 the guest puts in front of each frame is the header the TAP
 * expects, so checksum and segmentation offloads pass straight through to the host
 * kernel. Queue 0 receives (TAP -> guest), queue 1 transmits (guest -> TAP).
 *
 * Receive copies each frame once, from a staging buffer into guest buffers the
 * transport validated; with MRG_RXBUF a frame may span several chains, which are
 * published together. Transmit hands the validated guest iovecs to writev.
 * A frame that cannot be placed stays staged until the guest posts buffers (its
 * notify) or the rate limiter's timer fires; the TAP is then read again.
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/rate_limiter.h"
#include "../vcpu/host.h"
#include "iov.h"
#include "mmio.h"

#define NET_QUEUE_MAX 256
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_HDR_LEN 12 /* virtio_net_hdr_v1: VERSION_1 always has num_buffers */
/* Header + the largest GSO frame + Ethernet and VLAN headers (as Firecracker). */
#define NET_MAX_BUF (NET_HDR_LEN + 65550)

/* 5.1.3 Feature bits. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_MRG_RXBUF 15

struct virtio_net_config_space {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs; /* 1: no MQ */
	uint16_t mtu;                 /* with VIRTIO_NET_F_MTU */
} __attribute__((packed));

struct net_rx_used {
	uint16_t head;
	uint32_t len;
};

struct net_limiter {
	struct rate_limiter rl;
	struct event_handler handler;
};

struct virtio_net {
	struct virtio_device_ops ops;
	struct virtio_mmio *t;
	char id[CONFIG_MAX_ID + 1];
	char tap[IFNAMSIZ];
	int tap_fd;
	struct event_handler tap_handler;
	struct virtio_net_config_space config;
	struct net_limiter rx_limit, tx_limit;
	struct metrics_net *m;

	struct virtq_chain chain; /* the one being worked on; never two at once */
	struct iovec rx_hdr[NET_HDR_LEN];
	unsigned rx_nhdr;
	struct net_rx_used rx_used[NET_QUEUE_MAX];
	bool rx_staged;
	size_t rx_len;
	uint16_t rx_dry_at; /* avail index where the last placement ran out of buffers */
	uint64_t rx_dropped, tx_dropped;
	uint8_t rx_frame[NET_MAX_BUF];
};

static bool net_has(const struct virtio_net *n, unsigned bit)
{
	return virtio_mmio_has_feature(n->t, bit);
}

/* Gives back the chains taken for a frame that did not go in. */
static void net_rx_unpop(struct virtq *q, unsigned count)
{
	while (count--)
		virtq_unpop(q);
}

/* Remembers where the header of the first buffer is, to fill num_buffers at the end. */
static void net_rx_note_header(struct virtio_net *n)
{
	size_t got;
	n->rx_nhdr = iov_slice(n->chain.iov, n->chain.nin, 0, NET_HDR_LEN, n->rx_hdr,
			       NET_HDR_LEN, &got);
}

/*
 * Copies the staged frame into as many receive chains as it needs. Returns 1 when the
 * frame is gone (delivered or dropped), 0 when the guest must post more buffers first,
 * -1 when the ring is broken.
 */
static int net_rx_place(struct virtio_net *n, struct virtq *q)
{
	bool merge = net_has(n, VIRTIO_NET_F_MRG_RXBUF);
	unsigned used = 0;
	size_t off = 0;
	while (off < n->rx_len) {
		if (used == q->size || (used && !merge)) {
			net_rx_unpop(q, used); /* can never fit: drop it rather than stall */
			n->rx_dropped++;
			METRIC_INC(n->m->rx_fails);
			return 1;
		}
		int got = virtq_pop_chain(q, &n->chain);
		if (got < 0)
			return -1;
		if (got == 0) {
			n->rx_dry_at = q->last_avail;
			net_rx_unpop(q, used);
			METRIC_INC(n->m->no_rx_avail_buffer);
			return 0;
		}
		if (n->chain.nout || n->chain.in_len < (used ? 1 : NET_HDR_LEN)) {
			virtq_break(q, "receive chain with a device-readable buffer or no room "
				       "for the header");
			return -1;
		}
		size_t take = n->rx_len - off < n->chain.in_len ? n->rx_len - off : n->chain.in_len;
		if (!used)
			net_rx_note_header(n);
		iov_from_buf(n->chain.iov, n->chain.nin, 0, n->rx_frame + off, take);
		n->rx_used[used++] = (struct net_rx_used){ n->chain.head, (uint32_t)take };
		off += take;
	}
	uint16_t nbufs = (uint16_t)used;
	iov_from_buf(n->rx_hdr, n->rx_nhdr, NET_HDR_LEN - 2, &nbufs, sizeof(nbufs));
	for (unsigned i = 0; i < used; i++)
		virtq_fill_used(q, n->rx_used[i].head, n->rx_used[i].len);
	virtq_publish_used(q);
	/* As Firecracker: bytes as read from the TAP, virtio-net header included. */
	METRIC_INC(n->m->rx_count);
	METRIC_INC(n->m->rx_packets_count);
	METRIC_ADD(n->m->rx_bytes_count, n->rx_len);
	return 1;
}

/* Reads the next frame from the TAP into the staging buffer; false when none is there. */
static bool net_rx_stage(struct virtio_net *n)
{
	for (;;) {
		ssize_t r = read(n->tap_fd, n->rx_frame, sizeof(n->rx_frame));
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				METRIC_INC(n->m->tap_read_fails);
				log_once(LOG_WARN, "net '%s': reading TAP %s: %s", n->id, n->tap,
					 strerror(errno));
			}
			if (errno == EINTR)
				continue;
			return false;
		}
		if (r > NET_HDR_LEN) {
			n->rx_len = (size_t)r;
			return n->rx_staged = true;
		}
	}
}

static void net_rx_run(struct virtio_net *n, struct virtq *q)
{
	bool delivered = false;
	while (virtio_mmio_queue_live(n->t, q)) {
		/* Blocked: the TAP is not even read (the frame would only wait in memory). */
		if (rate_limiter_is_blocked(&n->rx_limit.rl)) {
			METRIC_INC(n->m->rx_rate_limiter_throttled);
			break;
		}
		if (!n->rx_staged && !net_rx_stage(n))
			break;
		uint64_t bytes = n->rx_len - NET_HDR_LEN;
		if (!rate_limiter_consume(&n->rx_limit.rl, bytes, 1)) {
			METRIC_INC(n->m->rx_rate_limiter_throttled);
			break;
		}
		int placed = net_rx_place(n, q);
		if (placed <= 0) {
			rate_limiter_replenish(&n->rx_limit.rl, bytes, 1);
			if (placed < 0) {
				virtio_mmio_ring_error(n->t, q);
				break;
			}
			/* Retry only when the guest posted more than what was too little. */
			if (virtq_arm_notify_at(q, n->rx_dry_at))
				continue;
			break;
		}
		n->rx_staged = false;
		delivered = true;
	}
	if (delivered)
		virtio_mmio_notify_used(n->t, q);
}

/* With a MAC given, a frame from another source address is counted (and still sent). */
static void net_tx_check_source(struct virtio_net *n, const struct virtq_chain *c)
{
	uint8_t src[6];
	if ((n->ops.features & (1ULL << VIRTIO_NET_F_MAC)) &&
	    iov_to_buf(c->iov, c->nout, NET_HDR_LEN + 6, src, sizeof(src)) == sizeof(src) &&
	    memcmp(src, n->config.mac, sizeof(src)) != 0)
		METRIC_INC(n->m->tx_spoofed_mac_count);
}

/* One transmit chain: header + frame, all device-readable. */
static void net_tx_send(struct virtio_net *n, struct virtq *q)
{
	const struct virtq_chain *c = &n->chain;
	if (c->nin || c->out_len <= NET_HDR_LEN || c->out_len > NET_MAX_BUF) {
		log_once(LOG_WARN, "net '%s': dropped a malformed transmit frame (%llu bytes)",
			 n->id, (unsigned long long)c->out_len);
		n->tx_dropped++;
		METRIC_INC(n->m->tx_malformed_frames);
	} else {
		net_tx_check_source(n, c);
		if (writev(n->tap_fd, c->iov, (int)c->nout) < 0) {
			n->tx_dropped++; /* a full or down TAP drops, like a wire */
			METRIC_INC(n->m->tap_write_fails);
		} else {
			/* As Firecracker: bytes as written to the TAP, header included. */
			METRIC_INC(n->m->tx_count);
			METRIC_INC(n->m->tx_packets_count);
			METRIC_ADD(n->m->tx_bytes_count, c->out_len);
		}
	}
	virtq_fill_used(q, c->head, 0);
}

static void net_tx_run(struct virtio_net *n, struct virtq *q)
{
	bool sent = false, empty = false;
	while (virtio_mmio_queue_live(n->t, q)) {
		if (rate_limiter_is_blocked(&n->tx_limit.rl)) {
			METRIC_INC(n->m->tx_rate_limiter_throttled);
			break;
		}
		int got = virtq_pop_chain(q, &n->chain);
		if (got < 0) {
			virtio_mmio_ring_error(n->t, q);
			break;
		}
		if (got == 0) {
			empty = true;
			if (virtq_arm_notify(q))
				continue;
			break;
		}
		METRIC_ADD(n->m->tx_remaining_reqs_count, virtq_pending(q));
		uint64_t bytes = n->chain.out_len > NET_HDR_LEN ? n->chain.out_len - NET_HDR_LEN : 0;
		if (!rate_limiter_consume(&n->tx_limit.rl, bytes, 1)) {
			METRIC_INC(n->m->tx_rate_limiter_throttled);
			virtq_unpop(q);
			break;
		}
		net_tx_send(n, q);
		sent = true;
	}
	if (empty && !sent)
		METRIC_INC(n->m->no_tx_avail_buffer);
	if (sent) {
		virtq_publish_used(q);
		virtio_mmio_notify_used(n->t, q);
	}
}

static void net_queue_notify(void *dev, struct virtio_mmio *t, unsigned index, struct virtq *q)
{
	struct virtio_net *n = dev;
	(void)t;
	if (index == NET_RXQ) {
		METRIC_INC(n->m->rx_queue_event_count);
		net_rx_run(n, q);
	} else {
		METRIC_INC(n->m->tx_queue_event_count);
		net_tx_run(n, q);
	}
}

static void net_tap_readable(void *ctx, struct virtq *rxq)
{
	struct virtio_net *n = ctx;
	METRIC_INC(n->m->rx_tap_event_count);
	net_rx_run(n, rxq);
}

static void net_on_tap(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;
	(void)events;
	virtio_mmio_run(n->t, NET_RXQ, net_tap_readable, n);
}

static void net_rx_timer_fired(void *ctx, struct virtq *rxq)
{
	struct virtio_net *n = ctx;
	METRIC_INC(n->m->rx_event_rate_limiter_count);
	rate_limiter_timer_fired(&n->rx_limit.rl);
	net_rx_run(n, rxq);
}

static void net_on_rx_timer(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;
	(void)events;
	virtio_mmio_run(n->t, NET_RXQ, net_rx_timer_fired, n);
}

static void net_tx_timer_fired(void *ctx, struct virtq *txq)
{
	struct virtio_net *n = ctx;
	METRIC_INC(n->m->tx_rate_limiter_event_count);
	rate_limiter_timer_fired(&n->tx_limit.rl);
	net_tx_run(n, txq);
}

static void net_on_tx_timer(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;
	(void)events;
	virtio_mmio_run(n->t, NET_TXQ, net_tx_timer_fired, n);
}

/* The host kernel may hand us only what the guest said it can take. */
static bool net_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_net *n = dev;
	(void)t;
	unsigned offload = 0;
	if (net_has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		offload |= TUN_F_CSUM;
		if (net_has(n, VIRTIO_NET_F_GUEST_TSO4))
			offload |= TUN_F_TSO4;
		if (net_has(n, VIRTIO_NET_F_GUEST_TSO6))
			offload |= TUN_F_TSO6;
	}
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, offload) < 0) {
		log_warn("net '%s': TUNSETOFFLOAD 0x%x on %s: %s", n->id, offload, n->tap,
			 strerror(errno));
		METRIC_INC(n->m->activate_fails);
		return false;
	}
	return true;
}

static void net_reset(void *dev, struct virtio_mmio *t)
{
	struct virtio_net *n = dev;
	(void)t;
	n->rx_staged = false;
}

static void net_destroy(void *dev)
{
	struct virtio_net *n = dev;
	rate_limiter_destroy(&n->rx_limit.rl);
	rate_limiter_destroy(&n->tx_limit.rl);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	metrics_net_unregister(n->m);
	free(n);
}

static const void *net_config(void *dev, size_t *len)
{
	struct virtio_net *n = dev;
	*len = sizeof(n->config);
	return &n->config;
}

static const struct virtio_device_ops net_ops_template = {
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = NET_QUEUE_MAX,
	.features = (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
		    (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
		    (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
		    (1ULL << VIRTIO_NET_F_MRG_RXBUF),
	.config = net_config,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
};

static int net_open_tap(struct virtio_net *n, struct errbuf *e)
{
	n->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap_fd < 0)
		return errf(e, "net '%s': cannot open /dev/net/tun: %s", n->id, strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->tap, strnlen(n->tap, IFNAMSIZ - 1));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	int hdr = NET_HDR_LEN;
	if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0)
		return errf(e, "net '%s': cannot attach to TAP '%s': %s", n->id, n->tap,
			    strerror(errno));
	if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0)
		return errf(e, "net '%s': TAP '%s' refuses virtio-net headers: %s", n->id, n->tap,
			    strerror(errno));
	return 0;
}

static int net_watch(const struct vm_host *h, int fd, uint32_t events, struct event_handler *eh,
		     void (*fn)(void *, uint32_t), void *opaque)
{
	*eh = (struct event_handler){ .fn = fn, .opaque = opaque };
	return event_loop_add(h->loop, fd, events, eh);
}

static int net_setup(struct virtio_net *n, const struct vm_host *h, const struct net_config *c,
		     struct errbuf *e)
{
	if (net_open_tap(n, e) < 0 || rate_limiter_init(&n->rx_limit.rl, &c->rx, e) < 0 ||
	    rate_limiter_init(&n->tx_limit.rl, &c->tx, e) < 0)
		return -1;
	/* Edge-triggered: a staged frame that waits for buffers must not spin the loop. */
	if (net_watch(h, n->tap_fd, EPOLLIN | EPOLLET, &n->tap_handler, net_on_tap, n) < 0 ||
	    net_watch(h, n->rx_limit.rl.timer_fd, EPOLLIN, &n->rx_limit.handler,
		      net_on_rx_timer, n) < 0 ||
	    net_watch(h, n->tx_limit.rl.timer_fd, EPOLLIN, &n->tx_limit.handler,
		      net_on_tx_timer, n) < 0)
		return errf(e, "net '%s': cannot watch its file descriptors: %s", n->id,
			    strerror(errno));
	n->ops = net_ops_template;
	if (c->has_mac) {
		memcpy(n->config.mac, c->mac, sizeof(n->config.mac));
		n->ops.features |= 1ULL << VIRTIO_NET_F_MAC;
	}
	n->config.max_virtqueue_pairs = 1;
	if (c->mtu) { /* 5.1.4.2: the guest's MTU; the TAP's own stays the host's business */
		n->config.mtu = c->mtu;
		n->ops.features |= 1ULL << VIRTIO_NET_F_MTU;
	}
	return 0;
}

int virtio_net_create(const struct vm_host *h, struct virtio_registry *reg,
		      const struct net_config *c, struct virtio_net **out, struct errbuf *e)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return errf(e, "net '%s': out of memory", c->id);
	n->tap_fd = n->rx_limit.rl.timer_fd = n->tx_limit.rl.timer_fd = -1;
	snprintf(n->id, sizeof(n->id), "%s", c->id);
	snprintf(n->tap, sizeof(n->tap), "%s", c->tap);
	n->m = metrics_net_register(n->id);
	if (net_setup(n, h, c, e) < 0) {
		net_destroy(n);
		return -1;
	}
	char name[32];
	snprintf(name, sizeof(name), "virtio-net %.20s", c->id);
	if (virtio_mmio_create(h, reg, &n->ops, n, name, &n->t, e) < 0)
		return -1;
	*out = n;
	return 0;
}

const char *virtio_net_id(const struct virtio_net *n)
{
	return n->id;
}

/* ---------------------------------------------------------------- run-time update */

/* c (NULL: keep) applied to a copy of rl: plain data and the same timer fd. */
static int net_limiter_update(struct rate_limiter *rl, const struct rate_limiter_change *c,
			      struct errbuf *e)
{
	return c ? rate_limiter_update(rl, c->bandwidth, c->ops, e) : 0;
}

struct net_update {
	struct virtio_net *n;
	const struct rate_limiter_change *rx, *tx;
	struct errbuf *e;
	int ret;
};

/* Both directions are checked before either changes: an error changes nothing. */
static void net_update_locked(void *ctx, struct virtq *none)
{
	struct net_update *u = ctx;
	struct virtio_net *n = u->n;
	struct rate_limiter nrx = n->rx_limit.rl, ntx = n->tx_limit.rl;
	struct errbuf why;
	(void)none;
	if (net_limiter_update(&nrx, u->rx, &why) < 0)
		u->ret = errf(u->e, "net '%s': rx %s", n->id, why.msg);
	else if (net_limiter_update(&ntx, u->tx, &why) < 0)
		u->ret = errf(u->e, "net '%s': tx %s", n->id, why.msg);
	if (u->ret == 0) {
		n->rx_limit.rl = nrx;
		n->tx_limit.rl = ntx;
	}
}

int virtio_net_update(struct virtio_net *n, const struct rate_limiter_change *rx,
		      const struct rate_limiter_change *tx, struct errbuf *e)
{
	struct net_update u = { n, rx, tx, e, 0 };
	virtio_mmio_run(n->t, VIRTIO_MMIO_NO_QUEUE, net_update_locked, &u);
	return u.ret;
}

/* Snapshots: the limiters are the device's, so they are read and set under the lock. */
struct net_state_call {
	struct virtio_net *n;
	struct virtio_net_state *s;
	bool save;
};

static void net_state_locked(void *ctx, struct virtq *q)
{
	struct net_state_call *c = ctx;
	(void)q;
	if (c->save) {
		rate_limiter_save(&c->n->rx_limit.rl, &c->s->rx);
		rate_limiter_save(&c->n->tx_limit.rl, &c->s->tx);
	} else {
		rate_limiter_restore(&c->n->rx_limit.rl, &c->s->rx);
		rate_limiter_restore(&c->n->tx_limit.rl, &c->s->tx);
	}
}

void virtio_net_save(struct virtio_net *n, struct virtio_net_state *s)
{
	struct net_state_call c = { n, s, true };
	memset(s, 0, sizeof(*s));
	virtio_mmio_run(n->t, VIRTIO_MMIO_NO_QUEUE, net_state_locked, &c);
}

void virtio_net_restore(struct virtio_net *n, const struct virtio_net_state *s)
{
	struct virtio_net_state copy = *s;
	struct net_state_call c = { n, &copy, false };
	virtio_mmio_run(n->t, VIRTIO_MMIO_NO_QUEUE, net_state_locked, &c);
}
