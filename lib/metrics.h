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
 * X-macro field lists, Firecracker's metrics schema (its src/vmm/src/logger/metrics.rs
 * and tests/host_tools/fcmetrics.py at 1.17.0-dev, 81b38b9): every group and field it
 * has, in its order, so a consumer that validates lines against that schema (which
 * allows no other key) takes ember's. One place names each counter, and both the
 * struct and the JSON writer are generated from it:
 *   F(name)  a counter, written as the change since the last line
 *   S(name)  a stored value (a latency, a startup time), written as it is
 *   A(name)  a latency aggregate {"min_us","max_us","sum_us"}: ember measures none of
 *            them and writes zeros; no storage
 *   E(name)  ember's own stored value, written only with --boot-timer (ember's own
 *            flag, which no Firecracker client sets, so their lines stay schema-exact)
 * Groups of devices ember does not have (balloon, vsock, entropy, pmem, MMDS, memory
 * hot-plug) are there with zeros, as Firecracker writes them for a VM without them.
 */
#define METRICS_API_SERVER(F, S, A, E) S(process_startup_time_us) S(process_startup_time_cpu_us)
#define METRICS_BALLOON(F, S, A, E)                                                      \
	F(activate_fails) F(inflate_count) F(stats_updates_count) F(stats_update_fails)   \
	F(deflate_count) F(event_fails) F(free_page_report_count) F(free_page_report_freed) \
	F(free_page_report_fails) F(free_page_hint_count) F(free_page_hint_freed)          \
	F(free_page_hint_fails)
#define METRICS_DEPRECATED_API(F, S, A, E) F(deprecated_http_api_calls)
#define METRICS_GET_API(F, S, A, E)                                                      \
	F(instance_info_count) F(machine_cfg_count) F(mmds_count) F(vmm_version_count)    \
	F(hotplug_memory_count)
#define METRICS_I8042(F, S, A, E)                                                        \
	F(error_count) F(missed_read_count) F(missed_write_count) F(read_count)           \
	F(reset_count) F(write_count)
#define METRICS_UART(F, S, A, E)                                                         \
	F(error_count) F(flush_count) F(missed_read_count) F(missed_write_count)          \
	F(read_count) F(write_count) F(rate_limiter_dropped_bytes)
/* Firecracker's latencies_us, plus ember's boot_us (InstanceStart, or process start when
 * booted from flags or a config file, to the guest's boot-timer write), boot_cpu_us and
 * vmm_start_us (InstanceStart to the vCPUs running). */
#define METRICS_LATENCIES(F, S, A, E)                                                    \
	S(full_create_snapshot) S(diff_create_snapshot) S(load_snapshot) S(pause_vm)      \
	S(resume_vm) S(vmm_full_create_snapshot) S(vmm_diff_create_snapshot)              \
	S(vmm_load_snapshot) S(vmm_pause_vm) S(vmm_resume_vm) E(boot_us) E(boot_cpu_us)   \
	E(vmm_start_us)
#define METRICS_LOGGER(F, S, A, E)                                                       \
	F(missed_metrics_count) F(metrics_fails) F(missed_log_count) F(rate_limited_log_count)
#define METRICS_MMDS(F, S, A, E)                                                         \
	F(rx_accepted) F(rx_accepted_err) F(rx_accepted_unusual) F(rx_bad_eth)            \
	F(rx_invalid_token) F(rx_no_token) F(rx_count) F(tx_bytes) F(tx_count) F(tx_errors) \
	F(tx_frames) F(connections_created) F(connections_destroyed)
#define METRICS_PATCH_API(F, S, A, E)                                                    \
	F(drive_count) F(drive_fails) F(network_count) F(network_fails)                   \
	F(machine_cfg_count) F(machine_cfg_fails) F(mmds_count) F(mmds_fails)             \
	F(hotplug_memory_count) F(hotplug_memory_fails) F(pmem_count) F(pmem_fails)
#define METRICS_PUT_API(F, S, A, E)                                                      \
	F(actions_count) F(actions_fails) F(boot_source_count) F(boot_source_fails)       \
	F(drive_count) F(drive_fails) F(logger_count) F(logger_fails) F(machine_cfg_count) \
	F(machine_cfg_fails) F(cpu_cfg_count) F(cpu_cfg_fails) F(metrics_count)            \
	F(metrics_fails) F(network_count) F(network_fails) F(mmds_count) F(mmds_fails)     \
	F(vsock_count) F(vsock_fails) F(pmem_count) F(pmem_fails) F(serial_count)          \
	F(serial_fails) F(hotplug_memory_count) F(hotplug_memory_fails)
#define METRICS_SECCOMP(F, S, A, E) S(num_faults)
#define METRICS_VCPU(F, S, A, E)                                                         \
	F(exit_io_in) F(exit_io_out) F(exit_mmio_read) F(exit_mmio_write) F(failures)     \
	F(kvmclock_ctrl_fails) A(exit_io_in_agg) A(exit_io_out_agg) A(exit_mmio_read_agg)  \
	A(exit_mmio_write_agg)
#define METRICS_VMM(F, S, A, E) S(panic_count)
#define METRICS_SIGNALS(F, S, A, E)                                                      \
	S(sigbus) S(sigsegv) S(sigxfsz) S(sigxcpu) F(sigpipe) S(sighup) S(sigill)
#define METRICS_VSOCK(F, S, A, E)                                                        \
	F(activate_fails) F(cfg_fails) F(rx_queue_event_fails) F(tx_queue_event_fails)    \
	F(ev_queue_event_fails) F(muxer_event_fails) F(conn_event_fails)                   \
	F(rx_queue_event_count) F(tx_queue_event_count) F(rx_bytes_count) F(tx_bytes_count) \
	F(rx_packets_count) F(tx_packets_count) F(conns_added) F(conns_killed)             \
	F(conns_removed) F(killq_resync) F(tx_flush_fails) F(tx_write_fails) F(rx_read_fails)
#define METRICS_ENTROPY(F, S, A, E)                                                      \
	F(activate_fails) F(entropy_event_fails) F(entropy_event_count) F(entropy_bytes)   \
	F(host_rng_fails) F(entropy_rate_limiter_throttled) F(rate_limiter_event_count)
#define METRICS_PMEM(F, S, A, E)                                                         \
	F(activate_fails) F(cfg_fails) F(event_fails) F(queue_event_count)                 \
	F(rate_limiter_throttled_events) F(rate_limiter_event_count)
#define METRICS_INTERRUPTS(F, S, A, E) F(triggers) F(config_updates)
#define METRICS_MEMORY_HOTPLUG(F, S, A, E)                                               \
	F(activate_fails) F(queue_event_fails) F(queue_event_count) A(plug_agg)            \
	F(plug_count) F(plug_bytes) F(plug_fails) A(unplug_agg) F(unplug_count)            \
	F(unplug_bytes) F(unplug_fails) F(unplug_discard_fails) A(unplug_all_agg)          \
	F(unplug_all_count) F(unplug_all_fails) A(state_agg) F(state_count) F(state_fails)

/* Device kinds with a group per device ("block_<id>", "net_<id>") and their sum. */
enum metrics_dev_kind { METRICS_DEV_BLOCK, METRICS_DEV_NET, METRICS_DEV_KINDS, METRICS_DEV_NONE };

/*
 * Every fixed group in the schema's order: G(json name, C field name, field list, the
 * device kind whose groups follow it in the line, or METRICS_DEV_NONE).
 */
#define METRICS_GROUPS(G)                                                                \
	G("api_server", api_server, METRICS_API_SERVER, METRICS_DEV_NONE)                 \
	G("balloon", balloon, METRICS_BALLOON, METRICS_DEV_BLOCK)                         \
	G("deprecated_api", deprecated_api, METRICS_DEPRECATED_API, METRICS_DEV_NONE)     \
	G("get_api_requests", get_api, METRICS_GET_API, METRICS_DEV_NONE)                 \
	G("i8042", i8042, METRICS_I8042, METRICS_DEV_NONE)                                \
	G("uart", uart, METRICS_UART, METRICS_DEV_NONE)                                   \
	G("latencies_us", latencies_us, METRICS_LATENCIES, METRICS_DEV_NONE)              \
	G("logger", logger, METRICS_LOGGER, METRICS_DEV_NONE)                             \
	G("mmds", mmds, METRICS_MMDS, METRICS_DEV_NET)                                    \
	G("patch_api_requests", patch_api, METRICS_PATCH_API, METRICS_DEV_NONE)           \
	G("put_api_requests", put_api, METRICS_PUT_API, METRICS_DEV_NONE)                 \
	G("seccomp", seccomp, METRICS_SECCOMP, METRICS_DEV_NONE)                          \
	G("vcpu", vcpu, METRICS_VCPU, METRICS_DEV_NONE)                                   \
	G("vmm", vmm, METRICS_VMM, METRICS_DEV_NONE)                                      \
	G("signals", signals, METRICS_SIGNALS, METRICS_DEV_NONE)                          \
	G("vsock", vsock, METRICS_VSOCK, METRICS_DEV_NONE)                                \
	G("entropy", entropy, METRICS_ENTROPY, METRICS_DEV_NONE)                          \
	G("pmem", pmem, METRICS_PMEM, METRICS_DEV_NONE)                                   \
	G("interrupts", interrupts, METRICS_INTERRUPTS, METRICS_DEV_NONE)                 \
	G("memory_hotplug", memory_hotplug, METRICS_MEMORY_HOTPLUG, METRICS_DEV_NONE)

#define METRICS_NO_SLOT_(name)
#define METRICS_FIELD_(name) metric_t name;
#define METRICS_STRUCT_(json, field, list, devs)                                         \
	struct { list(METRICS_FIELD_, METRICS_FIELD_, METRICS_NO_SLOT_, METRICS_FIELD_) } field;
struct metrics {
	METRICS_GROUPS(METRICS_STRUCT_)
};
#undef METRICS_STRUCT_

extern struct metrics metrics;

/*
 * Per-device groups, Firecracker's BlockDeviceMetrics and NetDeviceMetrics. Written as
 * "block_<drive_id>" and "net_<iface_id>", and summed into "block" and "net". What bumps
 * each field: virtio/README.md.
 */
#define METRICS_BLOCK(F, S, A, E)                                                        \
	F(activate_fails) F(cfg_fails) F(no_avail_buffer) F(event_fails) F(execute_fails) \
	F(invalid_reqs_count) F(flush_count) F(queue_event_count)                          \
	F(rate_limiter_event_count) F(update_count) F(update_fails) F(read_bytes)          \
	F(write_bytes) F(read_count) F(write_count) A(read_agg) A(write_agg)               \
	F(rate_limiter_throttled_events) F(io_engine_throttled_events)                     \
	F(remaining_reqs_count)
#define METRICS_NET(F, S, A, E)                                                          \
	F(activate_fails) F(cfg_fails) F(no_rx_avail_buffer) F(no_tx_avail_buffer)         \
	F(event_fails) F(rx_queue_event_count) F(rx_event_rate_limiter_count)              \
	F(rx_rate_limiter_throttled) F(rx_tap_event_count) F(rx_bytes_count)               \
	F(rx_packets_count) F(rx_fails) F(rx_count) F(tap_read_fails) F(tap_write_fails)   \
	A(tap_write_agg) F(tx_bytes_count) F(tx_malformed_frames) F(tx_fails) F(tx_count)  \
	F(tx_packets_count) F(tx_queue_event_count) F(tx_rate_limiter_event_count)         \
	F(tx_rate_limiter_throttled) F(tx_spoofed_mac_count) F(tx_remaining_reqs_count)

struct metrics_block {
	METRICS_BLOCK(METRICS_FIELD_, METRICS_FIELD_, METRICS_NO_SLOT_, METRICS_FIELD_)
};
struct metrics_net {
	METRICS_NET(METRICS_FIELD_, METRICS_FIELD_, METRICS_NO_SLOT_, METRICS_FIELD_)
};

/*
 * Where lines go: a regular file (appended to, created 0600) or a FIFO, opened
 * non-blocking so that a reader that falls behind costs a line (logger.metrics_fails),
 * never a stalled event thread. Once per process: a second call fails with "metrics are
 * already configured"; anything but a file or FIFO fails with a line naming the path.
 */
/* What a line carries besides the counters: Firecracker's PUT /metrics emit_id and
   properties, right after utc_timestamp_ms. */
struct metrics_options {
	const char *id;         /* non-NULL (emit_id): "id":"<id>" */
	const char *properties; /* non-NULL: the text of a JSON object of strings */
};
int metrics_open(const char *path, const struct metrics_options *o, struct errbuf *e);
/* The E() fields (ember's boot timing) are written from now on. */
void metrics_write_boot_timing(bool on);
bool metrics_configured(void);
/*
 * Writes one line with one write(2): {"utc_timestamp_ms":N, ["id", "properties",] every
 * group in the schema's order, "block_<id>" per drive before "block", "net_<id>" per
 * interface before "net"}. F() fields are the change since the last line written, S()
 * and E() fields their value. A failed or short write
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
