/*
 * A small AML encoder: the few ACPI Machine Language terms ember's DSDT needs (scopes,
 * devices, named integers, strings, EISA ids, packages, resource templates), appended
 * to a fixed buffer. Enough to declare devices, not a general compiler: ACPICA's iasl
 * disassembles what it writes in the unit tests.
 */
#ifndef EMBER_ARCH_AML_H
#define EMBER_ARCH_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX 8192
#define AML_DEPTH 8

struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	size_t open[AML_DEPTH]; /* where each open PkgLength's content starts */
	unsigned depth;
	bool overflow; /* something did not fit: the whole table is refused */
};

/* Scope(name) { ...  and Device(name) { ... : closed by aml_close. */
void aml_scope(struct aml *a, const char *name);
void aml_device(struct aml *a, const char *name);
void aml_close(struct aml *a);
/* Name(name, value) with an integer, a string or an EISA id ("PNP0501"). */
void aml_name_int(struct aml *a, const char *name, uint64_t value);
void aml_name_string(struct aml *a, const char *name, const char *value);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
/* Name(name, Package() { v[0], ... }) of integers. */
void aml_name_package(struct aml *a, const char *name, const uint64_t *v, unsigned n);

/* Name(name, ResourceTemplate() { ... }): aml_crs_begin, descriptors, aml_crs_end. */
void aml_crs_begin(struct aml *a, const char *name);
void aml_crs_io(struct aml *a, uint16_t port, uint8_t len);
void aml_crs_irq(struct aml *a, uint8_t irq);
void aml_crs_memory32(struct aml *a, uint32_t base, uint32_t len);
void aml_crs_interrupt(struct aml *a, uint32_t gsi);
void aml_crs_end(struct aml *a);

#endif
