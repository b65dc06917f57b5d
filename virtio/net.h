/* virtio-net on a TAP device (see net.c). */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include "../api/config.h"
#include "../lib/error.h"

struct vm;

/* Opens the TAP named in n and plugs the device into the next virtio slot. */
int virtio_net_create(struct vm *vm, const struct net_config *n, struct errbuf *e);

#endif
