/*
 * The kernel command line ember hands the guest: its defaults, the words that describe
 * its devices (virtio_mmio.device=..., root=...), then the user's words (later words
 * win in Linux's parser, so the user can override any of ours), then the boot-timing
 * facts guest-min prints.
 */
#include <inttypes.h>
#include <stdio.h>

#include "../arch/layout.h"
#include "params.h"

/* Serial console, reboot through the i8042 (ember exits), no PCI bus to probe. */
#define CMDLINE_DEFAULTS "console=ttyS0 reboot=k panic=1 pci=off"

int cmdline_compose(char *out, size_t cap, const char *devices, const char *user,
		    const struct boot_timing *t, struct errbuf *e)
{
	int n = snprintf(out, cap, "%s%s%s%s%s", CMDLINE_DEFAULTS,
			 devices && *devices ? " " : "", devices ? devices : "",
			 user && *user ? " " : "", user ? user : "");
	if (n >= 0 && (size_t)n < cap && t && t->tsc_khz)
		n += snprintf(out + n, cap - (size_t)n,
			      " ember.tsc_khz=%" PRIu32 " ember.start_tsc=%" PRIu64
			      " ember.setup_us=%" PRIu64, t->tsc_khz, t->start_tsc, t->setup_us);
	if (n < 0 || (size_t)n >= cap || (size_t)n >= LAYOUT_CMDLINE_MAX)
		return errf(e, "kernel command line would be longer than %llu bytes",
			    LAYOUT_CMDLINE_MAX - 1);
	return 0;
}
