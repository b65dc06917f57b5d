#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct snap_section_header {
	uint32_t tag;
	uint32_t instance;
	uint64_t size;
};

#define SNAP_ALIGN 8u

/* CRC-64/XZ (ECMA-182, reflected): what xz and Firecracker's snapshot files use. */
uint64_t snap_crc64(uint64_t crc, const void *data, size_t len)
{
	static uint64_t table[256];
	static bool ready;
	if (!ready) { /* first use is single-threaded: snapshots run on the event thread */
		for (unsigned i = 0; i < 256; i++) {
			uint64_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0xC96C5795D7870F42ULL : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	const uint8_t *p = data;
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void snap_reserve(struct snap_writer *w, size_t more)
{
	if (w->failed || w->len + more <= w->cap)
		return;
	size_t cap = w->cap ? w->cap : 64 * 1024;
	while (cap < w->len + more)
		cap *= 2;
	uint8_t *p = realloc(w->buf, cap);
	if (!p) {
		w->failed = true;
		return;
	}
	w->buf = p;
	w->cap = cap;
}

void snap_add(struct snap_writer *w, uint32_t tag, uint32_t instance, const void *data,
	      size_t size)
{
	size_t padded = (size + SNAP_ALIGN - 1) & ~(size_t)(SNAP_ALIGN - 1);
	struct snap_section_header sh = { tag, instance, size };
	snap_reserve(w, sizeof(sh) + padded);
	if (w->failed)
		return;
	memcpy(w->buf + w->len, &sh, sizeof(sh));
	memcpy(w->buf + w->len + sizeof(sh), data, size);
	memset(w->buf + w->len + sizeof(sh) + size, 0, padded - size);
	w->len += sizeof(sh) + padded;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int snap_writer_save(struct snap_writer *w, const char *path, uint64_t mem_size,
		     uint32_t nvcpus, struct errbuf *e)
{
	if (w->failed)
		return errf(e, "snapshot %s: out of memory", path);
	struct snap_header h = {
		.version = SNAP_FORMAT_VERSION, .header_size = sizeof(h), .body_size = w->len,
		.mem_size = mem_size, .nvcpus = nvcpus,
	};
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	h.crc = snap_crc64(snap_crc64(0, &h, sizeof(h)), w->buf, w->len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errf(e, "snapshot file %s: %s", path, strerror(errno));
	/* An existing file keeps its mode through O_TRUNC: guest state is the owner's only. */
	int r = fchmod(fd, 0600) < 0 || write_all(fd, &h, sizeof(h)) < 0 ||
		write_all(fd, w->buf, w->len) < 0;
	int err = errno;
	close(fd);
	if (r)
		return errf(e, "snapshot file %s: write: %s", path, strerror(err));
	return 0;
}

/* Every section inside the body, back to back: checked once, before any is read. */
static int snap_check_sections(const struct snap_file *f, struct errbuf *e)
{
	size_t off = sizeof(struct snap_header);
	while (off < f->size) {
		struct snap_section_header sh;
		if (f->size - off < sizeof(sh))
			return errf(e, "snapshot: a section header is cut off at byte %zu", off);
		memcpy(&sh, f->data + off, sizeof(sh));
		off += sizeof(sh);
		uint64_t padded = (sh.size + SNAP_ALIGN - 1) & ~(uint64_t)(SNAP_ALIGN - 1);
		if (sh.size > f->size - off || padded > f->size - off)
			return errf(e, "snapshot: section 0x%08x/%u runs past the end of the file",
				    sh.tag, sh.instance);
		off += (size_t)padded;
	}
	return 0;
}

int snap_file_parse(struct snap_file *f, const uint8_t *data, size_t size, struct errbuf *e)
{
	struct snap_header h;
	f->data = (uint8_t *)(uintptr_t)data;
	f->size = size;
	if (size < sizeof(h))
		return errf(e, "snapshot: %zu bytes, shorter than its header", size);
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, SNAP_MAGIC, sizeof(h.magic)) != 0)
		return errf(e, "snapshot: not an ember snapshot (bad magic)");
	if (h.version != SNAP_FORMAT_VERSION)
		return errf(e, "snapshot: format version %u, this ember reads version %u",
			    h.version, SNAP_FORMAT_VERSION);
	if (h.header_size != sizeof(h) || h.body_size != size - sizeof(h))
		return errf(e, "snapshot: %zu bytes, its header says %llu: truncated or extended",
			    size, (unsigned long long)h.body_size + sizeof(h));
	uint64_t want = h.crc;
	h.crc = 0;
	if (snap_crc64(snap_crc64(0, &h, sizeof(h)), data + sizeof(h), size - sizeof(h)) != want)
		return errf(e, "snapshot: checksum mismatch (the file is corrupted)");
	h.crc = want;
	f->h = h;
	return snap_check_sections(f, e);
}

int snap_file_read(struct snap_file *f, const char *path, struct errbuf *e)
{
	memset(f, 0, sizeof(*f));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(e, "snapshot file %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SNAP_FILE_MAX) {
		close(fd);
		return errf(e, "snapshot file %s: not a regular file of at most %u MiB", path,
			    SNAP_FILE_MAX >> 20);
	}
	uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf)
		return errf(e, "snapshot file %s: out of memory", path);
	if (snap_file_parse(f, buf, got, e) < 0) {
		free(buf);
		f->data = NULL;
		return -1;
	}
	return 0;
}

void snap_file_free(struct snap_file *f)
{
	free(f->data);
	memset(f, 0, sizeof(*f));
}

const void *snap_find(const struct snap_file *f, uint32_t tag, uint32_t instance,
		      size_t *size)
{
	size_t off = sizeof(struct snap_header);
	while (off < f->size) { /* bounds checked by snap_check_sections */
		struct snap_section_header sh;
		memcpy(&sh, f->data + off, sizeof(sh));
		off += sizeof(sh);
		if (sh.tag == tag && sh.instance == instance) {
			*size = (size_t)sh.size;
			return f->data + off;
		}
		off += (size_t)((sh.size + SNAP_ALIGN - 1) & ~(uint64_t)(SNAP_ALIGN - 1));
	}
	return NULL;
}

int snap_get(const struct snap_file *f, uint32_t tag, uint32_t instance, void *out,
	     size_t size, const char *what, struct errbuf *e)
{
	size_t have;
	const void *p = snap_find(f, tag, instance, &have);
	if (!p)
		return errf(e, "snapshot: no state for %s", what);
	if (have != size)
		return errf(e, "snapshot: state of %s is %zu bytes, this ember expects %zu",
			    what, have, size);
	memcpy(out, p, size);
	return 0;
}
