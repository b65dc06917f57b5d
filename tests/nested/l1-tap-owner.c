/*
 * l1-tap-owner NAME UID [GID]: creates the persistent TAP NAME owned by UID (and
 * group GID), what `ip tuntap add NAME mode tap user UID group GID` does. L1's
 * busybox has neither `ip tuntap` nor `tunctl -u`, so nested-run.sh builds this
 * (static) for `--tap NAME=...,user=UID[:GID]` and l1-init runs it in place of tunctl.
 * A jailed ember (no CAP_NET_ADMIN) may only attach to a TAP its uid owns.
 * Exit status 0, or 1 with one line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* <linux/if_tun.h>'s, which musl-gcc has no copy of. */
#define IFF_TAP       0x0002
#define IFF_NO_PI     0x1000
#define TUNSETIFF     _IOW('T', 202, int)
#define TUNSETPERSIST _IOW('T', 203, int)
#define TUNSETOWNER   _IOW('T', 204, int)
#define TUNSETGROUP   _IOW('T', 206, int)

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "l1-tap-owner: %s %s: %s\n", what, name, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct ifreq ifr;
	if (argc < 3 || argc > 4 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: l1-tap-owner NAME UID [GID]\n");
		return 1;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open", "/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return fail("TUNSETIFF", argv[1]);
	if (ioctl(fd, TUNSETOWNER, strtoul(argv[2], NULL, 10)) < 0)
		return fail("TUNSETOWNER", argv[2]);
	if (argc == 4 && ioctl(fd, TUNSETGROUP, strtoul(argv[3], NULL, 10)) < 0)
		return fail("TUNSETGROUP", argv[3]);
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		return fail("TUNSETPERSIST", argv[1]);
	close(fd);
	return 0;
}
