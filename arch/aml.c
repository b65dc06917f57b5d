/*
 * AML byte code (ACPI 6.5, chapter 20) for the terms aml.h lists. A term whose length
 * comes first (PkgLength) is opened, filled and closed; closing measures it and slides
 * the content over to make room for the 1-4 byte length, so nothing is counted by hand.
 */
#include "aml.h"

#include <string.h>

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_EXT_DEVICE 0x82
#define AML_ROOT '\\'

/* Resource descriptors (ACPI 6.5, 6.4): small items' tag byte carries their length. */
#define RES_IRQ_NOFLAGS 0x22 /* IRQ, 2 bytes: the mask; edge, active high */
#define RES_IO 0x47          /* I/O port, 7 bytes */
#define RES_END 0x79         /* end tag, 1 byte: checksum 0 */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_INTERRUPT 0x89
#define RES_INT_CONSUMER 0x01
#define RES_INT_EDGE 0x02

static void put(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, uint8_t v)
{
	put(a, &v, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		put8(a, (uint8_t)(v >> (8 * i)));
}

/* Inserts n bytes at off (the rest moves up). */
static void insert(struct aml *a, size_t off, const uint8_t *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->b + off + n, a->b + off, a->len - off);
	memcpy(a->b + off, p, n);
	a->len += n;
}

/* "\_SB_", "COM1", "_S5": an optional root prefix, then one NameSeg padded with '_'. */
static void put_name(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	if (*name == AML_ROOT)
		put8(a, (uint8_t)*name++);
	for (unsigned i = 0; i < 4 && name[i]; i++)
		seg[i] = name[i];
	put(a, seg, 4);
}

static void put_int(struct aml *a, uint64_t v)
{
	if (v <= 1)
		put8(a, v ? AML_ONE : AML_ZERO);
	else if (v <= 0xff)
		put8(a, AML_BYTE), put8(a, (uint8_t)v);
	else if (v <= 0xffff)
		put8(a, AML_WORD), put_le(a, v, 2);
	else if (v <= 0xffffffff)
		put8(a, AML_DWORD), put_le(a, v, 4);
	else
		put8(a, AML_QWORD), put_le(a, v, 8);
}

static void open_pkg(struct aml *a)
{
	if (a->depth == AML_DEPTH) {
		a->overflow = true;
		return;
	}
	a->open[a->depth++] = a->len;
}

void aml_close(struct aml *a)
{
	if (a->depth == 0 || a->overflow) {
		a->overflow = true;
		return;
	}
	size_t start = a->open[--a->depth], len = a->len - start;
	uint8_t enc[4];
	/* The length counts its own bytes: 1 byte up to 63, else 2-4 with 4+8+8+8 bits. */
	size_t n = len + 1 <= 0x3f ? 1 : len + 2 <= 0xfff ? 2 : len + 3 <= 0xfffff ? 3 : 4;
	size_t total = len + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	insert(a, start, enc, n);
}

void aml_scope(struct aml *a, const char *name)
{
	put8(a, AML_SCOPE);
	open_pkg(a);
	put_name(a, name);
}

void aml_device(struct aml *a, const char *name)
{
	put8(a, AML_EXT);
	put8(a, AML_EXT_DEVICE);
	open_pkg(a);
	put_name(a, name);
}

void aml_name_int(struct aml *a, const char *name, uint64_t value)
{
	put8(a, AML_NAME);
	put_name(a, name);
	put_int(a, value);
}

void aml_name_string(struct aml *a, const char *name, const char *value)
{
	put8(a, AML_NAME);
	put_name(a, name);
	put8(a, AML_STRING);
	put(a, value, strlen(value) + 1);
}

/* "PNP0501": three letters in 5 bits each, then four hex digits, stored big-endian. */
void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	uint32_t v = 0;
	for (int i = 0; i < 3; i++)
		v = v << 5 | (uint32_t)((id[i] - 0x40) & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	put8(a, AML_NAME);
	put_name(a, name);
	put8(a, AML_DWORD);
	put_le(a, __builtin_bswap32(v), 4);
}

void aml_name_package(struct aml *a, const char *name, const uint64_t *v, unsigned n)
{
	put8(a, AML_NAME);
	put_name(a, name);
	put8(a, AML_PACKAGE);
	open_pkg(a);
	put8(a, (uint8_t)n);
	for (unsigned i = 0; i < n; i++)
		put_int(a, v[i]);
	aml_close(a);
}

void aml_crs_begin(struct aml *a, const char *name)
{
	put8(a, AML_NAME);
	put_name(a, name);
	put8(a, AML_BUFFER);
	open_pkg(a);
}

void aml_crs_io(struct aml *a, uint16_t port, uint8_t len)
{
	put8(a, RES_IO);
	put8(a, 1); /* 16-bit decode */
	put_le(a, port, 2);
	put_le(a, port, 2);
	put8(a, 1); /* alignment */
	put8(a, len);
}

void aml_crs_irq(struct aml *a, uint8_t irq)
{
	put8(a, RES_IRQ_NOFLAGS);
	put_le(a, 1u << irq, 2);
}

void aml_crs_memory32(struct aml *a, uint32_t base, uint32_t len)
{
	put8(a, RES_MEMORY32_FIXED);
	put_le(a, 9, 2);
	put8(a, 1); /* read-write */
	put_le(a, base, 4);
	put_le(a, len, 4);
}

/* One GSI, edge-triggered, active high, exclusive: how ember's pins signal. */
void aml_crs_interrupt(struct aml *a, uint32_t gsi)
{
	put8(a, RES_EXT_INTERRUPT);
	put_le(a, 6, 2);
	put8(a, RES_INT_CONSUMER | RES_INT_EDGE);
	put8(a, 1);
	put_le(a, gsi, 4);
}

/* The end tag, then the buffer's size in front of its bytes, then its PkgLength. */
void aml_crs_end(struct aml *a)
{
	put8(a, RES_END);
	put8(a, 0);
	if (a->depth == 0 || a->overflow) {
		a->overflow = true;
		return;
	}
	size_t start = a->open[a->depth - 1], size = a->len - start;
	uint8_t enc[3] = { AML_BYTE, (uint8_t)size, 0 };
	if (size > 0xff)
		enc[0] = AML_WORD, enc[2] = (uint8_t)(size >> 8);
	insert(a, start, enc, size > 0xff ? 3 : 2);
	aml_close(a);
}
