/*
 * The snapshot state file (snapshot/format.c) and the snapshot API's request bodies
 * (config/config_json.c): sections round-trip through a real file created 0600; a file
 * truncated, extended, corrupted, of another version or not ours at all is refused
 * with one line naming what is wrong; random damage never crashes the reader nor lets
 * a section point outside the file; the configuration a snapshot carries applies only
 * whole, with its network overrides.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../config/config_json.h"
#include "../../snapshot/format.h"
#include "helpers.h"

#define TAG_A SNAP_TAG('A', 'A', 'A', 'A')
#define TAG_B SNAP_TAG('B', 'B', 'B', 'B')

static char path[] = "/tmp/ember-snap-XXXXXX";
static struct errbuf e;

static void setup(void)
{
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	memset(&e, 0, sizeof(e));
}

static void teardown(void)
{
	unlink(path);
	strcpy(path, "/tmp/ember-snap-XXXXXX");
}

/* A file with two sections: "hello" as A/0 and 100 bytes of i as B/i for i in 0..2. */
static void write_sample(void)
{
	struct snap_writer w = { 0 };
	snap_add(&w, TAG_A, 0, "hello", 5);
	for (uint32_t i = 0; i < 3; i++) {
		uint8_t b[100];
		memset(b, (int)i, sizeof(b));
		snap_add(&w, TAG_B, i, b, sizeof(b));
	}
	cr_assert_eq(snap_writer_save(&w, path, 64 << 20, 2, &e), 0, "%s", e.msg);
	snap_writer_free(&w);
}

/* The file's bytes, for damage. */
static uint8_t *slurp(size_t *n)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size);
	int fd = open(path, O_RDONLY);
	cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return buf;
}

TestSuite(snapshot_format, .init = setup, .fini = teardown);

Test(snapshot_format, sections_round_trip_through_a_0600_file)
{
	chmod(path, 0644); /* an existing file is replaced and made the owner's only */
	write_sample();
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	struct snap_file f;
	cr_assert_eq(snap_file_read(&f, path, &e), 0, "%s", e.msg);
	cr_assert_eq(f.h.mem_size, 64 << 20);
	cr_assert_eq(f.h.nvcpus, 2);
	size_t len;
	const char *a = snap_find(&f, TAG_A, 0, &len);
	cr_assert_not_null(a);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(a, "hello", 5), 0);
	uint8_t b[100];
	cr_assert_eq(snap_get(&f, TAG_B, 2, b, sizeof(b), "B 2", &e), 0, "%s", e.msg);
	cr_assert_eq(b[0], 2);
	cr_assert_eq(b[99], 2);
	cr_assert_null(snap_find(&f, TAG_B, 3, &len));
	cr_assert_eq(snap_get(&f, TAG_B, 1, b, 99, "B 1", &e), -1, "a size mismatch is refused");
	assert_msg_has(e, "B 1 is 100 bytes, this ember expects 99");
	cr_assert_eq(snap_get(&f, TAG_A, 7, b, 5, "the thing", &e), -1);
	assert_msg_has(e, "no state for the thing");
	snap_file_free(&f);
}

/* parse(data, n) must fail with a message containing want. */
static void expect_refused(const uint8_t *data, size_t n, const char *want)
{
	struct snap_file f;
	memset(&e, 0, sizeof(e));
	cr_assert_eq(snap_file_parse(&f, data, n, &e), -1, "accepted; wanted '%s'", want);
	assert_msg_has(e, want);
	cr_assert_null(strchr(e.msg, '\n'), "one line");
}

Test(snapshot_format, damaged_files_are_refused_by_what_is_wrong)
{
	write_sample();
	size_t n;
	uint8_t *buf = slurp(&n);
	expect_refused(buf, 10, "shorter than its header");
	expect_refused(buf, n - 1, "truncated or extended");
	uint8_t *longer = calloc(1, n + 8);
	memcpy(longer, buf, n);
	expect_refused(longer, n + 8, "truncated or extended");
	free(longer);
	buf[n - 3] ^= 1;
	expect_refused(buf, n, "checksum mismatch");
	buf[n - 3] ^= 1;
	buf[8] = 99; /* version */
	expect_refused(buf, n, "format version 99");
	buf[8] = SNAP_FORMAT_VERSION;
	buf[0] = 'X';
	expect_refused(buf, n, "bad magic");
	buf[0] = 'E';
	struct snap_file f;
	cr_assert_eq(snap_file_parse(&f, buf, n, &e), 0, "undamaged again: %s", e.msg);
	free(buf);
}

/* A valid CRC over a section table that lies: the walk, not the checksum, refuses it. */
Test(snapshot_format, a_section_past_the_end_is_refused_even_with_a_good_checksum)
{
	write_sample();
	size_t n;
	uint8_t *buf = slurp(&n);
	struct snap_header h;
	memcpy(&h, buf, sizeof(h));
	uint64_t huge = 1ULL << 40;
	memcpy(buf + sizeof(h) + 8, &huge, sizeof(huge)); /* section A's size */
	h.crc = 0;
	memcpy(buf, &h, sizeof(h));
	h.crc = snap_crc64(snap_crc64(0, &h, sizeof(h)), buf + sizeof(h), n - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	expect_refused(buf, n, "runs past the end of the file");
	free(buf);
}

/* Random damage, with the CRC fixed up so that the section walk is what gets tested. */
Test(snapshot_format, random_damage_never_escapes_the_file)
{
	write_sample();
	size_t n;
	uint8_t *orig = slurp(&n);
	uint8_t *buf = malloc(n);
	srandom(7);
	for (int round = 0; round < 5000; round++) {
		memcpy(buf, orig, n);
		size_t len = round % 3 ? n : (size_t)random() % (n + 1);
		for (int k = 0; k < 1 + round % 8; k++)
			buf[sizeof(struct snap_header) + (size_t)random() % (n - sizeof(struct snap_header))] =
				(uint8_t)random();
		if (round % 2 && len >= sizeof(struct snap_header)) {
			struct snap_header h;
			memcpy(&h, buf, sizeof(h));
			h.body_size = len - sizeof(h);
			h.crc = 0;
			h.crc = snap_crc64(snap_crc64(0, &h, sizeof(h)), buf + sizeof(h), len - sizeof(h));
			memcpy(buf, &h, sizeof(h));
		}
		struct snap_file f;
		if (snap_file_parse(&f, buf, len, &e) < 0)
			continue;
		for (uint32_t i = 0; i < 4; i++) {
			size_t got;
			const uint8_t *p = snap_find(&f, TAG_B, i, &got);
			if (p)
				cr_assert(p >= buf && got <= len && (size_t)(p - buf) <= len - got,
					  "round %d: a section outside the file", round);
		}
	}
	free(buf);
	free(orig);
}

Test(snapshot_format, a_missing_file_names_the_path)
{
	struct snap_file f;
	cr_assert_eq(snap_file_read(&f, "/nonexistent/snap", &e), -1);
	assert_msg_has(e, "/nonexistent/snap: No such file");
}

/* ---- request bodies ---- */

static json_t *parse(const char *text)
{
	json_t *j = config_json_parse(text, strlen(text), &e);
	cr_assert_not_null(j, "%s", e.msg);
	return j;
}

Test(snapshot_requests, create_takes_firecrackers_fields)
{
	struct snapshot_create_request r;
	json_t *j = parse("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			  "\"snapshot_type\": \"Diff\"}");
	cr_assert_eq(config_json_snapshot_create(j, &r, &e), 0, "%s", e.msg);
	cr_assert_str_eq(r.snapshot_path, "/s");
	cr_assert_str_eq(r.mem_path, "/m");
	cr_assert(r.diff);
	json_decref(j);
	j = parse("{\"snapshot_path\": \"/s\"}");
	cr_assert_eq(config_json_snapshot_create(j, &r, &e), -1);
	assert_msg_has(e, "mem_file_path: missing");
	json_decref(j);
	j = parse("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"snapshot_type\": \"Half\"}");
	cr_assert_eq(config_json_snapshot_create(j, &r, &e), -1);
	assert_msg_has(e, "'Half' is not one of Full, Diff");
	json_decref(j);
}

Test(snapshot_requests, load_takes_either_memory_field_and_the_overrides)
{
	struct snapshot_load_request r;
	json_t *j = parse("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			  "\"enable_diff_snapshots\": true, \"resume_vm\": true, "
			  "\"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap7\"}]}");
	cr_assert_eq(config_json_snapshot_load(j, &r, &e), 0, "%s", e.msg);
	cr_assert_str_eq(r.mem_path, "/m");
	cr_assert(r.track_dirty_pages && r.resume_vm && !r.clock_realtime);
	cr_assert_eq(r.nnet_overrides, 1);
	cr_assert_str_eq(r.net_overrides[0].host, "tap7");
	json_decref(j);
	j = parse("{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"File\", "
		  "\"backend_path\": \"/mm\"}, \"clock_realtime\": true, \"huge_pages\": \"None\"}");
	cr_assert_eq(config_json_snapshot_load(j, &r, &e), 0, "%s", e.msg);
	cr_assert_str_eq(r.mem_path, "/mm");
	cr_assert(r.clock_realtime && !r.resume_vm);
	json_decref(j);
}

Test(snapshot_requests, load_refusals_name_the_field)
{
	static const struct { const char *body, *want; } cases[] = {
		{ "{\"snapshot_path\": \"/s\"}", "exactly one of mem_backend and mem_file_path" },
		{ "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"mem_backend\": "
		  "{\"backend_type\": \"File\", \"backend_path\": \"/m\"}}", "exactly one" },
		{ "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
		  "\"backend_path\": \"/u\"}}", "no Uffd backend" },
		{ "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"huge_pages\": \"2M\"}",
		  "huge_pages: 2M needs a Uffd backend" },
		{ "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"bogus\": 1}",
		  "unknown field 'bogus'" },
		{ "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
		  "[{\"iface_id\": \"eth0\"}]}", "host_dev_name: missing" },
		{ "{\"snapshot_path\": \"\", \"mem_file_path\": \"/m\"}", "must not be empty" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct snapshot_load_request r;
		json_t *j = parse(cases[i].body);
		cr_assert_eq(config_json_snapshot_load(j, &r, &e), -1, "accepted %s", cases[i].body);
		assert_msg_has(e, cases[i].want);
		json_decref(j);
	}
}

/* ---- the configuration a snapshot carries ---- */

static void sample_config(struct vm_config *c)
{
	config_init(c);
	cr_assert_eq(config_set_boot_source(c, "/k", NULL, "idle", &e), 0, "%s", e.msg);
	cr_assert_eq(config_set_vcpus(c, 2, &e), 0);
	cr_assert_eq(config_set_mem_mib(c, 64, &e), 0);
	struct net_config n = { .id = "eth0", .tap = "tap0" };
	cr_assert_eq(config_put_net(c, &n, &e), 0, "%s", e.msg);
	struct drive_config d = { .id = "d0", .path = (char *)"/disk.img" };
	cr_assert_eq(config_put_drive(c, &d, &e), 0, "%s", e.msg);
	cr_assert_eq(config_set_log_level(c, "Debug", &e), 0);
}

Test(snapshot_config, round_trips_with_an_override_and_keeps_the_process_own)
{
	struct vm_config src, dst;
	sample_config(&src);
	char *text = config_json_snapshot_text(&src);
	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "logger"), "the logger is the restoring process's: %s", text);
	config_init(&dst);
	cr_assert_eq(config_set_id(&dst, "clone-1", &e), 0);
	struct snapshot_load_request r = { .nnet_overrides = 1, .ndrive_overrides = 1 };
	r.net_overrides[0] = (struct device_override){ "eth0", "tap9" };
	r.drive_overrides[0] = (struct device_override){ "d0", "/copy.img" };
	cr_assert_eq(config_json_snapshot_apply(&dst, text, strlen(text), &r, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(dst.ndrives, 1);
	cr_assert_str_eq(dst.drives[0].path, "/copy.img");
	cr_assert_eq(dst.machine.vcpus, 2);
	cr_assert_eq(dst.machine.mem_mib, 64);
	cr_assert_str_eq(dst.kernel_path, "/k");
	cr_assert_eq(dst.nnets, 1);
	cr_assert_str_eq(dst.nets[0].tap, "tap9");
	cr_assert_str_eq(dst.id, "clone-1");
	cr_assert_eq(dst.logger.level, LOG_WARN, "the restoring process's logger stays");
	free(text);
	config_free(&src);
	config_free(&dst);
}

Test(snapshot_config, a_bad_override_changes_nothing)
{
	struct vm_config src, dst;
	sample_config(&src);
	char *text = config_json_snapshot_text(&src);
	config_init(&dst);
	struct snapshot_load_request r = { .nnet_overrides = 1 };
	r.net_overrides[0] = (struct device_override){ "eth1", "tap9" };
	cr_assert_eq(config_json_snapshot_apply(&dst, text, strlen(text), &r, &e), -1);
	assert_msg_has(e, "no network interface 'eth1'");
	cr_assert_null(dst.kernel_path);
	cr_assert_eq(dst.nnets, 0);
	r = (struct snapshot_load_request){ .ndrive_overrides = 1 };
	r.drive_overrides[0] = (struct device_override){ "nope", "/x" };
	cr_assert_eq(config_json_snapshot_apply(&dst, text, strlen(text), &r, &e), -1);
	assert_msg_has(e, "no drive 'nope'");
	r = (struct snapshot_load_request){ 0 };
	cr_assert_eq(config_json_snapshot_apply(&dst, "{\"drives\": 5}", 13, &r, &e), -1);
	assert_msg_has(e, "snapshot: its configuration");
	cr_assert_eq(dst.ndrives, 0);
	free(text);
	config_free(&src);
	config_free(&dst);
}

/* ---- the CPU a snapshot needs ---- */

#include "../../arch/cpu_state.h"

static void set_leaf(struct kvm_cpuid_entry2 *l, uint32_t fn, uint32_t ecx, uint32_t edx)
{
	*l = (struct kvm_cpuid_entry2){ .function = fn, .ecx = ecx, .edx = edx };
}

Test(snapshot_cpu, a_feature_this_host_lacks_is_refused_by_leaf_and_bits)
{
	static struct cpu_state s;
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 entries[2];
	} host = { .hdr.nent = 2 };
	set_leaf(&host.entries[0], 0x1, 0x00000201, 0x1);
	set_leaf(&host.entries[1], 0x80000001, 0, 0x100);
	s.ncpuid = 2;
	/* The bits ember sets itself (hypervisor, TSC deadline) are not asked of the host. */
	set_leaf(&s.cpuid[0], 0x1, 0x00000201 | (1u << 31) | (1u << 24), 0x1);
	set_leaf(&s.cpuid[1], 0x80000001, 0, 0x100);
	cr_assert_eq(cpu_state_check_cpuid(&s, &host.hdr, &e), 0, "%s", e.msg);
	s.cpuid[1].edx |= 0x800; /* a feature the host does not have */
	cr_assert_eq(cpu_state_check_cpuid(&s, &host.hdr, &e), -1);
	assert_msg_has(e, "CPUID 0x80000001.0 edx bits 0x00000800");
	s.cpuid[1].edx = 0x100;
	s.cpuid[0].ecx |= 1u << 28;
	cr_assert_eq(cpu_state_check_cpuid(&s, &host.hdr, &e), -1);
	assert_msg_has(e, "CPUID 0x1.0 ecx bits 0x10000000");
}
