/*
 * net [count]: ICMP echo over the first virtio-net device.
 *
 * Sends count echo requests (IPv4, checksums computed here) from net.ip to
 * net.peer, Ethernet-addressed to net.peermac (broadcast when absent), with a
 * window of net.window requests in flight, and counts the matching replies.
 * The host side needs a static neighbour entry for net.ip (guest-min only
 * answers ARP requests, it never asks).  Every frame carries the 12-byte
 * virtio_net_hdr_v1 (VERSION_1: num_buffers always present), all zero on
 * transmit.  RX buffers stay posted: 2048 bytes each, one descriptor.
 *
 * Cost matters (about one instruction per microsecond under PVM): each
 * request is a copy of one prebuilt frame with the sequence number patched
 * and the ICMP checksum updated incrementally (RFC 1624).
 */
#include "virtio.h"

#define RXQ 0
#define TXQ 1
#define BUF_SIZE      2048u  /* >= 1526: header + 1514-byte frame */
#define MAX_RX        128
#define MAX_WINDOW    128
#define DEFAULT_COUNT 100
#define MAX_COUNT     1000000
#define ICMP_ID       0x676d /* "gm" */
#define PAYLOAD_LEN   32

#define ETH_HLEN      14
#define IP_HLEN       20
#define ICMP_HLEN     8
/* Offsets in a buffer: virtio-net header, then the Ethernet frame. */
#define OFF_ETH       VIRTIO_NET_HDR_LEN
#define OFF_IP        (OFF_ETH + ETH_HLEN)
#define OFF_ICMP      (OFF_IP + IP_HLEN)
#define OFF_PAYLOAD   (OFF_ICMP + ICMP_HLEN)
#define ECHO_LEN      (OFF_PAYLOAD + PAYLOAD_LEN) /* 86 bytes with the header */
#define ARP_LEN       (OFF_ETH + 60)              /* padded to the Ethernet minimum */

struct net_state {
	const struct gm_ctx *ctx;
	struct gm_vdev dev;
	struct gm_vq vq[2];
	uint8_t mac[6], peermac[6];
	uint8_t ip[4], peer[4];
	uint8_t *rx_buf[GM_VQ_MAX_SIZE];  /* by head descriptor */
	int16_t tx_slot[GM_VQ_MAX_SIZE];  /* by head descriptor */
	uint8_t *tx_mem;                  /* window + 1 slots of BUF_SIZE */
	uint16_t tx_free[MAX_WINDOW + 1]; /* stack of free slots */
	unsigned tx_nfree;
	unsigned window, tx_inflight, nrx, rx_unkicked;
	uint8_t echo[128] __attribute__((aligned(8))); /* prebuilt request */
	uint16_t echo_csum0;              /* its ICMP checksum with seq 0 */
	uint8_t *seen;                    /* one byte per sequence number */
	uint64_t sent, received, other, bad;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Internet checksum (RFC 1071) of len bytes, len a multiple of 4.  Summed
 * as native 32-bit words into 64 bits and folded: the one's-complement sum
 * does not care about byte order (RFC 1071 2.B) as long as the result is
 * stored the same way, which put_csum does.  A few instructions per 4 bytes
 * matter when every instruction costs a microsecond (PVM).
 */
static uint16_t csum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		s += w;
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A checksum from csum(), in network order because it was summed in memory order. */
static void put_csum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, 2);
}

/* Byte compare of short fields; qwords where the length allows. */
static bool eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (; n >= 8; n -= 8, a += 8, b += 8) {
		uint64_t x, y;

		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	for (; n; n--)
		if (*a++ != *b++)
			return false;
	return true;
}

bool gm_net_parse_ip(const char *s, uint8_t ip[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255 || (i < 3 ? *s != '.' : *s != '\0'))
			return false;
		ip[i] = (uint8_t)v;
		s++;
	}
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool gm_net_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (lo < 0 || (i < 5 ? s[2] != ':' : s[2] != '\0'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 3;
	}
	return true;
}

static void fmt_mac(char *buf, const uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 6; i++) {
		buf[i * 3] = hex[mac[i] >> 4];
		buf[i * 3 + 1] = hex[mac[i] & 15];
		buf[i * 3 + 2] = i < 5 ? ':' : '\0';
	}
}

static bool params(struct net_state *n)
{
	const char *ip = gm_param(n->ctx, "net.ip"), *peer = gm_param(n->ctx, "net.peer");
	const char *pm = gm_param(n->ctx, "net.peermac");
	uint64_t w;

	if (!gm_net_parse_ip(ip ? ip : "10.0.0.2", n->ip) || !gm_net_parse_ip(peer ? peer : "10.0.0.1", n->peer)) {
		gm_puts("net: net.ip / net.peer must be dotted IPv4 addresses\n");
		return false;
	}
	if (pm && !gm_net_parse_mac(pm, n->peermac)) {
		gm_printf("net: net.peermac=%s is not aa:bb:cc:dd:ee:ff\n", pm);
		return false;
	}
	if (!pm)
		memset(n->peermac, 0xff, 6);
	if (!gm_param_u64(n->ctx, "net.window", MAX_WINDOW, 32, &w) || !w)
		return false;
	n->window = (unsigned)w;
	return true;
}

static void build_echo(struct net_state *n)
{
	uint8_t *f = n->echo;

	memset(f, 0, sizeof(n->echo));
	/* virtio_net_hdr_v1 stays zero: no offloads, GSO_NONE, num_buffers 0. */
	memcpy(f + OFF_ETH, n->peermac, 6);
	memcpy(f + OFF_ETH + 6, n->mac, 6);
	put16(f + OFF_ETH + 12, 0x0800);
	f[OFF_IP] = 0x45;
	put16(f + OFF_IP + 2, IP_HLEN + ICMP_HLEN + PAYLOAD_LEN);
	put16(f + OFF_IP + 6, 0x4000); /* DF, id 0 */
	f[OFF_IP + 8] = 64;
	f[OFF_IP + 9] = 1; /* ICMP */
	memcpy(f + OFF_IP + 12, n->ip, 4);
	memcpy(f + OFF_IP + 16, n->peer, 4);
	put_csum(f + OFF_IP + 10, csum(f + OFF_IP, IP_HLEN));
	f[OFF_ICMP] = 8; /* echo request */
	put16(f + OFF_ICMP + 4, ICMP_ID);
	for (int i = 0; i < PAYLOAD_LEN; i++)
		f[OFF_PAYLOAD + i] = (uint8_t)('a' + i % 26);
	put_csum(f + OFF_ICMP + 2, csum(f + OFF_ICMP, ICMP_HLEN + PAYLOAD_LEN));
	n->echo_csum0 = get16(f + OFF_ICMP + 2); /* network order, for RFC 1624 */
}

static int tx_slot_get(struct net_state *n)
{
	return n->tx_nfree ? n->tx_free[n->tx_nfree - 1] : -1;
}

/* Queues one frame already in slot s; false when the ring is full. */
static bool tx_queue(struct net_state *n, int s, uint32_t len)
{
	struct gm_vbuf b = { (uint64_t)(uintptr_t)(n->tx_mem + (uint64_t)s * BUF_SIZE), len, false };
	int head = gm_vq_add(&n->vq[TXQ], &b, 1);

	if (head < 0)
		return false;
	n->tx_slot[head] = (int16_t)s;
	n->tx_nfree--; /* s was the top of the stack */
	n->tx_inflight++;
	return true;
}

static bool send_echo(struct net_state *n, uint16_t seq)
{
	int s = tx_slot_get(n);
	uint8_t *f;
	uint32_t sum;

	if (s < 0)
		return false;
	f = n->tx_mem + (uint64_t)s * BUF_SIZE;
	gm_copy64(f, n->echo, (ECHO_LEN + 7) / 8);
	put16(f + OFF_ICMP + 6, seq);
	/* RFC 1624: the sum with seq 0, plus seq, folded. */
	sum = (uint16_t)~n->echo_csum0 + (uint32_t)seq;
	sum = (sum & 0xffff) + (sum >> 16);
	put16(f + OFF_ICMP + 2, (uint16_t)~sum);
	return tx_queue(n, s, ECHO_LEN);
}

/* ARP request for our address: answer it (a reply cannot hurt, and is cheap). */
static void maybe_arp(struct net_state *n, const uint8_t *f, uint32_t len)
{
	const uint8_t *a = f + OFF_ETH + ETH_HLEN;
	uint8_t *r;
	int s;

	if (len < OFF_ETH + ETH_HLEN + 28 || get16(a) != 1 || get16(a + 2) != 0x0800 ||
	    a[4] != 6 || a[5] != 4 || get16(a + 6) != 1 || !eq(a + 24, n->ip, 4) ||
	    (s = tx_slot_get(n)) < 0)
		return;
	r = n->tx_mem + (uint64_t)s * BUF_SIZE;
	gm_fill64(r, 0, (ARP_LEN + 7) / 8);
	memcpy(r + OFF_ETH, a + 8, 6);
	memcpy(r + OFF_ETH + 6, n->mac, 6);
	put16(r + OFF_ETH + 12, 0x0806);
	r += OFF_ETH + ETH_HLEN;
	put16(r, 1);
	put16(r + 2, 0x0800);
	r[4] = 6;
	r[5] = 4;
	put16(r + 6, 2);
	memcpy(r + 8, n->mac, 6);
	memcpy(r + 14, n->ip, 4);
	memcpy(r + 18, a + 8, 6);
	memcpy(r + 24, a + 14, 4);
	if (tx_queue(n, s, ARP_LEN)) {
		gm_vq_kick(&n->vq[TXQ]);
		gm_puts("net: answered an ARP request\n");
	}
}

/* One received frame: an echo reply of ours is counted, ARP answered, the rest ignored. */
static void rx_frame(struct net_state *n, const uint8_t *f, uint32_t len, uint64_t count)
{
	const uint8_t *ip = f + OFF_IP, *icmp;
	unsigned ihl;
	uint16_t seq;

	if (len < OFF_IP) {
		n->bad++;
		return;
	}
	if (get16(f + OFF_ETH + 12) == 0x0806) {
		maybe_arp(n, f, len);
		n->other++;
		return;
	}
	ihl = (ip[0] & 15u) * 4;
	if (get16(f + OFF_ETH + 12) != 0x0800 || (ip[0] >> 4) != 4 || ihl < IP_HLEN ||
	    len < OFF_IP + ihl + ICMP_HLEN + PAYLOAD_LEN || ip[9] != 1 ||
	    !eq(ip + 12, n->peer, 4) || !eq(ip + 16, n->ip, 4)) {
		n->other++;
		return;
	}
	icmp = ip + ihl;
	if (icmp[0] != 0 || get16(icmp + 4) != ICMP_ID) {
		n->other++;
		return;
	}
	seq = get16(icmp + 6);
	if (!eq(f + OFF_ETH, n->mac, 6) || csum(ip, ihl) != 0 ||
	    get16(ip + 2) != ihl + ICMP_HLEN + PAYLOAD_LEN ||
	    csum(icmp, ICMP_HLEN + PAYLOAD_LEN) != 0 || icmp[1] != 0 ||
	    !eq(icmp + ICMP_HLEN, n->echo + OFF_PAYLOAD, PAYLOAD_LEN) || seq >= count ||
	    n->seen[seq]) {
		if (n->bad++ < 5)
			gm_printf("net: bad or duplicate echo reply, seq %u, %u bytes\n", seq,
				  len);
		return;
	}
	n->seen[seq] = 1;
	n->received++;
}

static bool rx_post(struct net_state *n, uint8_t *buf)
{
	struct gm_vbuf b = { (uint64_t)(uintptr_t)buf, BUF_SIZE, true };
	int head = gm_vq_add(&n->vq[RXQ], &b, 1);

	if (head < 0)
		return false;
	n->rx_buf[head] = buf;
	return true;
}

static bool setup(struct net_state *n)
{
	unsigned nrx;
	uint8_t *rx;
	char m[18];

	if (!gm_virtio_find(n->ctx, VIRTIO_ID_NET, 0, &n->dev)) {
		gm_puts("net: no virtio-net device (virtio_mmio.device= parameters name none)\n");
		return false;
	}
	if (!gm_virtio_init(n->ctx, &n->dev, VIRTIO_NET_F_MAC, n->vq, 2, "net"))
		return false;
	if (n->dev.accepted & VIRTIO_NET_F_MAC) {
		for (int i = 0; i < 6; i++)
			n->mac[i] = gm_virtio_cfg8(&n->dev, VIRTIO_NET_CFG_MAC + (uint32_t)i);
	} else {
		static const uint8_t fallback[6] = { 0x02, 0x67, 0x6d, 0x00, 0x00, 0x01 };

		memcpy(n->mac, fallback, 6);
	}
	if (n->window > (unsigned)n->vq[TXQ].size - 1)
		n->window = (unsigned)n->vq[TXQ].size - 1;
	nrx = n->vq[RXQ].size < MAX_RX ? n->vq[RXQ].size : MAX_RX;
	n->nrx = nrx;
	for (unsigned s = 0; s <= n->window; s++)
		n->tx_free[s] = (uint16_t)s;
	n->tx_nfree = n->window + 1;
	n->tx_mem = gm_alloc((uint64_t)(n->window + 1) * BUF_SIZE, 4096);
	rx = gm_alloc((uint64_t)nrx * BUF_SIZE, 4096);
	if (!n->tx_mem || !rx) {
		gm_puts("net: not enough guest RAM for buffers\n");
		return false;
	}
	for (unsigned i = 0; i < nrx; i++)
		rx_post(n, rx + (uint64_t)i * BUF_SIZE);
	gm_vq_kick(&n->vq[RXQ]);

	fmt_mac(m, n->mac);
	gm_printf("net: device at 0x%llx: mac %s%s, features 0x%llx, %u rx buffers, window %u\n",
		  (unsigned long long)n->dev.base, m,
		  n->dev.accepted & VIRTIO_NET_F_MAC ? "" : " (made up: no VIRTIO_NET_F_MAC)",
		  (unsigned long long)n->dev.offered, nrx, n->window);
	fmt_mac(m, n->peermac);
	{
		const char *src;
		uint64_t khz = gm_tsc_khz(n->ctx, &src);

		gm_printf("net: tsc %llu kHz (%s)\n", (unsigned long long)khz, src);
	}
	gm_printf("net: %u.%u.%u.%u -> %u.%u.%u.%u via %s\n", n->ip[0], n->ip[1], n->ip[2],
		  n->ip[3], n->peer[0], n->peer[1], n->peer[2], n->peer[3], m);
	return true;
}

int prog_net(const struct gm_ctx *c)
{
	struct net_state *n = gm_zalloc(sizeof(*n));
	uint64_t count = DEFAULT_COUNT, idle_ms, khz, t0, t1, last_progress, idle, batch;
	uint32_t len;
	int head;

	if (!n) {
		gm_puts("net: not enough guest RAM\n");
		return 1;
	}
	n->ctx = c;
	if (c->argc > 1 && (!gm_parse_u64(c->argv[1], 65536, &count) || !count)) {
		gm_printf("net: count must be 1-65536, got '%s'\n", c->argv[1]);
		return 2;
	}
	if (!params(n) || !gm_param_u64(c, "net.timeout_ms", 600000, 2000, &idle_ms))
		return 2;
	if (!(n->seen = gm_zalloc(count)))
		return 1;
	if (!setup(n))
		return 1;
	build_echo(n);
	idle = gm_ms_to_tsc(c, idle_ms);

	/*
	 * Every notify is a VM exit, and exits are what this loop spends its
	 * time on: requests go out in batches of up to 8 (fewer only at the
	 * end), and reposted RX buffers are announced once a quarter of them
	 * have piled up (the device still sees them without a notify; it needs
	 * one only when it ran dry).
	 */
	batch = n->window < 8 ? n->window : 8;
	t0 = last_progress = gm_rdtsc();
	while (n->received < count) {
		uint64_t now, room = n->window - (n->sent - n->received);
		bool queued = false;

		if (room >= batch || count - n->sent < batch) {
			while (n->sent < count && n->sent - n->received < n->window &&
			       send_echo(n, (uint16_t)n->sent)) {
				n->sent++;
				queued = true;
			}
		}
		if (queued)
			gm_vq_kick(&n->vq[TXQ]);
		while ((head = gm_vq_poll(&n->vq[RXQ], &len)) >= 0) {
			uint64_t before = n->received;
			uint8_t *buf = n->rx_buf[head];

			rx_frame(n, buf, len < BUF_SIZE ? len : BUF_SIZE, count);
			if (n->received != before)
				last_progress = gm_rdtsc();
			if (rx_post(n, buf))
				n->rx_unkicked++;
		}
		if (head == -2)
			break;
		if (n->rx_unkicked >= n->nrx / 4) {
			gm_vq_kick(&n->vq[RXQ]);
			n->rx_unkicked = 0;
		}
		while ((head = gm_vq_poll(&n->vq[TXQ], &len)) >= 0) {
			n->tx_free[n->tx_nfree++] = (uint16_t)n->tx_slot[head];
			n->tx_inflight--;
		}
		if (head == -2)
			break;
		now = gm_rdtsc();
		if (now - last_progress > idle) {
			uint32_t st = gm_virtio_status(&n->dev);

			gm_printf("net: no reply for %llu ms (device status 0x%x %s)\n",
				  (unsigned long long)idle_ms, st, gm_virtio_status_str(st));
			break;
		}
	}
	t1 = gm_rdtsc();
	khz = gm_tsc_khz(c, NULL);
	if (n->other)
		gm_printf("net: ignored %llu other frames\n", (unsigned long long)n->other);
	if (khz) {
		uint64_t us = gm_tsc_to_us(t1 - t0, khz);

		gm_printf("net: sent %llu, received %llu echo replies in %llu us (%llu packets/s)\n",
			  (unsigned long long)n->sent, (unsigned long long)n->received,
			  (unsigned long long)us,
			  (unsigned long long)(us ? n->received * 1000000 / us : 0));
	} else {
		gm_printf("net: sent %llu, received %llu echo replies in %llu cycles "
			  "(tsc frequency unknown)\n",
			  (unsigned long long)n->sent, (unsigned long long)n->received,
			  (unsigned long long)(t1 - t0));
	}
	return n->received == count && !n->bad ? 0 : 1;
}
