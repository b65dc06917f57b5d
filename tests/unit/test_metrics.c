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

/* Firecracker's field names (src/vmm/src/devices/virtio/{block/virtio,net}/metrics.rs). */
static const char *const block_fields[] = {
	"activate_fails", "cfg_fails", "no_avail_buffer", "event_fails", "execute_fails",
	"invalid_reqs_count", "flush_count", "queue_event_count", "rate_limiter_event_count",
	"update_count", "update_fails", "read_bytes", "write_bytes", "read_count", "write_count",
	"rate_limiter_throttled_events", "io_engine_throttled_events", "remaining_reqs_count",
};
static const char *const net_fields[] = {
	"activate_fails", "cfg_fails", "mac_address_updates", "no_rx_avail_buffer",
	"no_tx_avail_buffer", "event_fails", "rx_queue_event_count",
	"rx_event_rate_limiter_count", "rx_partial_writes", "rx_rate_limiter_throttled",
	"rx_tap_event_count", "rx_bytes_count", "rx_packets_count", "rx_fails", "rx_count",
	"tap_read_fails", "tap_write_fails", "tx_bytes_count", "tx_malformed_frames", "tx_fails",
	"tx_count", "tx_packets_count", "tx_partial_reads", "tx_queue_event_count",
	"tx_rate_limiter_event_count", "tx_rate_limiter_throttled", "tx_spoofed_mac_count",
	"tx_remaining_reqs_count",
};
static const char *const fixed_groups[] = {
	"api_server", "get_api_requests", "put_api_requests", "patch_api_requests", "i8042",
	"latencies_us", "logger", "seccomp", "vcpu", "vmm", "uart", "signals",
};

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
	cr_assert_eq(metrics_open(path, &e), 0, "%s", e.msg);
	cr_assert(metrics_configured());
}

static void assert_fields(json_t *line, const char *grp, const char *const *names, size_t n)
{
	json_t *g = group(line, grp);
	cr_assert_eq(json_object_size(g), n, "%s has %zu fields, want %zu", grp,
		     json_object_size(g), n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(field(line, grp, names[i]), 0, "%s.%s", grp, names[i]);
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
	for (size_t i = 0; i < ARRAY_SIZE(fixed_groups); i++)
		group(line, fixed_groups[i]);
	cr_assert_eq(field(line, "api_server", "process_startup_time_us"), 0);
	cr_assert_eq(field(line, "signals", "sigbus"), 0);
	/* No devices: the sums are there, all zero, as in Firecracker. */
	assert_fields(line, "block", block_fields, ARRAY_SIZE(block_fields));
	assert_fields(line, "net", net_fields, ARRAY_SIZE(net_fields));
	cr_assert_eq(json_object_size(line), 1 + ARRAY_SIZE(fixed_groups) + 2,
		     "unexpected members in the line");
	json_decref(line);
}

Test(metrics, counters_are_deltas_stored_values_stay)
{
	open_metrics();
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
	cr_assert_eq(json_object_size(line), 1 + ARRAY_SIZE(fixed_groups) + 2 + 3);
	cr_assert_eq(json_object_size(group(line, "block_rootfs")), ARRAY_SIZE(block_fields));
	cr_assert_eq(json_object_size(group(line, "block_data-1")), ARRAY_SIZE(block_fields));
	cr_assert_eq(json_object_size(group(line, "net_eth0")), ARRAY_SIZE(net_fields));
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
	assert_fields(line, "block", block_fields, ARRAY_SIZE(block_fields));
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
	cr_assert_eq(json_object_size(group(line, "block_x")), ARRAY_SIZE(block_fields));
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
	cr_assert_eq(metrics_open(other, &e), -1);
	cr_assert_str_eq(e.msg, "metrics are already configured");
	cr_assert_eq(access(other, F_OK), -1, "the second path was created");
	/* The first file still works. */
	json_decref(flush_and_parse());
}

Test(metrics, directory_refused)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open(dir, &e), -1);
	assert_msg_has(e, dir);
	cr_assert_null(strchr(e.msg, '\n'));
	cr_assert_not(metrics_configured());
}

Test(metrics, missing_directory_refused)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/no/such/file", dir);
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open(p, &e), -1);
	char want[256];
	snprintf(want, sizeof(want), "metrics file %s: No such file or directory", p);
	cr_assert_str_eq(e.msg, want);
}

Test(metrics, device_file_refused)
{
	struct errbuf e = { "" };
	cr_assert_eq(metrics_open("/dev/null", &e), -1);
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
