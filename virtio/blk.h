/* virtio-blk: one drive backed by a host file or block device (see blk.c). */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <stddef.h>

#include "../api/config.h"
#include "../lib/error.h"

struct vm;

/* Opens the drive's file and engine and plugs the device into the next virtio slot. */
int virtio_blk_create(struct vm *vm, const struct drive_config *d, struct errbuf *e);
/*
 * The root= words for the kernel command line when one drive is the root: drives get
 * /dev/vda, /dev/vdb, ... in the order they were created. Writes "" when none is.
 */
int virtio_blk_root_args(const struct vm_config *cfg, char *out, size_t cap);

#endif
