# guest-min: ember's freestanding test guest.  Included from the top-level
# Makefile, which defines BUILD.  Defines GUEST_MIN and the rule for it.
#
# Everything is prefixed GUEST_MIN_ so the monitor's CC / CFLAGS (musl,
# sanitizers, ...) never leak into the guest build, which is always the host
# gcc + ld with no libc.

# Rules below must not become the includer's default goal.
GUEST_MIN_SAVED_GOAL := $(.DEFAULT_GOAL)

GUEST_MIN        := $(BUILD)/guest-min
GUEST_MIN_SRCDIR := guest-min
GUEST_MIN_OBJDIR := $(BUILD)/guest-min.d

GUEST_MIN_CC     := gcc
GUEST_MIN_LD     := ld

GUEST_MIN_CSRCS  := boot.c main.c serial.c lib.c clock.c virtio.c virtio_blk.c \
	prog_blk.c prog_net.c prog_hostile.c prog_hostile_net.c prog_idle.c
GUEST_MIN_SSRCS  := entry.S
GUEST_MIN_COBJS  := $(GUEST_MIN_CSRCS:%.c=$(GUEST_MIN_OBJDIR)/%.o)
GUEST_MIN_SOBJS  := $(GUEST_MIN_SSRCS:%.S=$(GUEST_MIN_OBJDIR)/%.o)
GUEST_MIN_OBJS   := $(GUEST_MIN_SOBJS) $(GUEST_MIN_COBJS)
GUEST_MIN_LDS    := $(GUEST_MIN_SRCDIR)/guest-min.ld

# No interrupts, no faults (see guest-min/README.md): general registers only,
# no red zone, nothing that needs a runtime.  The loop-pattern switch keeps gcc
# from compiling lib.c's memset/memcpy loops into calls to themselves.
GUEST_MIN_CFLAGS := -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -fcf-protection=none \
	-O2 -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
GUEST_MIN_ASFLAGS := -fno-pic -fno-pie -Wall -Werror
GUEST_MIN_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=4096 \
	-z noexecstack --build-id=none -T $(GUEST_MIN_LDS)

.PHONY: guest-min
guest-min: $(GUEST_MIN)

$(GUEST_MIN): $(GUEST_MIN_OBJS) $(GUEST_MIN_LDS)
	$(GUEST_MIN_LD) $(GUEST_MIN_LDFLAGS) -o $@ $(GUEST_MIN_OBJS)

$(GUEST_MIN_COBJS): $(GUEST_MIN_OBJDIR)/%.o: $(GUEST_MIN_SRCDIR)/%.c
	@mkdir -p $(@D)
	$(GUEST_MIN_CC) $(GUEST_MIN_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_MIN_SOBJS): $(GUEST_MIN_OBJDIR)/%.o: $(GUEST_MIN_SRCDIR)/%.S
	@mkdir -p $(@D)
	$(GUEST_MIN_CC) $(GUEST_MIN_ASFLAGS) -MMD -MP -c -o $@ $<

-include $(GUEST_MIN_OBJS:.o=.d)

.DEFAULT_GOAL := $(GUEST_MIN_SAVED_GOAL)
