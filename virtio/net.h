/* virtio-net on a TAP device (see net.c). */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include "../config/config.h"
#include "../lib/error.h"

struct vm;

/*
 * Opens the TAP named in n and plugs the device into the next virtio slot. Its counters
 * are the metrics group net_<id>.
 */
int virtio_net_create(struct vm *vm, const struct net_config *n, struct errbuf *e);
/*
 * Run-time change of the rate limiters (the API's PATCH), on the event thread; takes the
 * device's lock. rx/tx (NULL: keep) replace both buckets of that direction. On an error
 * neither direction changes and e says why in one line.
 */
int virtio_net_update(struct vm *vm, const char *iface_id, const struct rate_limiter_config *rx,
		      const struct rate_limiter_config *tx, struct errbuf *e);

#endif
