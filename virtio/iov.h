/*
 * Copying between flat buffers and the iovec arrays of a validated chain. The iovecs
 * already point into checked guest RAM (virtq.c); these only keep the arithmetic of
 * "skip n bytes, take m" in one place.
 */
#ifndef EMBER_IOV_H
#define EMBER_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copies up to len bytes starting skip bytes into iov to buf; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
/* Copies up to len bytes of buf into iov starting skip bytes in; returns bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		    size_t len);
/*
 * Fills dst (room for max entries) with the part of src from skip, len bytes long.
 * Returns the number of entries used; *got says how many bytes they cover.
 */
unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
		   struct iovec *dst, unsigned max, size_t *got);

#endif
