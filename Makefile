# ember: one static musl binary (build/ember), its test guest (build/guest-min),
# and the tests. `make` builds, `make run` boots guest-min, `make test` runs it all.

BUILD := build
# `make V=1` shows the full commands.
Q := $(if $(V),,@)
DEPS  := $(BUILD)/deps

EMBER_SRCS := vmm.c \
	api/http.c api/router.c api/server.c \
	config/config.c config/config_json.c config/flags.c \
	arch/acpi.c arch/aml.c arch/cpu_state.c arch/cpu_tables.c arch/cpu_template.c arch/cpu_template_static.c arch/cpuid.c arch/mptable.c arch/regs.c \
	boot/bzimage.c boot/cmdline.c boot/elf.c boot/loader.c boot/pvh.c boot/zero_page.c \
	jail/cgroup.c jail/config.c jail/files.c jail/flags.c jail/jail.c jail/rlimit.c \
	jail/seccomp.c jail/seccomp_rules.c \
	lib/event_loop.c lib/guest_mem.c lib/log.c lib/metrics.c lib/rate_limiter.c \
	legacy/acpi_pm.c legacy/boot_timer.c legacy/debug_exit.c legacy/i8042.c legacy/serial.c \
	snapshot/format.c snapshot/snapshot.c \
	vcpu/bus.c vcpu/ioapic.c vcpu/pause.c vcpu/vcpu.c vcpu/vm.c vcpu/vm_snapshot.c \
	virtio/blk.c virtio/blk_engine.c virtio/blk_engine_sync.c virtio/blk_engine_uring.c virtio/iov.c \
	virtio/mmio.c virtio/net.c virtio/virtq.c
# Everything but main: what the unit tests link against.
EMBER_LIB_SRCS := $(filter-out vmm.c,$(EMBER_SRCS))

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wundef -Wvla -Wcast-qual -Wnull-dereference \
	-Wimplicit-fallthrough
COMMON_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -fno-common $(WARNINGS)

# The product: static, musl, optimised.
MUSL_CC     := musl-gcc
MUSL_CFLAGS := $(COMMON_CFLAGS) -O2 -isystem $(DEPS)/include
MUSL_LIBS   := -L$(DEPS)/lib -lseccomp -lcap-ng -ljansson -lhttp_parser -luring -lpthread
MUSL_OBJS   := $(EMBER_SRCS:%.c=$(BUILD)/musl/%.o) $(BUILD)/musl/jail/seccomp_bpf.o

# The checking build: glibc with AddressSanitizer and UBSan, same warnings.
ASAN_CC     := gcc
ASAN_CFLAGS := $(COMMON_CFLAGS) -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -isystem $(DEPS)/include
# liburing and http-parser are deps.sh's musl builds: they need only calloc/free and
# __assert_fail from a libc, so the same archives link with glibc (Debian ships no
# liburing.a). jansson uses stdio and locales, so the glibc build takes Debian's own.
ASAN_LIBS   := -L$(DEPS)/lib -luring -lhttp_parser -l:libjansson.so -l:libseccomp.so -l:libcap-ng.so \
	-lpthread
ASAN_OBJS   := $(EMBER_SRCS:%.c=$(BUILD)/asan/%.o) $(BUILD)/asan/jail/seccomp_bpf.o
ASAN_LIB_OBJS := $(EMBER_LIB_SRCS:%.c=$(BUILD)/asan/%.o) $(BUILD)/asan/jail/seccomp_bpf.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/asan/%.o)

.PHONY: all deps run test check unit bench fuzz guest-kernel guest-kernel-slob clean distclean host-deps
all: $(BUILD)/ember $(BUILD)/guest-min
	@size=$$(stat -c %s $(BUILD)/ember); \
	 echo "$(BUILD)/ember: $$size bytes ($$((size / 1024)) KiB), $$(file -b $(BUILD)/ember | cut -d, -f1-4)"

include guest-min/guest-min.mk

host-deps:
	@scripts/host-deps.sh

# The stamp is rewritten by deps.sh; a fresh checkout on a machine with the cache
# takes about a second here.
$(DEPS)/.stamp: scripts/deps.sh scripts/host-deps.sh
	@scripts/deps.sh $(DEPS)
	@touch $@
deps: $(DEPS)/.stamp

$(BUILD)/musl/%.o: %.c $(DEPS)/.stamp
	@mkdir -p $(@D)
	@$(if $(Q),echo '  CC      $<')
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/ember: $(MUSL_OBJS)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(MUSL_CC) -static -o $@ $(MUSL_OBJS) $(MUSL_LIBS)

# The seccomp filters are compiled to BPF at build time (jail/seccomp_gen.c), once per C
# library since the table has glibc-only rows: ember builds no filter when it starts.
SECCOMP_GEN_SRCS := jail/seccomp_gen.c jail/seccomp_rules.c
$(BUILD)/musl/seccomp-gen: $(SECCOMP_GEN_SRCS) jail/seccomp.h $(DEPS)/.stamp
	@mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -static -o $@ $(SECCOMP_GEN_SRCS) $(MUSL_LIBS)
$(BUILD)/asan/seccomp-gen: $(SECCOMP_GEN_SRCS) jail/seccomp.h $(DEPS)/.stamp
	@mkdir -p $(@D)
	$(Q)$(ASAN_CC) $(COMMON_CFLAGS) -isystem $(DEPS)/include -o $@ $(SECCOMP_GEN_SRCS) \
		-l:libseccomp.so
$(BUILD)/%/jail/seccomp_bpf.c: $(BUILD)/%/seccomp-gen
	@mkdir -p $(@D)
	@$(if $(Q),echo '  GEN     $@')
	$(Q)$< $@
$(BUILD)/musl/jail/seccomp_bpf.o: $(BUILD)/musl/jail/seccomp_bpf.c
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -I. -c -o $@ $<
$(BUILD)/asan/jail/seccomp_bpf.o: $(BUILD)/asan/jail/seccomp_bpf.c
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) -I. -c -o $@ $<

# ember with test-only hooks (tests/hooks/: a port that makes a thread break its
# seccomp filter); the tests use it, nobody ships it.
$(BUILD)/ember-test: $(MUSL_OBJS) $(BUILD)/musl/tests/hooks/seccomp_trigger.o
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(MUSL_CC) -static -o $@ $^ $(MUSL_LIBS)

$(BUILD)/asan/%.o: %.c $(DEPS)/.stamp
	@mkdir -p $(@D)
	@$(if $(Q),echo '  CC asan $<')
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/ember-asan: $(ASAN_OBJS)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) -o $@ $(ASAN_OBJS) $(ASAN_LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(ASAN_LIB_OBJS)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) -o $@ $(UNIT_OBJS) $(ASAN_LIB_OBJS) -lcriterion $(ASAN_LIBS)

-include $(MUSL_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(BUILD)/musl/tests/hooks/seccomp_trigger.d

# Without a usable /dev/kvm, guest-min boots inside the KVM box (scripts/kvm-box.sh:
# nested KVM under QEMU TCG); build/ember itself never falls back to emulation.
run: all
	@if scripts/kvm-box.sh --host-kvm; then \
		$(BUILD)/ember --kernel $(GUEST_MIN) --cmdline hello; \
	else \
		echo "make run: this machine has no usable /dev/kvm: booting guest-min inside the KVM box (nested KVM under QEMU TCG, slower)"; \
		scripts/kvm-box.sh -- $(BUILD)/ember --kernel $(GUEST_MIN) --cmdline hello; \
	fi

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# Benchmarks report, they never fail a build (issue: perf/): the floor, cold start,
# creation rate and memory (startup_bench.sh), irqchip_cost, virtio_bench.sh (ember vs
# QEMU microvm), snapshot_bench.sh (restore, clones, create), nested Linux; into
# perf/RESULTS.md and perf/results.svg; see perf/README.md.
# floor and coldstart are static musl like ember, so process start costs them the same.
$(BUILD)/perf/irqchip_cost: perf/irqchip_cost.c
	@mkdir -p $(@D)
	$(Q)$(ASAN_CC) -std=gnu11 -O2 $(WARNINGS) -o $@ $<
$(BUILD)/perf/floor $(BUILD)/perf/coldstart: $(BUILD)/perf/%: perf/%.c $(DEPS)/.stamp
	@mkdir -p $(@D)
	@$(if $(Q),echo '  CC LD   $@')
	$(Q)$(MUSL_CC) -static $(MUSL_CFLAGS) -o $@ $<
# The nested Linux part boots $(BUILD)/guest-kernel: BENCH_SKIP=nested leaves out both.
bench: all $(BUILD)/perf/irqchip_cost $(BUILD)/perf/floor $(BUILD)/perf/coldstart \
	$(if $(filter nested,$(BENCH_SKIP)),,guest-kernel)
	@perf/bench.sh $(BUILD)

# libFuzzer over the API's request path (HTTP parser, router, JSON); `make fuzz` runs it
# (and fuzz_virtio, below) for FUZZ_SECONDS over tests/fuzz/corpus; `make test` runs both
# too (see tests/run.sh).
FUZZ_SECONDS ?= 60
FUZZ_SRCS := tests/fuzz/fuzz_api.c api/http.c api/router.c config/config_json.c config/config.c \
	arch/cpuid.c arch/cpu_template_static.c lib/log.c lib/metrics.c lib/rate_limiter.c
$(BUILD)/fuzz/fuzz_api: $(FUZZ_SRCS) $(wildcard api/*.h config/*.h arch/*.h lib/*.h) $(DEPS)/.stamp
	@mkdir -p $(@D)
	@$(if $(Q),echo '  FUZZ    $@')
	$(Q)clang $(COMMON_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -isystem $(DEPS)/include -o $@ $(FUZZ_SRCS) \
		-L$(DEPS)/lib -lhttp_parser -l:libjansson.so -lpthread

# libFuzzer over the guest boundary (tests/fuzz/fuzz_virtio.c): ring, descriptor and
# request bytes into the virtqueue walk, virtio-blk (sync engine, a memfd disk) and
# virtio-net (a socketpair as its TAP) on a vm without KVM, seeds in tests/fuzz/corpus_virtio.
# The --wrap'ed calls are where it checks what the devices touch (see the file's top).
FUZZ_VIRTIO_SRCS := tests/fuzz/fuzz_virtio.c virtio/blk.c virtio/blk_engine.c \
	virtio/blk_engine_sync.c virtio/blk_engine_uring.c virtio/iov.c virtio/mmio.c virtio/net.c \
	virtio/virtq.c \
	vcpu/bus.c vcpu/ioapic.c lib/event_loop.c lib/guest_mem.c lib/log.c lib/metrics.c \
	lib/rate_limiter.c
FUZZ_VIRTIO_WRAPS := -Wl,--wrap=guest_mem_at,--wrap=virtq_pop_chain,--wrap=virtq_unpop \
	-Wl,--wrap=virtq_fill_used,--wrap=virtq_push_used,--wrap=virtq_reset \
	-Wl,--wrap=preadv,--wrap=pwritev,--wrap=pread,--wrap=pwrite,--wrap=writev \
	-Wl,--wrap=open,--wrap=ioctl,--wrap=calloc,--wrap=free
$(BUILD)/fuzz/fuzz_virtio: $(FUZZ_VIRTIO_SRCS) tests/fake_vm.h config/config.h \
		$(wildcard virtio/*.h vcpu/*.h arch/*.h lib/*.h) $(DEPS)/.stamp
	@mkdir -p $(@D)
	@$(if $(Q),echo '  FUZZ    $@')
	$(Q)clang $(COMMON_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -isystem $(DEPS)/include -o $@ $(FUZZ_VIRTIO_SRCS) \
		$(FUZZ_VIRTIO_WRAPS) -L$(DEPS)/lib -luring -lpthread

# Both fuzzers, each for FUZZ_SECONDS; fails if either found something.
fuzz: $(BUILD)/fuzz/fuzz_api $(BUILD)/fuzz/fuzz_virtio
	@rc=0; \
	 tests/fuzz/run.sh $(BUILD)/fuzz/fuzz_api $(FUZZ_SECONDS) tests/fuzz/corpus || rc=1; \
	 tests/fuzz/run.sh $(BUILD)/fuzz/fuzz_virtio $(FUZZ_SECONDS) tests/fuzz/corpus_virtio || rc=1; \
	 exit $$rc

# The L2 kernel for Linux tests and for users: Debian's linux-source-6.1 with
# scripts/guest-kernel.config, cached outside the checkout.
guest-kernel:
	scripts/guest-kernel.sh $(BUILD)/guest-kernel
# The second L2 kernel (SLOB: 8-byte aligned indirect tables), for tests/nested/test-slob-blk.sh.
guest-kernel-slob:
	scripts/guest-kernel.sh $(BUILD)/guest-kernel-slob scripts/guest-kernel-slob.config

# Everything: unit tests (ASan/UBSan), integration tests against both the musl and
# the sanitizer build, and the nested-KVM Linux tests. Ends with "N passed, N failed, N skipped".
test: all $(BUILD)/ember-asan $(BUILD)/ember-test $(BUILD)/unit-tests $(BUILD)/fuzz/fuzz_api \
	$(BUILD)/fuzz/fuzz_virtio guest-kernel guest-kernel-slob
	@tests/run.sh

# The sanitizer half alone, quicker than `test`.
check: all $(BUILD)/ember-asan $(BUILD)/ember-test $(BUILD)/unit-tests $(BUILD)/fuzz/fuzz_api \
	$(BUILD)/fuzz/fuzz_virtio
	@TESTS_NO_NESTED=1 tests/run.sh

clean:
	rm -rf $(BUILD)/musl $(BUILD)/asan $(BUILD)/ember $(BUILD)/ember-asan \
		$(BUILD)/unit-tests $(BUILD)/guest-min $(BUILD)/guest-min.d
distclean:
	rm -rf $(BUILD)
