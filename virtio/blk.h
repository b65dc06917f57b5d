/* virtio-blk: one drive backed by a host file or block device (see blk.c). */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <stddef.h>

#include "../config/config.h"
#include "../lib/error.h"

struct vm_host;
struct virtio_registry;
struct virtio_blk;

/*
 * Opens the drive's file and engine and plugs the device into the next slot of reg;
 * *out is the drive, for virtio_blk_update (the transport frees it with the VM). Its
 * counters are the metrics group block_<id>. cache=Unsafe offers no FLUSH.
 */
int virtio_blk_create(const struct vm_host *h, struct virtio_registry *reg,
		      const struct drive_config *d, struct virtio_blk **out, struct errbuf *e);
/* The drive's id (drive_config.id): how the API names it. */
const char *virtio_blk_id(const struct virtio_blk *b);
/*
 * Run-time change of a running drive (the API's PATCH), on the event thread; takes the
 * device's lock. path (NULL: keep) is opened and locked as at create, with the drive's
 * read-only mode; in-flight I/O completes on the old file, then the new one serves,
 * the capacity is updated and the guest gets a config-change interrupt. The same file
 * again only re-reads its size. rl (NULL: keep) replaces the buckets it gives. On any error
 * nothing changes and e says why in one line. Counts update_count / update_fails.
 */
int virtio_blk_update(struct virtio_blk *b, const char *path,
		      const struct rate_limiter_change *rl, struct errbuf *e);
/*
 * The root= words for the kernel command line when one drive is the root: drives get
 * /dev/vda, /dev/vdb, ... in the order they were created, or root=PARTUUID=<uuid> when
 * the drive has a partuuid. Writes "" when none is.
 */
int virtio_blk_root_args(const struct vm_config *cfg, char *out, size_t cap);

/* For snapshots: the rate limiter's buckets (the transport saves the rest). */
struct virtio_blk_state {
	struct rate_limiter_state rl;
};
void virtio_blk_save(struct virtio_blk *b, struct virtio_blk_state *s);
void virtio_blk_restore(struct virtio_blk *b, const struct virtio_blk_state *s);

#endif
