/*
 * The virtio-mmio transport (virtio 1.2, 4.2.2, version 2) driven the way a guest does:
 * 4-byte register accesses through the bus handler virtio_mmio_access, on a hand-built
 * struct virtio_mmio (virtio_mmio_create needs KVM) with a fake device, a real
 * guest_mem, the user-space IOAPIC for interrupts (no irqfd), and notify eventfds that
 * show the QueueNotify fallback. Log lines go to a memfd so the one line a ring error
 * earns can be read back.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../vcpu/vm.h"
#include "../../virtio/mmio.h"
#include "../../virtio/virtio_spec.h"
#include "helpers.h"

#define RAM (16 * MIB)
#define PIN 5
#define VECTOR 0x35
#define QMAX 16
#define QSZ 8

/* Queue n's rings. */
#define DESC(n) (0x10000ULL + (n) * 0x100000ULL)
#define AVAIL(n) (0x20000ULL + (n) * 0x100000ULL)
#define USED(n) (0x30000ULL + (n) * 0x100000ULL)
#define BUF 0x800000ULL

/* Device-specific feature bits the fake device offers. */
#define DEV_F_A 1
#define DEV_F_B 5

#define F(bit) (1ULL << (bit))

static struct fake {
	bool activate_ok;
	unsigned activates, resets, notifies[VIRTIO_MAX_QUEUES];
	char order[32]; /* 'A' activate, 'R' reset, '0'/'1' queue_notify */
	unsigned norder;
	bool queue_enabled_at_reset;
	uint8_t config[10];
} fake;

static struct vm vm;
static struct virtio_mmio t;
static int log_fd;
static unsigned nmsi;
static uint32_t last_msi_data;

static void order(char c)
{
	if (fake.norder < sizeof(fake.order) - 1)
		fake.order[fake.norder++] = c;
}

static const void *fake_config(void *dev, size_t *len)
{
	cr_assert_eq(dev, &fake);
	*len = sizeof(fake.config);
	return fake.config;
}

static bool fake_activate(void *dev, struct virtio_mmio *tt)
{
	cr_assert_eq(dev, &fake);
	cr_assert_eq(tt, &t);
	fake.activates++;
	order('A');
	return fake.activate_ok;
}

static void fake_queue_notify(void *dev, struct virtio_mmio *tt, unsigned index, struct virtq *q)
{
	cr_assert_eq(dev, &fake);
	cr_assert_eq(tt, &t);
	cr_assert_lt(index, VIRTIO_MAX_QUEUES);
	cr_assert_eq(q, &t.queues[index], "queue_notify hands the device the queue kicked");
	fake.notifies[index]++;
	order((char)('0' + index));
}

static void fake_reset(void *dev, struct virtio_mmio *tt)
{
	cr_assert_eq(dev, &fake);
	cr_assert_eq(tt, &t);
	fake.resets++;
	fake.queue_enabled_at_reset = tt->queues[0].enabled;
	order('R');
}

static struct virtio_device_ops ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 2,
	.queue_max = QMAX,
	.features = F(DEV_F_A) | F(DEV_F_B),
	.config = fake_config,
	.activate = fake_activate,
	.queue_notify = fake_queue_notify,
	.reset = fake_reset,
};

static void fake_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)addr;
	nmsi++;
	last_msi_data = data;
}

static const struct ioapic_ops io_ops = { .send_msi = fake_send_msi };

static void ioapic_reg_write(uint32_t reg, uint32_t v)
{
	uint8_t d[4];
	memcpy(d, &reg, 4);
	ioapic_mmio(&vm.ioapic, 0x00, d, 4, true);
	memcpy(d, &v, 4);
	ioapic_mmio(&vm.ioapic, 0x10, d, 4, true);
}

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.activate_ok = true;
	for (unsigned i = 0; i < sizeof(fake.config); i++)
		fake.config[i] = (uint8_t)(0x10 + i);
	nmsi = 0;
	last_msi_data = 0;

	memset(&vm, 0, sizeof(vm));
	gm_setup(&vm.mem, RAM);
	ioapic_init(&vm.ioapic, 0, &io_ops, NULL);
	/* The pin the way Linux programs it: edge, fixed, unmasked, destination 0. */
	ioapic_reg_write(0x10 + 2 * PIN + 1, 0);
	ioapic_reg_write(0x10 + 2 * PIN, VECTOR);

	log_fd = memfd_create("ember-log", 0);
	cr_assert_geq(log_fd, 0);
	log_init(log_fd, LOG_WARN, "test");

	/* What virtio_mmio_create sets before anything else can run. */
	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.lock, NULL);
	vm.host = (struct vm_host){ .mem = &vm.mem, .ioapic = &vm.ioapic, .vm_fd = -1 };
	t.host = &vm.host;
	snprintf(t.name, sizeof(t.name), "virtio-test");
	t.base = 0xC0001000ULL;
	t.pin = PIN;
	t.ops = &ops;
	t.dev = &fake;
	t.irq_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		t.notify[q].t = &t;
		t.notify[q].q = q;
		t.notify[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		cr_assert_geq(t.notify[q].fd, 0);
	}
}

static void teardown(void)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		close(t.notify[q].fd);
	pthread_mutex_destroy(&t.lock);
	close(log_fd);
	log_init(2, LOG_WARN, NULL);
	guest_mem_destroy(&vm.mem);
}

/* ------------------------------------------------------------------ guest's view */

static void wr_sized(uint64_t off, uint64_t v, uint32_t size)
{
	uint8_t d[8];
	memcpy(d, &v, sizeof(d));
	virtio_mmio_access(&t, off, d, size, true);
}

static uint64_t rd_sized(uint64_t off, uint32_t size)
{
	uint8_t d[8];
	memset(d, 0xcd, sizeof(d));
	virtio_mmio_access(&t, off, d, size, false);
	uint64_t v = 0;
	memcpy(&v, d, size);
	for (unsigned i = size; i < sizeof(d); i++)
		cr_assert_eq(d[i], 0xcd, "a %u-byte read wrote byte %u", size, i);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	wr_sized(off, v, 4);
}

static uint32_t rd(uint64_t off)
{
	return (uint32_t)rd_sized(off, 4);
}

static uint32_t status(void)
{
	return rd(VIRTIO_MMIO_STATUS);
}

/* 3.1.1 steps 1-5: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. Returns Status. */
static uint32_t negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	/* Tests look at what the device saw after this reset. */
	fake.resets = 0;
	fake.norder = 0;
	memset(fake.order, 0, sizeof(fake.order));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return status();
}

#define STATUS_FEATURES_OK \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)
#define STATUS_LIVE (STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)
#define GOOD_FEATURES (F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) | F(DEV_F_B))

static void queue_regs(unsigned q, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, size);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
}

static void queue_setup(unsigned q, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	queue_regs(q, size, desc, avail, used);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void good_queue(unsigned q)
{
	queue_setup(q, QSZ, DESC(q), AVAIL(q), USED(q));
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0, "queue %u: %s", q,
		     t.queues[q].error ? t.queues[q].error : "");
}

static void driver_ok(void)
{
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
}

/* Everything the log holds. */
static const char *log_text(void)
{
	static char buf[8192];
	ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);
	cr_assert_geq(n, 0);
	buf[n] = 0;
	return buf;
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The eventfd's count, 0 if never signalled (reading resets it). */
static uint64_t eventfd_take(int fd)
{
	uint64_t v = 0;
	ssize_t n = read(fd, &v, sizeof(v));
	if (n < 0) {
		cr_assert_eq(errno, EAGAIN);
		return 0;
	}
	cr_assert_eq(n, 8);
	return v;
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------ identity */

Test(virtio_mmio, identity_registers)
{
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "\"virt\"");
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2, "modern virtio-mmio");
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), 2, "block device");
	cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), 0x52424d45, "\"EMBR\"");
	cr_assert_eq(status(), 0, "a new device starts reset");
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
}

Test(virtio_mmio, read_only_registers_ignore_writes)
{
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(VIRTIO_MMIO_VERSION, 1);
	wr(VIRTIO_MMIO_DEVICE_ID, 9);
	wr(VIRTIO_MMIO_DEVICE_FEATURES, 0xffffffff);
	wr(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	wr(VIRTIO_MMIO_CONFIG_GENERATION, 7);
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
		     F(DEV_F_A) | F(DEV_F_B) | F(VIRTIO_RING_F_INDIRECT_DESC) |
			     F(VIRTIO_RING_F_EVENT_IDX));
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
}

/* ------------------------------------------------------------------ features */

Test(virtio_mmio, device_features_by_selector)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
		     F(DEV_F_A) | F(DEV_F_B) | F(VIRTIO_RING_F_INDIRECT_DESC) |
			     F(VIRTIO_RING_F_EVENT_IDX));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1, "VERSION_1 is bit 32");
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, features_ok_refused_without_version_1)
{
	uint32_t s = negotiate(F(DEV_F_B) | F(VIRTIO_RING_F_EVENT_IDX));
	cr_assert_eq(s & VIRTIO_STATUS_FEATURES_OK, 0, "a legacy driver was accepted");
	cr_assert_eq(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

Test(virtio_mmio, features_ok_refused_with_bits_not_offered)
{
	uint64_t extra[] = { F(2), F(DEV_F_A) | F(0), F(33), F(63), F(VIRTIO_F_VERSION_1 + 2) };
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		uint32_t s = negotiate(F(VIRTIO_F_VERSION_1) | extra[i]);
		cr_assert_eq(s & VIRTIO_STATUS_FEATURES_OK, 0, "bits 0x%llx were accepted",
			     (unsigned long long)extra[i]);
	}
}

Test(virtio_mmio, features_ok_accepted)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	cr_assert(virtio_mmio_has_feature(&t, VIRTIO_F_VERSION_1));
	cr_assert(virtio_mmio_has_feature(&t, VIRTIO_RING_F_EVENT_IDX));
	cr_assert(virtio_mmio_has_feature(&t, DEV_F_B));
	cr_assert_not(virtio_mmio_has_feature(&t, DEV_F_A));
	cr_assert_not(virtio_mmio_has_feature(&t, VIRTIO_RING_F_INDIRECT_DESC));
	cr_assert_not(virtio_mmio_has_feature(&t, 64));
	cr_assert_not(virtio_mmio_has_feature(&t, 1000));
	/* Everything offered at once is fine too. */
	cr_assert_eq(negotiate(F(VIRTIO_F_VERSION_1) | F(DEV_F_A) | F(DEV_F_B) |
			       F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC)),
		     STATUS_FEATURES_OK);
}

Test(virtio_mmio, features_fixed_after_features_ok)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	cr_assert(virtio_mmio_has_feature(&t, VIRTIO_F_VERSION_1));
	cr_assert_not(virtio_mmio_has_feature(&t, DEV_F_A), "features changed after FEATURES_OK");
}

Test(virtio_mmio, driver_features_selector_beyond_1_ignored)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	wr(VIRTIO_MMIO_STATUS, STATUS_FEATURES_OK);
	cr_assert_eq(status(), STATUS_FEATURES_OK, "selector 2 leaked into the features");
	cr_assert_eq(t.driver_features, F(VIRTIO_F_VERSION_1));
}

Test(virtio_mmio, refused_features_can_be_renegotiated)
{
	cr_assert_eq(negotiate(F(2) | F(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* Without a reset: the driver writes acceptable features and tries again. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(VIRTIO_MMIO_STATUS, STATUS_FEATURES_OK);
	cr_assert_eq(status(), STATUS_FEATURES_OK);
}

/* ------------------------------------------------------------------ status */

Test(virtio_mmio, driver_ok_without_features_ok_refused)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(status() & VIRTIO_STATUS_DRIVER_OK, 0);
	cr_assert_eq(fake.activates, 0, "activated without negotiated features");
}

Test(virtio_mmio, driver_ok_with_refused_features_refused)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* A legacy driver sets FEATURES_OK and DRIVER_OK in one write. */
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
	cr_assert_eq(status() & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK), 0);
	cr_assert_eq(fake.activates, 0);
}

Test(virtio_mmio, driver_cannot_set_needs_reset)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(status(), VIRTIO_STATUS_ACKNOWLEDGE);
}

Test(virtio_mmio, driver_ok_activates_then_notifies_each_ready_queue)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	good_queue(1);
	cr_assert_eq(fake.activates, 0, "activated before DRIVER_OK");
	driver_ok();
	cr_assert_eq(status(), STATUS_LIVE);
	/* The vCPU thread activates; the event thread makes the first look (notify eventfd). */
	cr_assert_str_eq(fake.order, "A");
	cr_assert_eq(eventfd_take(t.notify[0].fd), 1);
	cr_assert_eq(eventfd_take(t.notify[1].fd), 1);
	cr_assert(virtio_mmio_queue_live(&t, &t.queues[0]));
	cr_assert(virtio_mmio_queue_live(&t, &t.queues[1]));
	/* Writing the same status again does not activate twice. */
	driver_ok();
	cr_assert_eq(fake.activates, 1);
}

Test(virtio_mmio, driver_ok_skips_queues_not_ready)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(1);
	driver_ok();
	cr_assert_str_eq(fake.order, "A");
	cr_assert_eq(eventfd_take(t.notify[0].fd), 0);
	cr_assert_eq(eventfd_take(t.notify[1].fd), 1);
	cr_assert_not(virtio_mmio_queue_live(&t, &t.queues[0]));
}

Test(virtio_mmio, activate_failure_needs_reset)
{
	fake.activate_ok = false;
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	driver_ok();
	cr_assert_eq(fake.activates, 1);
	cr_assert_str_eq(fake.order, "A", "a queue was notified on a device that did not start");
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_not(virtio_mmio_queue_live(&t, &t.queues[0]));
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(nmsi, 1);
	cr_assert_not_null(strstr(log_text(), "virtio-test: backend could not start; device needs "
					      "reset"),
			   "%s", log_text());
}

/* ------------------------------------------------------------------ queues */

Test(virtio_mmio, queue_num_max_and_selector)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	/* 4.2.2: a queue that does not exist has QueueNumMax 0. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

Test(virtio_mmio, queue_setup_good)
{
	cr_assert_eq(negotiate(GOOD_FEATURES | F(VIRTIO_RING_F_INDIRECT_DESC)), STATUS_FEATURES_OK);
	good_queue(0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	const struct virtq *q = &t.queues[0];
	cr_assert(q->enabled);
	cr_assert_eq(q->size, QSZ);
	cr_assert_eq((void *)q->desc, guest_mem_at(&vm.mem, DESC(0), 16 * QSZ));
	cr_assert_eq((void *)q->avail, guest_mem_at(&vm.mem, AVAIL(0), 6 + 2 * QSZ));
	cr_assert_eq((void *)q->used, guest_mem_at(&vm.mem, USED(0), 6 + 8 * QSZ));
	cr_assert(q->event_idx, "EVENT_IDX negotiated but not given to the queue");
	cr_assert(q->indirect, "INDIRECT_DESC negotiated but not given to the queue");
	cr_assert_not(t.queues[1].enabled);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_without_negotiated_ring_features)
{
	cr_assert_eq(negotiate(F(VIRTIO_F_VERSION_1)), STATUS_FEATURES_OK);
	good_queue(1);
	cr_assert(t.queues[1].enabled);
	cr_assert_not(t.queues[1].event_idx);
	cr_assert_not(t.queues[1].indirect);
}

Test(virtio_mmio, queue_addresses_take_both_halves)
{
	/* A guest with RAM above 4 GiB, rings up there. */
	guest_mem_destroy(&vm.mem);
	gm_setup(&vm.mem, GUEST_MEM_GAP_START + 16 * MIB);
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	uint64_t hi = GUEST_MEM_HIGH_START;
	queue_setup(0, QSZ, hi + 0x1000, hi + 0x2002, hi + 0x3004);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0, "%s", t.queues[0].error);
	cr_assert_eq(t.queues[0].desc_gpa, hi + 0x1000);
	cr_assert_eq(t.queues[0].avail_gpa, hi + 0x2002);
	cr_assert_eq(t.queues[0].used_gpa, hi + 0x3004);
	cr_assert_eq((void *)t.queues[0].desc, guest_mem_at(&vm.mem, hi + 0x1000, 16));
	/* Low half written after the high half, and the other way round: same result. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x6000);
	cr_assert_eq(t.queues[1].desc_gpa, hi + 0x6000);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	cr_assert_eq(t.queues[1].desc_gpa, 0x6000);
}

/* A refused ring: NEEDS_RESET, a config interrupt and one log line naming the problem. */
static void assert_ring_refused(unsigned q, const char *reason)
{
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET, "bad ring accepted for queue %u", q);
	cr_assert_not(t.queues[q].enabled);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(nmsi, 1, "%u interrupts for one ring error", nmsi);
	cr_assert_eq(last_msi_data & 0xff, VECTOR);
	char want[160];
	snprintf(want, sizeof(want), "virtio-test: queue %u: %s; device needs reset", q, reason);
	const char *log = log_text();
	cr_assert_eq(count_of(log, want), 1, "log lacks \"%s\" once:\n%s", want, log);
	cr_assert_eq(count_of(log, "\n"), 1, "more than one log line:\n%s", log);
}

#define OUTSIDE "ring address outside guest RAM or misaligned"
#define BAD_SIZE "queue size is not a power of two within the maximum"

Test(virtio_mmio, queue_size_not_a_power_of_two)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(0, 12, DESC(0), AVAIL(0), USED(0));
	assert_ring_refused(0, BAD_SIZE);
}

Test(virtio_mmio, queue_size_zero)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(1, 0, DESC(1), AVAIL(1), USED(1));
	assert_ring_refused(1, BAD_SIZE);
}

Test(virtio_mmio, queue_size_above_queue_num_max)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(0, 2 * QMAX, DESC(0), AVAIL(0), USED(0));
	assert_ring_refused(0, BAD_SIZE);
}

Test(virtio_mmio, queue_size_wider_than_16_bits)
{
	/* 0x10008 must not become 8. */
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(0, 0x10008, DESC(0), AVAIL(0), USED(0));
	assert_ring_refused(0, BAD_SIZE);
}

Test(virtio_mmio, queue_desc_outside_ram)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(0, QSZ, DESC(0) | (1ULL << 32), AVAIL(0), USED(0));
	assert_ring_refused(0, OUTSIDE);
}

Test(virtio_mmio, queue_avail_misaligned)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(1, QSZ, DESC(1), AVAIL(1) + 1, USED(1));
	assert_ring_refused(1, OUTSIDE);
}

Test(virtio_mmio, queue_used_straddles_the_end_of_ram)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(0, QSZ, DESC(0), AVAIL(0), RAM - 64);
	assert_ring_refused(0, OUTSIDE);
}

Test(virtio_mmio, ready_on_a_missing_queue_is_ignored)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSZ);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(status(), STATUS_FEATURES_OK);
	cr_assert_not(t.queues[0].enabled);
	cr_assert_not(t.queues[1].enabled);
}

Test(virtio_mmio, queue_registers_ignored_while_ready)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	struct virtq before = t.queues[0];
	queue_regs(0, 4, 0x90000, 0x91000, 0x92000);
	cr_assert_eq(t.queues[0].size, QSZ, "QueueNum changed a ready queue");
	cr_assert_eq(t.queues[0].desc_gpa, DESC(0));
	cr_assert_eq(t.queues[0].avail_gpa, AVAIL(0));
	cr_assert_eq(t.queues[0].used_gpa, USED(0));
	cr_assert_eq(memcmp(&before, &t.queues[0], sizeof(before)), 0);
	/* Once the driver takes it down, the registers are writable again. */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_not(t.queues[0].enabled);
	queue_regs(0, 4, 0x90000, 0x91000, 0x92000);
	cr_assert_eq(t.queues[0].size, 4);
	cr_assert_eq(t.queues[0].desc_gpa, 0x90000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert(t.queues[0].enabled);
	cr_assert_eq((void *)t.queues[0].desc, guest_mem_at(&vm.mem, 0x90000, 64));
}

Test(virtio_mmio, ready_twice_keeps_the_queue_position)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	struct virtq_desc *d = gm_ptr(&vm.mem, DESC(0), 16);
	*d = (struct virtq_desc){ .addr = BUF, .len = 8 };
	struct virtq_avail *a = gm_ptr(&vm.mem, AVAIL(0), 6 + 2 * QSZ);
	a->ring[0] = 0;
	a->idx = 1;
	static struct virtq_chain c;
	cr_assert_eq(virtq_pop_chain(&t.queues[0], &c), 1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(t.queues[0].last_avail, 1, "a second QueueReady=1 rewound the queue");
	cr_assert_eq(virtq_pop_chain(&t.queues[0], &c), 0);
}

/* ------------------------------------------------------------------ reset */

Test(virtio_mmio, reset_clears_everything_and_tells_the_device)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	good_queue(1);
	driver_ok();
	virtq_push_used(&t.queues[0], 0, 0);
	virtio_mmio_notify_used(&t, &t.queues[0]);
	cr_assert_neq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);

	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(fake.resets, 1);
	cr_assert(fake.queue_enabled_at_reset, "the device must see its queues while it drains");
	cr_assert_eq(status(), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(t.driver_features, 0);
	cr_assert_eq(t.queue_sel, 0);
	cr_assert_eq(t.device_features_sel, 0);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0, "queue %u still ready", q);
		cr_assert_not(t.queues[q].enabled);
		cr_assert_eq(t.queues[q].size, 0);
		cr_assert_eq(t.queues[q].desc_gpa, 0);
		cr_assert_eq(t.queues[q].avail_gpa, 0);
		cr_assert_eq(t.queues[q].used_gpa, 0);
		cr_assert_eq(t.queues[q].last_avail, 0);
		cr_assert_eq(t.queues[q].used_idx, 0);
		cr_assert_not(virtio_mmio_queue_live(&t, &t.queues[q]));
	}
	/* Features are gone: FEATURES_OK alone (no VERSION_1) is refused now. */
	wr(VIRTIO_MMIO_STATUS, STATUS_FEATURES_OK);
	cr_assert_eq(status() & VIRTIO_STATUS_FEATURES_OK, 0);
	/* And the device comes up again. */
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	driver_ok();
	cr_assert_eq(fake.activates, 2);
}

Test(virtio_mmio, reset_clears_needs_reset)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	queue_setup(0, 3, DESC(0), AVAIL(0), USED(0));
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(status(), 0);
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	driver_ok();
	cr_assert(virtio_mmio_queue_live(&t, &t.queues[0]));
}

Test(virtio_mmio, reset_of_a_new_device)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(status(), 0);
	cr_assert_eq(fake.resets, 1);
}

/* ------------------------------------------------------------------ interrupts */

Test(virtio_mmio, used_buffer_interrupt_and_ack)
{
	cr_assert_eq(negotiate(F(VIRTIO_F_VERSION_1)), STATUS_FEATURES_OK);
	good_queue(0);
	driver_ok();
	virtq_push_used(&t.queues[0], 3, 10);
	virtio_mmio_notify_used(&t, &t.queues[0]);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(nmsi, 1, "no MSI through the IOAPIC pin");
	cr_assert_eq(last_msi_data & 0xff, VECTOR);
	/* Acking the other bit leaves this one. */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* A second completion is a second edge. */
	virtq_push_used(&t.queues[0], 4, 10);
	virtio_mmio_notify_used(&t, &t.queues[0]);
	cr_assert_eq(nmsi, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}

Test(virtio_mmio, no_interrupt_when_the_driver_suppresses_it)
{
	cr_assert_eq(negotiate(F(VIRTIO_F_VERSION_1)), STATUS_FEATURES_OK);
	good_queue(0);
	driver_ok();
	struct virtq_avail *a = gm_ptr(&vm.mem, AVAIL(0), 4);
	a->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push_used(&t.queues[0], 0, 0);
	virtio_mmio_notify_used(&t, &t.queues[0]);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(nmsi, 0);
}

Test(virtio_mmio, config_change_interrupt_and_generation)
{
	virtio_mmio_config_changed(&t);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	cr_assert_eq(nmsi, 0, "config interrupt before DRIVER_OK");
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	driver_ok();
	virtio_mmio_config_changed(&t);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(nmsi, 1);
}

/* ------------------------------------------------------------------ config space */

Test(virtio_mmio, config_reads_of_each_width)
{
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 0, 1), 0x10);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 3, 1), 0x13);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 2, 2), 0x1312);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 4, 4), 0x17161514);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 0, 8), 0x1716151413121110ULL);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 9, 1), 0x19, "last byte");
}

Test(virtio_mmio, config_reads_past_the_end_are_zero)
{
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 8, 4), 0x1918, "partly inside");
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 10, 1), 0);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 10, 4), 0);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 0x40, 4), 0);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_SLOT_SIZE - 4, 4), 0);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_SLOT_SIZE - 1, 1), 0);
}

Test(virtio_mmio, config_writes_ignored)
{
	uint8_t before[sizeof(fake.config)];
	memcpy(before, fake.config, sizeof(before));
	wr_sized(VIRTIO_MMIO_CONFIG + 0, 0xffffffff, 4);
	wr_sized(VIRTIO_MMIO_CONFIG + 4, 0xaa, 1);
	wr_sized(VIRTIO_MMIO_CONFIG + 8, 0xbbbb, 2);
	wr_sized(VIRTIO_MMIO_CONFIG + 0x100, 0xcc, 1);
	cr_assert_arr_eq(fake.config, before, sizeof(before));
	cr_assert_eq(rd_sized(VIRTIO_MMIO_CONFIG + 0, 4), 0x13121110);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	cr_assert_not_null(strstr(log_text(), "write to read-only config space"), "%s",
			   log_text());
}

Test(virtio_mmio, device_without_config_space_reads_zero)
{
	ops.config = NULL;
	uint64_t v = rd_sized(VIRTIO_MMIO_CONFIG, 4);
	ops.config = fake_config;
	cr_assert_eq(v, 0);
}

/* ------------------------------------------------------------------ notify, odd accesses */

Test(virtio_mmio, queue_notify_signals_the_queue_eventfd)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(eventfd_take(t.notify[1].fd), 1);
	cr_assert_eq(eventfd_take(t.notify[0].fd), 0, "the other queue was kicked");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(eventfd_take(t.notify[0].fd), 2);
	cr_assert_eq(eventfd_take(t.notify[1].fd), 0);
	/* Only the event thread calls the device: no direct call from the vCPU. */
	cr_assert_eq(fake.notifies[0] + fake.notifies[1], 0);
}

static struct virtq *run_got;

static void run_fn(void *ctx, struct virtq *q)
{
	cr_assert_eq(ctx, &fake);
	cr_assert_eq(pthread_mutex_trylock(&t.lock), EBUSY, "fn ran without the transport's lock");
	run_got = q;
}

/* A device's own handlers reach their queue only through virtio_mmio_run, under the lock. */
Test(virtio_mmio, run_hands_the_queue_under_the_lock)
{
	virtio_mmio_run(&t, 1, run_fn, &fake);
	cr_assert_eq(run_got, &t.queues[1]);
	virtio_mmio_run(&t, VIRTIO_MMIO_NO_QUEUE, run_fn, &fake);
	cr_assert_null(run_got);
	cr_assert_eq(pthread_mutex_trylock(&t.lock), 0, "the lock was not given back");
	pthread_mutex_unlock(&t.lock);
}

Test(virtio_mmio, queue_notify_for_a_missing_queue_ignored)
{
	uint32_t bad[] = { 2, 3, 0x10000, 0x80000000u, 0xffffffffu };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
	cr_assert_eq(eventfd_take(t.notify[0].fd), 0);
	cr_assert_eq(eventfd_take(t.notify[1].fd), 0);
	cr_assert_eq(count_of(log_text(), "does not exist; ignored"), 1, "one line, not five:\n%s",
		     log_text());
}

Test(virtio_mmio, odd_sized_register_accesses_ignored)
{
	/* Writes: nothing changes. */
	wr_sized(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 2);
	wr_sized(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	wr_sized(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 8);
	cr_assert_eq(status(), 0);
	wr_sized(VIRTIO_MMIO_QUEUE_NOTIFY, 0, 2);
	wr_sized(VIRTIO_MMIO_QUEUE_NOTIFY, 0, 8);
	cr_assert_eq(eventfd_take(t.notify[0].fd), 0);
	wr_sized(VIRTIO_MMIO_QUEUE_SEL + 1, 0x01, 4); /* misaligned */
	wr(VIRTIO_MMIO_QUEUE_SEL + 2, 1);
	cr_assert_eq(t.queue_sel, 0);
	/* Reads: all ones, not the register. */
	cr_assert_eq(rd_sized(VIRTIO_MMIO_MAGIC_VALUE, 2), 0xffff);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_MAGIC_VALUE, 1), 0xff);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0xffffffff);
	cr_assert_eq(rd_sized(VIRTIO_MMIO_VERSION, 8), 0xffffffffffffffffULL);
}

Test(virtio_mmio, unknown_registers_read_zero)
{
	cr_assert_eq(rd(0x0a8), 0);
	cr_assert_eq(rd(0x0f8), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 0, "QueueNum is write-only");
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	wr(0x0a8, 5);
	cr_assert_eq(status(), 0);
}

/* ------------------------------------------------------------------ ring errors */

Test(virtio_mmio, ring_error_sets_needs_reset_once)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	good_queue(1);
	driver_ok();
	virtq_break(&t.queues[1], "descriptor index beyond the table");
	virtio_mmio_ring_error(&t, &t.queues[1]);
	cr_assert_eq(status(), STATUS_LIVE | VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(nmsi, 1);
	cr_assert_not(virtio_mmio_queue_live(&t, &t.queues[1]));
	cr_assert_not(virtio_mmio_queue_live(&t, &t.queues[0]),
		      "a device that needs reset has no live queue");
	/* Again, and from the other queue: nothing more. */
	virtio_mmio_ring_error(&t, &t.queues[1]);
	virtio_mmio_ring_error(&t, &t.queues[0]);
	cr_assert_eq(nmsi, 1, "a second interrupt for the same NEEDS_RESET");
	const char *log = log_text();
	cr_assert_eq(count_of(log, "\n"), 1, "%s", log);
	cr_assert_eq(count_of(log, "virtio-test: queue 1: descriptor index beyond the table; "
				   "device needs reset\n"),
		     1, "%s", log);
	/* The driver cannot clear it by rewriting Status. */
	wr(VIRTIO_MMIO_STATUS, STATUS_LIVE);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(status(), 0);
}

Test(virtio_mmio, ring_error_without_a_reason)
{
	virtio_mmio_ring_error(&t, &t.queues[1]);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_not_null(strstr(log_text(), "virtio-test: queue 1: bad queue setup; device needs "
					      "reset"),
			   "%s", log_text());
}

Test(virtio_mmio, ring_errors_logged_at_most_8_times)
{
	for (unsigned i = 0; i < 12; i++) {
		wr(VIRTIO_MMIO_STATUS, 0);
		cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
		queue_setup(0, 5, DESC(0), AVAIL(0), USED(0));
		cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET, "round %u", i);
	}
	cr_assert_eq(nmsi, 12, "every error still interrupts");
	const char *log = log_text();
	cr_assert_eq(count_of(log, "device needs reset"), 8, "%s", log);
	cr_assert_eq(count_of(log, "further ring errors of this device are not logged"), 1, "%s",
		     log);
}

Test(virtio_mmio, broken_queue_is_not_notified_on_driver_ok)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	queue_setup(1, 7, DESC(1), AVAIL(1), USED(1));
	driver_ok();
	/* The device needs a reset: DRIVER_OK is recorded but nothing starts. */
	cr_assert_eq(fake.activates, 0);
	cr_assert_str_eq(fake.order, "");
}

/* 2.1.1: the driver MUST NOT clear a status bit; only a reset (Status=0) starts over. */
Test(virtio_mmio, clearing_status_bits_does_not_reopen_negotiation)
{
	cr_assert_eq(negotiate(GOOD_FEATURES), STATUS_FEATURES_OK);
	good_queue(0);
	driver_ok();
	cr_assert_eq(fake.activates, 1);
	/* A hostile driver drops FEATURES_OK and DRIVER_OK without a reset ... */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* ... changes the features under the running queue ... */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(F(VIRTIO_RING_F_INDIRECT_DESC) | F(DEV_F_A)));
	/* ... and goes live again. */
	wr(VIRTIO_MMIO_STATUS, STATUS_FEATURES_OK);
	driver_ok();
	cr_assert_eq(t.driver_features, GOOD_FEATURES,
		     "features renegotiated without a reset: 0x%llx (queue 0 still has "
		     "indirect=%d)",
		     (unsigned long long)t.driver_features, t.queues[0].indirect);
	cr_assert_eq(fake.activates, 1, "activated %u times without a reset", fake.activates);
}
