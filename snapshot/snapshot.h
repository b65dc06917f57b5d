/*
 * Snapshots: a paused VM to a state file and a memory file, and back into a new
 * process (snapshot.c). The state file (format.h) holds one section per part, each
 * the state struct its own subsystem defines: the configuration (config/), the VM and
 * every vCPU (vcpu/, arch/), the legacy devices (legacy/), every virtio transport and
 * device (virtio/). The memory file is guest RAM as it is, sparse where RAM is zero.
 *
 * Restoring is two steps around the VMM's ordinary build: snapshot_open reads and
 * checks the state file and fills the configuration, the VMM builds the machine from
 * it (RAM mapped from the memory file, no kernel loaded), and snapshot_restore puts
 * every part back. Nothing is half-applied to a running VM: a refusal at any step
 * leaves a process that has no VM.
 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

#include <stdio.h>

#include "../config/config_json.h"
#include "../legacy/i8042.h"
#include "../legacy/serial.h"
#include "../vcpu/vm.h"
#include "../virtio/blk.h"
#include "../virtio/mmio.h"
#include "../virtio/net.h"
#include "format.h"

/* The machine as the VMM holds it. */
struct snapshot_machine {
	struct vm *vm;
	struct serial *serial;
	struct i8042 *i8042;
	struct virtio_registry *virtio;
	struct virtio_blk *const *drives; /* in configuration order */
	unsigned ndrives;
	struct virtio_net *const *nets;
	unsigned nnets;
	const struct vm_config *cfg;
};

/* --snapshot-version (path NULL): the format version ember writes, "v1"; --describe-snapshot
   PATH: that state file's, once it is checked whole. One line on out. */
int snapshot_describe(const char *path, FILE *out, struct errbuf *e);

/* Writes r's two files from m, which is paused. */
int snapshot_create(const struct snapshot_machine *m, const struct snapshot_create_request *r,
		    struct errbuf *e);

/*
 * Reads and checks r->snapshot_path into f and applies its configuration (with r's
 * network overrides) to cfg, which must hold none yet. snap_file_free(f) after.
 */
int snapshot_open(struct snap_file *f, const struct snapshot_load_request *r,
		  struct vm_config *cfg, struct errbuf *e);
/* The memory file open on fd was written with f (its token, vm.h), unless it cannot say. */
int snapshot_check_memory(const struct snap_file *f, int fd, const char *path,
			  struct errbuf *e);
/* Puts f's state onto m, built from the configuration snapshot_open gave. */
int snapshot_restore(const struct snapshot_machine *m, const struct snap_file *f,
		     bool clock_realtime, struct errbuf *e);

#endif
