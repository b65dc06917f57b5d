#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/util.h"

/* Sections, one per part; the instance is the vCPU index or the device's position. */
#define TAG_CONFIG SNAP_TAG('C', 'O', 'N', 'F')
#define TAG_VM SNAP_TAG('V', 'M', ' ', ' ')
#define TAG_VCPU SNAP_TAG('V', 'C', 'P', 'U')
#define TAG_SERIAL SNAP_TAG('C', 'O', 'M', '1')
#define TAG_I8042 SNAP_TAG('8', '0', '4', '2')
#define TAG_VIRTIO SNAP_TAG('V', 'I', 'O', ' ')
#define TAG_BLK SNAP_TAG('B', 'L', 'K', ' ')
#define TAG_NET SNAP_TAG('N', 'E', 'T', ' ')

static int snapshot_add_vcpus(struct snap_writer *w, struct vm *vm, struct errbuf *e)
{
	struct cpu_state *cs = malloc(sizeof(*cs));
	if (!cs)
		return errf(e, "out of memory");
	int r = 0;
	for (unsigned i = 0; r == 0 && i < vm->nvcpus; i++) {
		r = vm_save_vcpu(vm, i, cs, e);
		if (r == 0)
			snap_add(w, TAG_VCPU, i, cs, sizeof(*cs));
	}
	free(cs);
	return r;
}

/* Devices quiesce as they are saved: the memory file is written after all of them. */
static void snapshot_add_devices(struct snap_writer *w, const struct snapshot_machine *m)
{
	struct serial_state ss;
	struct i8042_state ks;
	serial_save(m->serial, &ss);
	snap_add(w, TAG_SERIAL, 0, &ss, sizeof(ss));
	i8042_save(m->i8042, &ks);
	snap_add(w, TAG_I8042, 0, &ks, sizeof(ks));
	for (unsigned i = 0; i < m->virtio->n; i++) {
		struct virtio_mmio_state ts;
		virtio_mmio_save(m->virtio->t[i], &ts);
		snap_add(w, TAG_VIRTIO, i, &ts, sizeof(ts));
	}
	for (unsigned i = 0; i < m->ndrives; i++) {
		struct virtio_blk_state bs;
		virtio_blk_save(m->drives[i], &bs);
		snap_add(w, TAG_BLK, i, &bs, sizeof(bs));
	}
	for (unsigned i = 0; i < m->nnets; i++) {
		struct virtio_net_state ns;
		virtio_net_save(m->nets[i], &ns);
		snap_add(w, TAG_NET, i, &ns, sizeof(ns));
	}
}

int snapshot_create(const struct snapshot_machine *m, const struct snapshot_create_request *r,
		    struct errbuf *e)
{
	if (vm_check_not_ram(m->vm, r->snapshot_path, e) < 0)
		return -1;
	struct snap_writer w = { 0 };
	struct vm_state vs;
	char *conf = config_json_snapshot_text(m->cfg);
	if (!conf)
		return errf(e, "out of memory");
	snap_add(&w, TAG_CONFIG, 0, conf, strlen(conf));
	free(conf);
	int rc = vm_save_state(m->vm, &vs, e);
	if (rc == 0) {
		snap_add(&w, TAG_VM, 0, &vs, sizeof(vs));
		rc = snapshot_add_vcpus(&w, m->vm, e);
	}
	if (rc == 0) {
		snapshot_add_devices(&w, m);
		rc = vm_save_memory(m->vm, r->mem_path, r->diff, vs.realtime_ns, e) < 0 ||
		     snap_writer_save(&w, r->snapshot_path, m->vm->mem.size, m->vm->nvcpus, e) < 0 ?
			     -1 : 0;
	}
	snap_writer_free(&w);
	return rc;
}

int snapshot_open(struct snap_file *f, const struct snapshot_load_request *r,
		  struct vm_config *cfg, struct errbuf *e)
{
	size_t len;
	if (snap_file_read(f, r->snapshot_path, e) < 0)
		return -1;
	const char *conf = snap_find(f, TAG_CONFIG, 0, &len);
	if (!conf)
		return errf(e, "snapshot: no configuration in %s", r->snapshot_path);
	if (config_json_snapshot_apply(cfg, conf, len, r, e) < 0)
		return -1;
	if (cfg->machine.mem_mib * MIB != f->h.mem_size || cfg->machine.vcpus != f->h.nvcpus)
		return errf(e, "snapshot: its header says %llu bytes of RAM and %u vCPUs, its "
			    "configuration %llu MiB and %u", (unsigned long long)f->h.mem_size,
			    f->h.nvcpus, (unsigned long long)cfg->machine.mem_mib,
			    cfg->machine.vcpus);
	return 0;
}

int snapshot_check_memory(const struct snap_file *f, int fd, const char *path, struct errbuf *e)
{
	struct vm_state vs;
	if (snap_get(f, TAG_VM, 0, &vs, sizeof(vs), "the VM", e) < 0)
		return -1;
	return vm_check_memory_token(fd, f->h.mem_size, vs.realtime_ns, path, e);
}

static int snapshot_restore_vcpus(struct vm *vm, const struct snap_file *f, struct errbuf *e)
{
	struct cpu_state *cs = malloc(sizeof(*cs));
	if (!cs)
		return errf(e, "out of memory");
	int r = 0;
	for (unsigned i = 0; r == 0 && i < vm->nvcpus; i++) {
		char what[16];
		snprintf(what, sizeof(what), "vCPU %u", i);
		r = snap_get(f, TAG_VCPU, i, cs, sizeof(*cs), what, e) < 0 ? -1 :
		    vm_restore_vcpu(vm, i, cs, e);
	}
	free(cs);
	return r;
}

static int snapshot_restore_legacy(const struct snapshot_machine *m, const struct snap_file *f,
				   struct errbuf *e)
{
	struct serial_state ss;
	struct i8042_state ks;
	if (snap_get(f, TAG_SERIAL, 0, &ss, sizeof(ss), "the serial port", e) < 0 ||
	    serial_restore(m->serial, &ss, e) < 0 ||
	    snap_get(f, TAG_I8042, 0, &ks, sizeof(ks), "the i8042", e) < 0)
		return -1;
	return i8042_restore(m->i8042, &ks, e);
}

static int snapshot_restore_virtio(const struct snapshot_machine *m, const struct snap_file *f,
				   struct errbuf *e)
{
	for (unsigned i = 0; i < m->ndrives; i++) {
		struct virtio_blk_state bs;
		if (snap_get(f, TAG_BLK, i, &bs, sizeof(bs), "a drive", e) < 0)
			return -1;
		virtio_blk_restore(m->drives[i], &bs);
	}
	for (unsigned i = 0; i < m->nnets; i++) {
		struct virtio_net_state ns;
		if (snap_get(f, TAG_NET, i, &ns, sizeof(ns), "a network interface", e) < 0)
			return -1;
		virtio_net_restore(m->nets[i], &ns);
	}
	/* Transports last: a driven device starts its backend and looks at its rings. */
	for (unsigned i = 0; i < m->virtio->n; i++) {
		struct virtio_mmio_state ts;
		if (snap_get(f, TAG_VIRTIO, i, &ts, sizeof(ts), "a virtio device", e) < 0 ||
		    virtio_mmio_restore(m->virtio->t[i], &ts, e) < 0)
			return -1;
	}
	return 0;
}

int snapshot_restore(const struct snapshot_machine *m, const struct snap_file *f,
		     bool clock_realtime, struct errbuf *e)
{
	struct vm_state vs;
	if (snap_get(f, TAG_VM, 0, &vs, sizeof(vs), "the VM", e) < 0 ||
	    vm_restore_state(m->vm, &vs, clock_realtime, e) < 0 ||
	    snapshot_restore_vcpus(m->vm, f, e) < 0 || snapshot_restore_legacy(m, f, e) < 0)
		return -1;
	return snapshot_restore_virtio(m, f, e);
}

int snapshot_describe(const char *path, FILE *out, struct errbuf *e)
{
	struct snap_file f;
	if (!path) {
		fprintf(out, "v%u\n", SNAP_FORMAT_VERSION);
		return 0;
	}
	if (snap_file_read(&f, path, e) < 0) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "--describe-snapshot %s: %s", path, why);
	}
	fprintf(out, "v%u\n", f.h.version);
	snap_file_free(&f);
	return 0;
}
