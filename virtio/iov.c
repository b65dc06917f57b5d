#include "iov.h"

#include <stdint.h>
#include <string.h>

unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
		   struct iovec *dst, unsigned max, size_t *got)
{
	unsigned out = 0;
	*got = 0;
	for (unsigned i = 0; i < n && out < max && len; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		size_t take = src[i].iov_len - skip;
		if (take > len)
			take = len;
		dst[out++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, take };
		*got += take;
		len -= take;
		skip = 0;
	}
	return out;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - skip;
		if (take > len - done)
			take = len - done;
		memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + skip, take);
		done += take;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		    size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - skip;
		if (take > len - done)
			take = len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, take);
		done += take;
		skip = 0;
	}
	return done;
}
