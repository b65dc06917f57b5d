/*
 * Linked into build/ember-test only, never into build/ember: a port through which the
 * guest makes ember call a syscall its thread's seccomp filter forbids, so that the
 * tests can watch the filter, the SIGSYS handler and status 148 at work in a real run.
 *
 * `outb 0x5ec N` from the guest (guest-min: `outb 1516 N`):
 *   N = 1, 2, 3     the vCPU thread that handles the write makes forbidden call N;
 *   N = 17, 18, 19  the event thread makes call N - 16 (through an eventfd).
 * Calls: 1 socket(AF_INET) (no socket at all), 2 mmap(PROT_EXEC) (argument filter),
 * 3 ioctl(vm fd, KVM_CREATE_VCPU) (request filter). Should a call get through, the VM
 * stops with status 99, which the tests tell apart from 148.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../vcpu/vm.h"

#define TRIGGER_PORT 0x5ec
#define TRIGGER_ESCAPED 99

static struct {
	struct vm *vm;
	int fd; /* eventfd: the event thread's call number */
	struct event_handler handler;
} trigger = { .fd = -1 };

static void trigger_call(struct vm *vm, unsigned n)
{
	long r = -1;
	if (n == 1)
		r = socket(AF_INET, SOCK_STREAM, 0);
	else if (n == 2)
		r = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
			    MAP_FAILED ? -1 : 0;
	else if (n == 3)
		r = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 99UL);
	else
		return;
	log_error("seccomp-trigger: forbidden call %u returned %ld (%s): not filtered", n, r,
		  r < 0 ? strerror(errno) : "ok");
	vm_request_stop(vm, TRIGGER_ESCAPED);
}

static void trigger_on_event(void *opaque, uint32_t events)
{
	uint64_t n;
	(void)opaque, (void)events;
	if (read(trigger.fd, &n, sizeof(n)) == sizeof(n))
		trigger_call(trigger.vm, (unsigned)n);
}

static void trigger_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			bool is_write)
{
	struct vm *vm = opaque;
	(void)offset, (void)size;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	if (data[0] > 16) {
		uint64_t n = data[0] - 16u;
		(void)!write(trigger.fd, &n, sizeof(n));
	} else {
		trigger_call(vm, data[0]);
	}
}

/* vmm.c calls it when it is linked in (a weak reference there). */
int test_hooks_create(struct vm *vm, struct errbuf *e);
int test_hooks_create(struct vm *vm, struct errbuf *e)
{
	trigger.vm = vm;
	trigger.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (trigger.fd < 0)
		return errf(e, "seccomp-trigger: eventfd: %s", strerror(errno));
	trigger.handler = (struct event_handler){ trigger_on_event, NULL };
	if (event_loop_add(vm->host.loop, trigger.fd, EPOLLIN, &trigger.handler) < 0)
		return errf(e, "seccomp-trigger: epoll: %s", strerror(errno));
	return bus_register(&vm->pio, TRIGGER_PORT, 1, trigger_pio, vm, "seccomp-trigger", e);
}
