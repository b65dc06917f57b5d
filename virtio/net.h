/* virtio-net on a TAP device (see net.c). */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include "../config/config.h"
#include "../lib/error.h"

struct vm_host;
struct virtio_registry;
struct virtio_net;

/*
 * Opens the TAP named in c and plugs the device into the next slot of reg; *out is the
 * interface, for virtio_net_update (the transport frees it with the VM). Its counters
 * are the metrics group net_<id>.
 */
int virtio_net_create(const struct vm_host *h, struct virtio_registry *reg,
		      const struct net_config *c, struct virtio_net **out, struct errbuf *e);
/* The interface's id (net_config.id): how the API names it. */
const char *virtio_net_id(const struct virtio_net *n);
/*
 * Run-time change of the rate limiters (the API's PATCH), on the event thread; takes the
 * device's lock. rx/tx (NULL: keep) replace the buckets they give. On an error
 * neither direction changes and e says why in one line.
 */
int virtio_net_update(struct virtio_net *n, const struct rate_limiter_change *rx,
		      const struct rate_limiter_change *tx, struct errbuf *e);

/*
 * For snapshots: both rate limiters' buckets (the transport saves the rest). A frame
 * read from the TAP and not yet placed is not saved: the network may drop it.
 */
struct virtio_net_state {
	struct rate_limiter_state rx, tx;
};
void virtio_net_save(struct virtio_net *n, struct virtio_net_state *s);
void virtio_net_restore(struct virtio_net *n, const struct virtio_net_state *s);

#endif
