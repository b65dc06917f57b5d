/*
 * The one metrics sink. Counters are named and grouped as Firecracker names them, so a
 * dashboard built for Firecracker's metrics file reads ember's: one JSON object per
 * line, counters as deltas since the previous line (see metrics.c).
 *
 * Like the logger, the sink is process-wide: a device bumps a counter from whichever
 * thread it runs on (atomically, relaxed), and the flush runs on the event thread.
 * Fixed groups live in `metrics` below; per-device groups (block_<id>, net_<id>) are
 * registered by the device, and the aggregate `block`/`net` groups are their sums.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef uint64_t metric_t;

/* Counts n more; safe from any thread. */
#define METRIC_ADD(counter, n) __atomic_add_fetch(&(counter), (uint64_t)(n), __ATOMIC_RELAXED)
#define METRIC_INC(counter) METRIC_ADD(counter, 1)
/* A value reported as it is (a latency), not as a delta. */
#define METRIC_STORE(counter, v) __atomic_store_n(&(counter), (uint64_t)(v), __ATOMIC_RELAXED)

/*
 * X-macro field lists: one place names each counter, and both the struct and the JSON
 * writer are generated from it. F(name) is a delta counter, S(name) a stored value.
 */
#define METRICS_API_SERVER(F, S)                                                         \
	S(process_startup_time_us) S(process_startup_time_cpu_us) F(sync_response_fails)  \
	F(sync_vmm_send_timeout_count)
#define METRICS_GET_API(F, S)                                                            \
	F(instance_info_count) F(machine_cfg_count) F(mmds_count) F(vmm_version_count)
#define METRICS_PUT_API(F, S)                                                            \
	F(actions_count) F(actions_fails) F(boot_source_count) F(boot_source_fails)       \
	F(drive_count) F(drive_fails) F(logger_count) F(logger_fails) F(machine_cfg_count) \
	F(machine_cfg_fails) F(metrics_count) F(metrics_fails) F(network_count)           \
	F(network_fails)
#define METRICS_PATCH_API(F, S)                                                          \
	F(drive_count) F(drive_fails) F(network_count) F(network_fails)                   \
	F(machine_cfg_count) F(machine_cfg_fails)
#define METRICS_I8042(F, S)                                                              \
	F(error_count) F(missed_read_count) F(missed_write_count) F(read_count)           \
	F(reset_count) F(write_count)
/* Firecracker's latencies_us, plus boot_us (InstanceStart, or process start when booted
 * from flags or a config file, to the guest's boot-timer write) and vmm_start_us
 * (InstanceStart to the vCPUs running). */
#define METRICS_LATENCIES(F, S)                                                          \
	S(pause_vm) S(resume_vm) S(vmm_pause_vm) S(vmm_resume_vm) S(boot_us)              \
	S(boot_cpu_us) S(vmm_start_us)
#define METRICS_LOGGER(F, S)                                                             \
	F(missed_metrics_count) F(metrics_fails) F(missed_log_count) F(log_fails)
#define METRICS_SECCOMP(F, S) F(num_faults)
#define METRICS_VCPU(F, S)                                                               \
	F(exit_io_in) F(exit_io_out) F(exit_mmio_read) F(exit_mmio_write) F(failures)
#define METRICS_VMM(F, S) F(device_events) F(panic_count)
#define METRICS_UART(F, S)                                                               \
	F(error_count) F(flush_count) F(missed_read_count) F(missed_write_count)          \
	F(read_count) F(write_count)
#define METRICS_SIGNALS(F, S)                                                            \
	F(sigbus) F(sigsegv) F(sigxfsz) F(sigxcpu) F(sigpipe) F(sighup) F(sigill)

/* Every fixed group: G(json name, C field name, field list). */
#define METRICS_GROUPS(G)                                                                \
	G("api_server", api_server, METRICS_API_SERVER)                                   \
	G("get_api_requests", get_api, METRICS_GET_API)                                   \
	G("put_api_requests", put_api, METRICS_PUT_API)                                   \
	G("patch_api_requests", patch_api, METRICS_PATCH_API)                             \
	G("i8042", i8042, METRICS_I8042)                                                  \
	G("latencies_us", latencies_us, METRICS_LATENCIES)                                \
	G("logger", logger, METRICS_LOGGER)                                               \
	G("seccomp", seccomp, METRICS_SECCOMP)                                            \
	G("vcpu", vcpu, METRICS_VCPU)                                                     \
	G("vmm", vmm, METRICS_VMM)                                                        \
	G("uart", uart, METRICS_UART)                                                     \
	G("signals", signals, METRICS_SIGNALS)

#define METRICS_FIELD_(name) metric_t name;
#define METRICS_STRUCT_(json, field, list) struct { list(METRICS_FIELD_, METRICS_FIELD_) } field;
struct metrics {
	METRICS_GROUPS(METRICS_STRUCT_)
};
#undef METRICS_STRUCT_

extern struct metrics metrics;

/*
 * Per-device groups, Firecracker's BlockDeviceMetrics and NetDeviceMetrics as of the
 * same release as the groups above (their read_agg/write_agg/tap_write_agg latency
 * aggregates left out, like vcpu's). Written as "block_<drive_id>" and "net_<iface_id>",
 * and summed into "block" and "net". What bumps each field: virtio/README.md.
 */
#define METRICS_BLOCK(F, S)                                                              \
	F(activate_fails) F(cfg_fails) F(no_avail_buffer) F(event_fails) F(execute_fails) \
	F(invalid_reqs_count) F(flush_count) F(queue_event_count)                          \
	F(rate_limiter_event_count) F(update_count) F(update_fails) F(read_bytes)          \
	F(write_bytes) F(read_count) F(write_count) F(rate_limiter_throttled_events)       \
	F(io_engine_throttled_events) F(remaining_reqs_count)
#define METRICS_NET(F, S)                                                                \
	F(activate_fails) F(cfg_fails) F(mac_address_updates) F(no_rx_avail_buffer)       \
	F(no_tx_avail_buffer) F(event_fails) F(rx_queue_event_count)                       \
	F(rx_event_rate_limiter_count) F(rx_partial_writes) F(rx_rate_limiter_throttled)   \
	F(rx_tap_event_count) F(rx_bytes_count) F(rx_packets_count) F(rx_fails) F(rx_count) \
	F(tap_read_fails) F(tap_write_fails) F(tx_bytes_count) F(tx_malformed_frames)      \
	F(tx_fails) F(tx_count) F(tx_packets_count) F(tx_partial_reads)                    \
	F(tx_queue_event_count) F(tx_rate_limiter_event_count) F(tx_rate_limiter_throttled) \
	F(tx_spoofed_mac_count) F(tx_remaining_reqs_count)

struct metrics_block {
	METRICS_BLOCK(METRICS_FIELD_, METRICS_FIELD_)
};
struct metrics_net {
	METRICS_NET(METRICS_FIELD_, METRICS_FIELD_)
};

/*
 * Where lines go: a regular file (appended to, created 0600) or a FIFO, opened
 * non-blocking so that a reader that falls behind costs a line (logger.metrics_fails),
 * never a stalled event thread. Once per process: a second call fails with "metrics are
 * already configured"; anything but a file or FIFO fails with a line naming the path.
 */
int metrics_open(const char *path, struct errbuf *e);
bool metrics_configured(void);
/*
 * Writes one line with one write(2): {"utc_timestamp_ms":N, every fixed group,
 * "block_<id>" per drive, "block", "net_<id>" per interface, "net"}. F() fields are the
 * change since the last line written, S() fields their value. A failed or short write
 * counts logger.metrics_fails and returns -1 with the reason; the counts it could not
 * deliver go into the next line. Not configured: writes nothing, returns 0.
 */
int metrics_flush(struct errbuf *e);
/* At exit: closes the file (flush first for a last line). Counting goes on harmlessly. */
void metrics_close(void);
/* Async-signal-safe: a last line holding the seccomp group only (jail/seccomp.c). */
void metrics_flush_fault(void);

/*
 * A device's group, named by its id ([A-Za-z0-9_-]); never NULL (without memory the
 * counts go nowhere, with a warning). The device bumps it with METRIC_ADD from any
 * thread and unregisters it when destroyed; the group then leaves the file, and its
 * counts leave the sums. Registering an id twice gives the same group, counted twice.
 */
struct metrics_block *metrics_block_register(const char *drive_id);
void metrics_block_unregister(struct metrics_block *m);
struct metrics_net *metrics_net_register(const char *iface_id);
void metrics_net_unregister(struct metrics_net *m);

/* Unit tests: closes the file, zeroes every counter and forgets every device group. */
void metrics_reset_for_test(void);

#endif
