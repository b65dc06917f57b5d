/*
 * The snapshot state file: a fixed header, then tagged sections, the whole file covered
 * by one CRC-64. It knows nothing of what the sections hold: each subsystem keeps its
 * own state struct next to its code (vcpu/vcpu_state.h, virtio/mmio.h, ...), and
 * snapshot.c says which section holds which.
 *
 *   header   magic "EMBERSNP", format version, header size, body size, CRC-64/XZ of
 *            header (CRC field zero) and body, guest RAM bytes, vCPU count
 *   section  u32 tag, u32 instance (vCPU index, device slot), u64 size, size bytes,
 *            zero padding to 8 bytes
 *
 * A reader trusts nothing in the file: snap_file_read checks magic, version, sizes and
 * the CRC before any section is looked at, and every section's bounds once, there.
 */
#ifndef EMBER_SNAPSHOT_FORMAT_H
#define EMBER_SNAPSHOT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/error.h"

#define SNAP_MAGIC "EMBERSNP"
#define SNAP_FORMAT_VERSION 1u
/* A state file is small (vCPUs and devices, never RAM): anything larger is not ours. */
#define SNAP_FILE_MAX (64u << 20)

#define SNAP_TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | \
			      (uint32_t)(d) << 24)

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t body_size;
	uint64_t crc;      /* CRC-64/XZ of the header with crc 0, then the body */
	uint64_t mem_size; /* bytes of guest RAM the memory file holds */
	uint32_t nvcpus;
	uint32_t reserved;
};

/* Sections as they are written: a growing buffer. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	bool failed; /* out of memory: snap_writer_save refuses */
};

void snap_add(struct snap_writer *w, uint32_t tag, uint32_t instance, const void *data,
	      size_t size);
/* Writes header and sections to path, created 0600 (an existing file is replaced). */
int snap_writer_save(struct snap_writer *w, const char *path, uint64_t mem_size,
		     uint32_t nvcpus, struct errbuf *e);
void snap_writer_free(struct snap_writer *w);

/* A state file read and checked whole. */
struct snap_file {
	uint8_t *data;
	size_t size;
	struct snap_header h;
};

/* Reads and checks path (one line in e naming what is wrong); snap_file_free after. */
int snap_file_read(struct snap_file *f, const char *path, struct errbuf *e);
/* The same checks on bytes in memory (the fuzzer's and the unit tests' entry). */
int snap_file_parse(struct snap_file *f, const uint8_t *data, size_t size, struct errbuf *e);
void snap_file_free(struct snap_file *f);

/* Section (tag, instance): its bytes and size, or NULL when the file has none. */
const void *snap_find(const struct snap_file *f, uint32_t tag, uint32_t instance,
		      size_t *size);
/* Section (tag, instance) copied into out, which it must fill exactly; what names it. */
int snap_get(const struct snap_file *f, uint32_t tag, uint32_t instance, void *out,
	     size_t size, const char *what, struct errbuf *e);

uint64_t snap_crc64(uint64_t crc, const void *data, size_t len);

#endif
