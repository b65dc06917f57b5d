/* The jail's flags (jail/flags.h): each checks its value and fills jail_config. */
#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "cgroup.h"
#include "rlimit.h"

static int set_jail(struct jail_config *j, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	j->enabled = true;
	return 0;
}

/* A uid or gid: 0 to 2^32-2 (-1 means "unchanged" to the kernel). */
static int parse_id_number(const char *flag, const char *v, unsigned *out, struct errbuf *e)
{
	long long n;
	if (parse_flag_number(flag, v, &n, e) < 0)
		return -1;
	if (n < 0 || n >= 0xffffffffLL)
		return errf(e, "--%s: %lld is out of range 0-%lld", flag, n, 0xffffffffLL - 1);
	*out = (unsigned)n;
	return 0;
}

static int set_uid(struct jail_config *j, const char *v, struct errbuf *e)
{
	unsigned n = 0;
	if (parse_id_number("uid", v, &n, e) < 0)
		return -1;
	j->uid = n, j->has_uid = true;
	return 0;
}

static int set_gid(struct jail_config *j, const char *v, struct errbuf *e)
{
	unsigned n = 0;
	if (parse_id_number("gid", v, &n, e) < 0)
		return -1;
	j->gid = n, j->has_gid = true;
	return 0;
}

static int set_chroot_base(struct jail_config *j, const char *v, struct errbuf *e)
{
	if (v[0] != '/' || strcmp(v, "/") == 0)
		return errf(e, "--chroot-base: '%s' is not an absolute directory other than /", v);
	j->chroot_base = v;
	return 0;
}

static int set_netns(struct jail_config *j, const char *v, struct errbuf *e)
{
	if (!*v)
		return errf(e, "--netns: the path is empty");
	j->netns = v;
	return 0;
}

static int set_cgroup(struct jail_config *j, const char *v, struct errbuf *e)
{
	char why[sizeof(e->msg)];
	if (j->ncgroups == JAIL_MAX_CGROUPS)
		return errf(e, "--cgroup: at most %d", JAIL_MAX_CGROUPS);
	if (jail_setting_parse(v, &j->cgroups[j->ncgroups], e) < 0 ||
	    cgroup_check_key(j->cgroups[j->ncgroups].key, e) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "--cgroup: %s", why);
	}
	j->ncgroups++;
	return 0;
}

static int set_rlimit(struct jail_config *j, const char *v, struct errbuf *e)
{
	struct jail_setting *s = &j->rlimits[j->nrlimits];
	char why[sizeof(e->msg)];
	int resource;
	rlim_t limit;
	if (j->nrlimits == JAIL_MAX_RLIMITS)
		return errf(e, "--resource-limit: at most %d", JAIL_MAX_RLIMITS);
	if (jail_setting_parse(v, s, e) < 0 ||
	    jail_rlimit_parse(s->key, s->value, &resource, &limit, e) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "--resource-limit: %s", why);
	}
	j->nrlimits++;
	return 0;
}

static int set_daemonize(struct jail_config *j, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	j->daemonize = true;
	return 0;
}

static int set_new_pid_ns(struct jail_config *j, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	j->new_pid_ns = true;
	return 0;
}

const struct jail_flag jail_flags[] = {
	{ "jail", NULL, "confine ember before it boots (needs --id, --uid, --gid; README: Jail)",
	  set_jail },
	{ "uid", "UID", "--jail: run as this user", set_uid },
	{ "gid", "GID", "--jail: run as this group", set_gid },
	{ "chroot-base", "DIR", "--jail: the jail is DIR/ember/ID/root (default /srv/ember)",
	  set_chroot_base },
	{ "netns", "PATH", "--jail: join this network namespace (e.g. /var/run/netns/NAME)",
	  set_netns },
	{ "cgroup", "KEY=VALUE", "--jail: a cgroup file and its value, repeatable (pids.max=64)",
	  set_cgroup },
	{ "resource-limit", "KEY=VALUE",
	  "--jail: no-file (default 2048), fsize, core, nproc or memlock, repeatable", set_rlimit },
	{ "daemonize", NULL, "--jail: detach (setsid, stdio to /dev/null); exit 0 once jailed",
	  set_daemonize },
	{ "new-pid-ns", NULL, "--jail: run in a new PID namespace (a parent relays signals)",
	  set_new_pid_ns },
};
const size_t jail_nflags = sizeof(jail_flags) / sizeof(jail_flags[0]);

void jail_config_init(struct jail_config *j)
{
	*j = (struct jail_config){ .chroot_base = JAIL_DEFAULT_CHROOT_BASE };
}

int jail_flags_check(const struct jail_config *j, const char *first_flag, const char *id,
		     bool id_given, struct errbuf *e)
{
	if (!j->enabled)
		return first_flag ? errf(e, "--%s needs --jail", first_flag) : 0;
	if (!id_given)
		return errf(e, "--jail needs --id ID (it names the jail's directory and cgroup)");
	if (!j->has_uid || !j->has_gid)
		return errf(e, "--jail needs --uid and --gid (whom ember becomes)");
	return jail_check_id(id, e);
}
