/*
 * The metrics sink: each flush is one JSON line (parsed back with jansson) holding
 * Firecracker's groups; counters are deltas between lines, stored values stay, device
 * groups appear under their ids and sum into "block"/"net"; files and FIFOs work, a
 * second open and anything else are refused; a line that cannot be written is counted
 * and its counts are not lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/metrics.h"
#include "helpers.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	metrics_reset_for_test();
	snprintf(dir, sizeof(dir), "/tmp/ember-metrics-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics.json", dir);
}

static void teardown(void)
{
	metrics_reset_for_test();
	unlink(path);
	rmdir(dir);
}

TestSuite(metrics, .init = setup, .fini = teardown);

/*
 * Firecracker's metrics schema, as its own integration tests validate a line
 * (tests/host_tools/fcmetrics.py at 1.17.0-dev, 81b38b9, x86_64): every group is
 * required, every field of a group is required, and nothing else is allowed
 * (additionalProperties false), except the optional top-level "id" and "properties".
 * "name{}" is a latency aggregate {min_us, max_us, sum_us}. Written out here from that
 * file, not from lib/metrics.h, so that the two are checked against each other.
 */
static const char *const fc_schema[] = {
	"api_server: process_startup_time_us process_startup_time_cpu_us",
	"balloon: activate_fails inflate_count stats_updates_count stats_update_fails "
	"deflate_count event_fails free_page_report_count free_page_report_freed "
	"free_page_report_fails free_page_hint_count free_page_hint_freed free_page_hint_fails",
	"block: activate_fails cfg_fails no_avail_buffer event_fails execute_fails "
	"invalid_reqs_count flush_count queue_event_count rate_limiter_event_count update_count "
	"update_fails read_bytes write_bytes read_count write_count rate_limiter_throttled_events "
	"io_engine_throttled_events remaining_reqs_count read_agg{} write_agg{}",
	"deprecated_api: deprecated_http_api_calls",
	"get_api_requests: instance_info_count machine_cfg_count mmds_count vmm_version_count "
	"hotplug_memory_count",
	"i8042: error_count missed_read_count missed_write_count read_count reset_count write_count",
	"latencies_us: full_create_snapshot diff_create_snapshot load_snapshot pause_vm resume_vm "
	"vmm_full_create_snapshot vmm_diff_create_snapshot vmm_load_snapshot vmm_pause_vm "
	"vmm_resume_vm",
	"logger: missed_metrics_count metrics_fails missed_log_count rate_limited_log_count",
	"mmds: rx_accepted rx_accepted_err rx_accepted_unusual rx_bad_eth rx_invalid_token "
	"rx_no_token rx_count tx_bytes tx_count tx_errors tx_frames connections_created "
	"connections_destroyed",
	"net: activate_fails cfg_fails no_rx_avail_buffer no_tx_avail_buffer event_fails "
	"rx_queue_event_count rx_event_rate_limiter_count rx_rate_limiter_throttled "
	"rx_tap_event_count rx_bytes_count rx_packets_count rx_fails rx_count tap_read_fails "
	"tap_write_fails tx_bytes_count tx_malformed_frames tx_fails tx_count tx_packets_count "
	"tx_queue_event_count tx_rate_limiter_event_count tx_rate_limiter_throttled "
	"tx_spoofed_mac_count tx_remaining_reqs_count tap_write_agg{}",
	"patch_api_requests: drive_count drive_fails network_count network_fails machine_cfg_count "
	"machine_cfg_fails mmds_count mmds_fails hotplug_memory_count hotplug_memory_fails "
	"pmem_count pmem_fails",
	"put_api_requests: actions_count actions_fails boot_source_count boot_source_fails "
	"drive_count drive_fails logger_count logger_fails machine_cfg_count machine_cfg_fails "
	"cpu_cfg_count cpu_cfg_fails metrics_count metrics_fails network_count network_fails "
	"mmds_count mmds_fails vsock_count vsock_fails pmem_count pmem_fails serial_count "
	"serial_fails hotplug_memory_count hotplug_memory_fails",
	"seccomp: num_faults",
	"vcpu: exit_io_in exit_io_out exit_mmio_read exit_mmio_write failures kvmclock_ctrl_fails "
	"exit_io_in_agg{} exit_io_out_agg{} exit_mmio_read_agg{} exit_mmio_write_agg{}",
	"vmm: panic_count",
	"uart: error_count flush_count missed_read_count missed_write_count read_count write_count "
	"rate_limiter_dropped_bytes",
	"signals: sigbus sigsegv sigxfsz sigxcpu sigpipe sighup sigill",
	"vsock: activate_fails cfg_fails rx_queue_event_fails tx_queue_event_fails "
	"ev_queue_event_fails muxer_event_fails conn_event_fails rx_queue_event_count "
	"tx_queue_event_count rx_bytes_count tx_bytes_count rx_packets_count tx_packets_count "
	"conns_added conns_killed conns_removed killq_resync tx_flush_fails tx_write_fails "
	"rx_read_fails",
	"entropy: activate_fails entropy_event_fails entropy_event_count entropy_bytes "
	"host_rng_fails entropy_rate_limiter_throttled rate_limiter_event_count",
	"pmem: activate_fails cfg_fails event_fails queue_event_count "
	"rate_limiter_throttled_events rate_limiter_event_count",
	"interrupts: triggers config_updates",
	"memory_hotplug: activate_fails queue_event_fails queue_event_count plug_count plug_bytes "
	"plug_fails plug_agg{} unplug_count unplug_bytes unplug_fails unplug_discard_fails "
	"unplug_agg{} state_count state_fails state_agg{} unplug_all_count unplug_all_fails "
	"unplug_all_agg{}",
};

/* The schema's line for a group ("block_x" is checked as "block"), or NULL. */
static const char *schema_of(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(fc_schema); i++) {
		size_t n = strcspn(fc_schema[i], ":");
		if (strncmp(key, fc_schema[i], n) == 0 &&
		    (key[n] == '\0' || (key[n] == '_' && (n == 5 || n == 3) &&
					(!strncmp(key, "block", 5) || !strncmp(key, "net", 3)))))
			return fc_schema[i] + n + 1;
	}
	return NULL;
}

/* The group holds exactly the schema's fields: numbers, and aggregates of three. */
static void assert_group_matches(const char *key, json_t *g, const char *fields)
{
	char buf[2048], *save = NULL;
	size_t want = 0;
	snprintf(buf, sizeof(buf), "%s", fields);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), want++) {
		size_t n = strlen(w);
		bool agg = n > 2 && strcmp(w + n - 2, "{}") == 0;
		if (agg)
			w[n - 2] = '\0';
		json_t *v = json_object_get(g, w);
		cr_assert_not_null(v, "%s: required field %s missing", key, w);
		if (!agg) {
			cr_assert(json_is_integer(v), "%s.%s: not a number", key, w);
			continue;
		}
		cr_assert(json_is_object(v) && json_object_size(v) == 3, "%s.%s: not an aggregate", key, w);
		cr_assert(json_is_integer(json_object_get(v, "min_us")) &&
			  json_is_integer(json_object_get(v, "max_us")) &&
			  json_is_integer(json_object_get(v, "sum_us")), "%s.%s: min/max/sum_us", key, w);
	}
	cr_assert_eq(json_object_size(g), want, "%s: %zu fields, the schema has %zu (no others allowed)",
		     key, json_object_size(g), want);
}

/* What fcmetrics.py's jsonschema.validate asks of a line. */
static void assert_line_matches_schema(json_t *line)
{
	cr_assert(json_is_integer(json_object_get(line, "utc_timestamp_ms")));
	for (size_t i = 0; i < ARRAY_SIZE(fc_schema); i++) {
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(fc_schema[i], ":"), fc_schema[i]);
		cr_assert_not_null(json_object_get(line, name), "required group %s missing", name);
	}
	const char *key;
	json_t *v;
	json_object_foreach(line, key, v) {
		if (strcmp(key, "utc_timestamp_ms") == 0)
			continue;
		if (strcmp(key, "id") == 0) {
			cr_assert(json_is_string(v), "id: not a string");
			continue;
		}
		if (strcmp(key, "properties") == 0) {
			const char *pk;
			json_t *pv;
			cr_assert(json_is_object(v));
			json_object_foreach(v, pk, pv)
				cr_assert(json_is_string(pv), "properties.%s: not a string", pk);
			continue;
		}
		const char *fields = schema_of(key);
		cr_assert_not_null(fields, "%s: not in the schema (no others allowed)", key);
		cr_assert(json_is_object(v), "%s: not an object", key);
		assert_group_matches(key, v, fields);
	}
}

/* Everything the file holds. */
static char *slurp(const char *p)
{
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static unsigned lines_in(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Line number i (from 0) of text, parsed; it must be a JSON object and end in '\n'. */
static json_t *parse_line(const char *text, unsigned i)
{
	const char *p = text;
	while (i-- > 0) {
		p = strchr(p, '\n');
		cr_assert_not_null(p, "fewer lines than expected:\n%s", text);
		p++;
	}
	const char *end = strchr(p, '\n');
	cr_assert_not_null(end, "the line does not end in a newline: %s", p);
	json_error_t err;
	json_t *j = json_loadb(p, (size_t)(end - p), 0, &err);
	cr_assert_not_null(j, "not JSON (%s at column %d): %.*s", err.text, err.column,
			   (int)(end - p), p);
	cr_assert(json_is_object(j));
	return j;
}

/* Flushes and parses the line just written (the file's last). */
static json_t *flush_and_parse(void)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_flush(&e), 0, "%s", e.msg);
	const char *text = slurp(path);
	return parse_line(text, lines_in(text) - 1);
}

static json_t *group(json_t *line, const char *name)
{
	json_t *g = json_object_get(line, name);
	cr_assert(json_is_object(g), "no group \"%s\"", name);
	return g;
}

static long long field(json_t *line, const char *grp, const char *name)
{
	json_t *v = json_object_get(group(line, grp), name);
	cr_assert(json_is_integer(v), "no integer %s.%s", grp, name);
	return json_integer_value(v);
}

static void open_metrics(void)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open(path, NULL, &e), 0, "%s", e.msg);
	cr_assert(metrics_configured());
}

/* Every field of the group is 0 (aggregates included). */
static void assert_zero(json_t *line, const char *grp)
{
	const char *key;
	json_t *v;
	json_object_foreach(group(line, grp), key, v)
		cr_assert(json_is_object(v) || json_integer_value(v) == 0, "%s.%s", grp, key);
}

Test(metrics, one_json_line_with_every_group)
{
	open_metrics();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	json_t *line = flush_and_parse();
	cr_assert_eq(lines_in(slurp(path)), 1);
	json_t *stamp = json_object_get(line, "utc_timestamp_ms");
	cr_assert(json_is_integer(stamp));
	cr_assert(llabs(json_integer_value(stamp) - now_ms) < 10000, "utc_timestamp_ms %lld, now %lld",
		  json_integer_value(stamp), now_ms);
	assert_line_matches_schema(line);
	cr_assert_eq(field(line, "api_server", "process_startup_time_us"), 0);
	cr_assert_eq(field(line, "signals", "sigbus"), 0);
	/* No devices: the sums are there, all zero, as in Firecracker; so are the groups
	   of the devices ember never has. */
	assert_zero(line, "block");
	assert_zero(line, "net");
	assert_zero(line, "balloon");
	assert_zero(line, "vsock");
	cr_assert_eq(json_object_size(line), 1 + ARRAY_SIZE(fc_schema),
		     "unexpected members in the line");
	json_decref(line);
}

/* A line with devices, emit_id and properties still passes Firecracker's schema check. */
Test(metrics, a_line_with_devices_id_and_properties_matches_firecrackers_schema)
{
	struct errbuf e = { "" };
	struct metrics_options o = { .id = "vm-7", .properties = "{\"bundle_id\":\"fn-abc\"}" };
	cr_assert_eq(metrics_open(path, &o, &e), 0, "%s", e.msg);
	struct metrics_block *d = metrics_block_register("rootfs");
	struct metrics_net *n = metrics_net_register("eth0");
	METRIC_ADD(d->read_bytes, 4096);
	json_t *line = flush_and_parse();
	assert_line_matches_schema(line);
	cr_assert_str_eq(json_string_value(json_object_get(line, "id")), "vm-7");
	cr_assert_str_eq(json_string_value(json_object_get(group(line, "properties"), "bundle_id")),
			 "fn-abc");
	cr_assert_eq(field(line, "block_rootfs", "read_bytes"), 4096);
	cr_assert_eq(json_object_size(line), 1 + 2 + ARRAY_SIZE(fc_schema) + 2);
	json_decref(line);
	metrics_block_unregister(d);
	metrics_net_unregister(n);
}

/* ember's own latencies are written only with its boot timer on (no Firecracker client
   turns that on, so theirs stay schema-exact). */
Test(metrics, boot_timing_only_with_the_boot_timer)
{
	open_metrics();
	METRIC_STORE(metrics.latencies_us.boot_us, 1234);
	json_t *line = flush_and_parse();
	cr_assert_null(json_object_get(group(line, "latencies_us"), "boot_us"));
	json_decref(line);
	metrics_write_boot_timing(true);
	line = flush_and_parse();
	cr_assert_eq(field(line, "latencies_us", "boot_us"), 1234);
	cr_assert_eq(field(line, "latencies_us", "vmm_start_us"), 0);
	json_decref(line);
}

Test(metrics, counters_are_deltas_stored_values_stay)
{
	open_metrics();
	metrics_write_boot_timing(true); /* boot_us, as with --boot-timer */
	METRIC_ADD(metrics.i8042.read_count, 3);
	METRIC_INC(metrics.vcpu.exit_io_out);
	METRIC_STORE(metrics.latencies_us.boot_us, 1234);
	json_t *line = flush_and_parse();
	cr_assert_eq(field(line, "i8042", "read_count"), 3);
	cr_assert_eq(field(line, "vcpu", "exit_io_out"), 1);
	cr_assert_eq(field(line, "latencies_us", "boot_us"), 1234);
	json_decref(line);

	line = flush_and_parse();
	cr_assert_eq(field(line, "i8042", "read_count"), 0, "a counter is the change since the last line");
	cr_assert_eq(field(line, "vcpu", "exit_io_out"), 0);
	cr_assert_eq(field(line, "latencies_us", "boot_us"), 1234, "a stored value stays");
	json_decref(line);

	METRIC_ADD(metrics.i8042.read_count, 5);
	METRIC_STORE(metrics.latencies_us.boot_us, 99);
	line = flush_and_parse();
	cr_assert_eq(field(line, "i8042", "read_count"), 5);
	cr_assert_eq(field(line, "latencies_us", "boot_us"), 99);
	json_decref(line);
	cr_assert_eq(lines_in(slurp(path)), 3);
}

Test(metrics, device_groups_and_their_sums)
{
	open_metrics();
	struct metrics_block *root = metrics_block_register("rootfs");
	struct metrics_block *data = metrics_block_register("data-1");
	struct metrics_net *eth = metrics_net_register("eth0");
	METRIC_ADD(root->read_bytes, 100);
	METRIC_ADD(data->read_bytes, 23);
	METRIC_INC(data->flush_count);
	METRIC_ADD(eth->tx_packets_count, 7);

	json_t *line = flush_and_parse();
	cr_assert_eq(json_object_size(line), 1 + ARRAY_SIZE(fc_schema) + 3);
	assert_line_matches_schema(line);
	cr_assert_eq(field(line, "block_rootfs", "read_bytes"), 100);
	cr_assert_eq(field(line, "block_data-1", "read_bytes"), 23);
	cr_assert_eq(field(line, "block_rootfs", "flush_count"), 0);
	cr_assert_eq(field(line, "block_data-1", "flush_count"), 1);
	cr_assert_eq(field(line, "block", "read_bytes"), 123, "the sum of the drives");
	cr_assert_eq(field(line, "block", "flush_count"), 1);
	cr_assert_eq(field(line, "net_eth0", "tx_packets_count"), 7);
	cr_assert_eq(field(line, "net", "tx_packets_count"), 7);
	json_decref(line);

	/* Deltas per device and in the sums. */
	METRIC_ADD(data->read_bytes, 2);
	line = flush_and_parse();
	cr_assert_eq(field(line, "block_rootfs", "read_bytes"), 0);
	cr_assert_eq(field(line, "block_data-1", "read_bytes"), 2);
	cr_assert_eq(field(line, "block", "read_bytes"), 2);
	cr_assert_eq(field(line, "net", "tx_packets_count"), 0);
	json_decref(line);

	/* A destroyed device leaves the line and the sum. */
	METRIC_ADD(data->read_bytes, 1000);
	METRIC_ADD(root->read_bytes, 1);
	metrics_block_unregister(data);
	line = flush_and_parse();
	cr_assert_null(json_object_get(line, "block_data-1"));
	cr_assert_eq(field(line, "block_rootfs", "read_bytes"), 1);
	cr_assert_eq(field(line, "block", "read_bytes"), 1);
	json_decref(line);
	metrics_block_unregister(root);
	metrics_net_unregister(eth);
	line = flush_and_parse();
	cr_assert_null(json_object_get(line, "block_rootfs"));
	cr_assert_null(json_object_get(line, "net_eth0"));
	assert_zero(line, "block");
	json_decref(line);
}

Test(metrics, same_id_twice_is_one_group)
{
	open_metrics();
	struct metrics_block *a = metrics_block_register("d");
	struct metrics_block *b = metrics_block_register("d");
	cr_assert_eq(a, b);
	METRIC_INC(a->write_count);
	metrics_block_unregister(a);
	METRIC_INC(b->write_count); /* still registered once */
	json_t *line = flush_and_parse();
	cr_assert_eq(field(line, "block_d", "write_count"), 2);
	json_decref(line);
	metrics_block_unregister(b);
	line = flush_and_parse();
	cr_assert_null(json_object_get(line, "block_d"));
	json_decref(line);
}

Test(metrics, a_net_group_is_not_a_block_group)
{
	open_metrics();
	struct metrics_block *b = metrics_block_register("x");
	struct metrics_net *n = metrics_net_register("x");
	cr_assert_neq((void *)b, (void *)n);
	METRIC_INC(n->rx_count);
	json_t *line = flush_and_parse();
	cr_assert_eq(field(line, "net_x", "rx_count"), 1);
	assert_line_matches_schema(line);
	json_decref(line);
}

Test(metrics, lines_are_appended)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "{}\n", 3), 3);
	close(fd);
	open_metrics();
	json_decref(flush_and_parse());
	const char *text = slurp(path);
	cr_assert_eq(lines_in(text), 2);
	cr_assert_eq(strncmp(text, "{}\n{\"utc_timestamp_ms\":", 23), 0, "%s", text);
}

Test(metrics, new_file_is_private)
{
	open_metrics();
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(metrics, fifo)
{
	cr_assert_eq(mkfifo(path, 0600), 0);
	open_metrics();
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	METRIC_ADD(metrics.uart.write_count, 42);
	struct errbuf e = { "" };
	cr_assert_eq(metrics_flush(&e), 0, "%s", e.msg);
	static char buf[1 << 16];
	ssize_t n = read(rd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	cr_assert_eq(lines_in(buf), 1);
	json_t *line = parse_line(buf, 0);
	cr_assert_eq(field(line, "uart", "write_count"), 42);
	json_decref(line);
	close(rd);
}

/* A FIFO nobody drains fills up: the flush fails at once (never blocks), says so, counts
 * logger.metrics_fails, and what it could not deliver is in the next line written. */
Test(metrics, full_fifo_fails_without_losing_counts)
{
	cr_assert_eq(mkfifo(path, 0600), 0);
	open_metrics();
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	struct errbuf e = { "" };
	unsigned ok = 0;
	while (metrics_flush(&e) == 0)
		cr_assert_lt(++ok, 10000, "a FIFO never filled up");
	assert_msg_has(e, path);
	METRIC_ADD(metrics.uart.read_count, 9);
	cr_assert_eq(metrics_flush(&e), -1, "a full FIFO took a line");

	static char buf[1 << 16];
	while (read(rd, buf, sizeof(buf)) > 0)
		;
	cr_assert_eq(metrics_flush(&e), 0, "%s", e.msg);
	ssize_t n = read(rd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	json_t *line = parse_line(buf, 0);
	cr_assert_eq(field(line, "logger", "metrics_fails"), 2);
	cr_assert_eq(field(line, "uart", "read_count"), 9);
	json_decref(line);
	close(rd);
}

Test(metrics, second_open_refused)
{
	open_metrics();
	char other[160];
	snprintf(other, sizeof(other), "%s/other", dir);
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open(other, NULL, &e), -1);
	cr_assert_str_eq(e.msg, "metrics are already configured");
	cr_assert_eq(access(other, F_OK), -1, "the second path was created");
	/* The first file still works. */
	json_decref(flush_and_parse());
}

Test(metrics, directory_refused)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open(dir, NULL, &e), -1);
	assert_msg_has(e, dir);
	cr_assert_null(strchr(e.msg, '\n'));
	cr_assert_not(metrics_configured());
}

Test(metrics, missing_directory_refused)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/no/such/file", dir);
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open(p, NULL, &e), -1);
	char want[256];
	snprintf(want, sizeof(want), "metrics file %s: No such file or directory", p);
	cr_assert_str_eq(e.msg, want);
}

Test(metrics, device_file_refused)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open("/dev/null", NULL, &e), -1);
	cr_assert_str_eq(e.msg, "metrics file /dev/null: not a regular file or FIFO");
	cr_assert_not(metrics_configured());
}

Test(metrics, unconfigured_flush_writes_nothing)
{
	cr_assert_not(metrics_configured());
	METRIC_INC(metrics.vmm.panic_count);
	struct errbuf e = { "" };
	cr_assert_eq(metrics_flush(&e), 0);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(metrics.logger.metrics_fails, 0);
}

Test(metrics, closed_sink_writes_nothing_and_can_be_opened_again)
{
	open_metrics();
	json_decref(flush_and_parse());
	metrics_close();
	cr_assert_not(metrics_configured());
	struct errbuf e = { "" };
	cr_assert_eq(metrics_flush(&e), 0);
	cr_assert_eq(lines_in(slurp(path)), 1);
	open_metrics();
	json_decref(flush_and_parse());
	cr_assert_eq(lines_in(slurp(path)), 2);
}

/* Ids are checked by the configuration; whatever else arrives cannot break the line. */
Test(metrics, odd_id_keeps_the_line_json)
{
	open_metrics();
	metrics_net_register("a\"b\\c d");
	json_t *line = flush_and_parse();
	group(line, "net_a_b_c_d");
	json_decref(line);
}
