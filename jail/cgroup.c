/*
 * The jail's cgroup (see cgroup.h). Every error names the file or directory.
 */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/util.h"

/* Always created and entered, limits or not: the jail is accounted and limitable. */
static const char *const cgroup_default_controllers[] = { "cpu", "memory", "pids" };

#define CGROUP_MAX_NEEDED (ARRAY_SIZE(cgroup_default_controllers) + JAIL_MAX_CGROUPS)

int cgroup_check_key(const char *key, struct errbuf *e)
{
	const char *dot = strchr(key, '.');
	if (!dot || dot == key || !dot[1])
		return errf(e, "cgroup key '%s' is not <controller>.<file>", key);
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
			return errf(e, "cgroup key '%s' has a character outside [a-z0-9_.]", key);
	/* cgroup.procs, cgroup.subtree_control...: ember's own business, not limits. */
	if (strncmp(key, "cgroup.", 7) == 0)
		return errf(e, "cgroup key '%s' is a cgroup core file, not a limit", key);
	return 0;
}

int cgroup_controller_of(const char *key, char *out, size_t cap)
{
	const char *dot = strchr(key, '.');
	size_t len = dot ? (size_t)(dot - key) : 0;
	if (!len || len >= cap)
		return -1;
	memcpy(out, key, len);
	out[len] = '\0';
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void cgroup_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* One mountinfo line: "... <mount point> <opts> [optional...] - <fstype> <src> <super>". */
static void cgroup_parse_line(char *line, struct cgroup_layout *l)
{
	char *save = NULL, *mnt = NULL, *fstype = NULL, *super = NULL;
	int field = 0;
	bool after_dash = false;
	for (char *w = strtok_r(line, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
		if (!after_dash) {
			if (field++ == 4)
				mnt = w;
			if (strcmp(w, "-") == 0)
				after_dash = true, field = 0;
			continue;
		}
		if (field == 0)
			fstype = w;
		else if (field == 2)
			super = w;
		field++;
	}
	if (!mnt || !fstype || l->n >= CGROUP_MAX_HIERARCHIES)
		return;
	int version = strcmp(fstype, "cgroup2") == 0 ? 2 : strcmp(fstype, "cgroup") == 0 ? 1 : 0;
	if (!version || strlen(mnt) >= sizeof(l->h[0].path))
		return;
	struct cgroup_hierarchy *h = &l->h[l->n++];
	cgroup_unescape(mnt);
	snprintf(h->path, sizeof(h->path), "%s", mnt);
	snprintf(h->controllers, sizeof(h->controllers), "%s", version == 1 && super ? super : "");
	h->version = version;
}

int cgroup_parse_mountinfo(FILE *mountinfo, struct cgroup_layout *l, struct errbuf *e)
{
	char line[4096];
	l->n = 0;
	while (fgets(line, sizeof(line), mountinfo))
		cgroup_parse_line(line, l);
	if (ferror(mountinfo))
		return errf(e, "cannot read the mount table");
	return 0;
}

/* Is word one of the comma-separated words of list? */
static bool cgroup_has_word(const char *list, const char *word, char sep)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p; p = strchr(p, sep), p = p ? p + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == sep || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

const struct cgroup_hierarchy *cgroup_v1_find(const struct cgroup_layout *l,
					      const char *controller)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->h[i].version == 1 && cgroup_has_word(l->h[i].controllers, controller, ','))
			return &l->h[i];
	return NULL;
}

const struct cgroup_hierarchy *cgroup_v2_find(const struct cgroup_layout *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->h[i].version == 2)
			return &l->h[i];
	return NULL;
}

/* ---- files ---- */

static int cgroup_path(char *out, const char *dir, const char *file, struct errbuf *e)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, file) >= PATH_MAX)
		return errf(e, "%s/%s: path too long", dir, file);
	return 0;
}

static int cgroup_write(const char *dir, const char *file, const char *value, struct errbuf *e)
{
	char path[PATH_MAX];
	if (cgroup_path(path, dir, file, e) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(e, "%s: %s", path, strerror(errno));
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int err = errno;
	close(fd);
	if (n != (ssize_t)len)
		return errf(e, "%s: writing '%s': %s", path, value, n < 0 ? strerror(err) : "short write");
	return 0;
}

/* The file's first line without its newline ("" when empty); -1 when unreadable. */
static int cgroup_read(const char *dir, const char *file, char *out, size_t cap, struct errbuf *e)
{
	char path[PATH_MAX];
	if (cgroup_path(path, dir, file, e) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(e, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, out, cap - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return errf(e, "%s: %s", path, strerror(err));
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int cgroup_mkdir(const char *path, struct errbuf *e)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return errf(e, "%s: %s", path, strerror(errno));
	return 0;
}

/*
 * v1 cpuset refuses tasks until cpuset.cpus and cpuset.mems are set: a new cpuset
 * cgroup takes its parent's.
 */
static int cgroup_inherit_cpuset(const struct cgroup_hierarchy *h, const char *parent,
				 const char *child, struct errbuf *e)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	if (h->version != 1 || !cgroup_has_word(h->controllers, "cpuset", ','))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char mine[256], theirs[256];
		if (cgroup_read(child, files[i], mine, sizeof(mine), e) < 0)
			return -1;
		if (mine[0])
			continue;
		if (cgroup_read(parent, files[i], theirs, sizeof(theirs), e) < 0 ||
		    cgroup_write(child, files[i], theirs, e) < 0)
			return -1;
	}
	return 0;
}

/*
 * <hierarchy>/ember/<id>, fresh: a leftover of an earlier run with this id is removed
 * when nobody is in it (so its old limits do not linger), refused when someone is.
 */
static int cgroup_make(const struct cgroup_hierarchy *h, const char *id, char *dir, size_t cap,
		       struct errbuf *e)
{
	char parent[PATH_MAX], procs[64];
	if (cap < PATH_MAX || cgroup_path(parent, h->path, CGROUP_PARENT, e) < 0 ||
	    cgroup_path(dir, parent, id, e) < 0)
		return -1;
	if (cgroup_mkdir(parent, e) < 0 || cgroup_inherit_cpuset(h, h->path, parent, e) < 0)
		return -1;
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (cgroup_read(dir, "cgroup.procs", procs, sizeof(procs), e) < 0)
			return -1;
		if (procs[0])
			return errf(e, "%s is in use by pid %s (another ember with id '%s'?)", dir,
				    procs, id);
		if (rmdir(dir) < 0)
			return errf(e, "%s: removing the leftover cgroup: %s", dir, strerror(errno));
	}
	if (mkdir(dir, 0755) < 0)
		return errf(e, "%s: %s", dir, strerror(errno));
	return cgroup_inherit_cpuset(h, parent, dir, e);
}

static int cgroup_join(const char *dir, struct errbuf *e)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return cgroup_write(dir, "cgroup.procs", pid, e);
}

/* ---- which controllers ---- */

struct cgroup_needed {
	char name[CGROUP_MAX_NEEDED][JAIL_KEY_MAX];
	unsigned n;
};

static void cgroup_need(struct cgroup_needed *need, const char *controller)
{
	for (unsigned i = 0; i < need->n; i++)
		if (strcmp(need->name[i], controller) == 0)
			return;
	snprintf(need->name[need->n++], JAIL_KEY_MAX, "%s", controller);
}

static void cgroup_needed_for(const struct jail_setting *s, unsigned n, struct cgroup_needed *need)
{
	char c[JAIL_KEY_MAX];
	need->n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cgroup_default_controllers); i++)
		cgroup_need(need, cgroup_default_controllers[i]);
	for (unsigned i = 0; i < n; i++)
		if (cgroup_controller_of(s[i].key, c, sizeof(c)) == 0)
			cgroup_need(need, c);
}

/* ---- v2: one cgroup, controllers enabled down the path ---- */

static int cgroup_v2_enable(const char *dir, const struct cgroup_needed *need, struct errbuf *e)
{
	char word[JAIL_KEY_MAX + 1];
	for (unsigned i = 0; i < need->n; i++) {
		snprintf(word, sizeof(word), "+%s", need->name[i]);
		if (cgroup_write(dir, "cgroup.subtree_control", word, e) < 0)
			return -1;
	}
	return 0;
}

static int cgroup_enter_v2(const struct cgroup_hierarchy *h, const char *available, const char *id,
			   const struct jail_setting *s, unsigned n, const struct cgroup_needed *need,
			   struct errbuf *e)
{
	char parent[PATH_MAX], dir[PATH_MAX];
	for (unsigned i = 0; i < need->n; i++)
		if (!cgroup_has_word(available, need->name[i], ' '))
			return errf(e, "%s: the %s controller is not available (cgroup.controllers: '%s')",
				    h->path, need->name[i], available);
	if (cgroup_path(parent, h->path, CGROUP_PARENT, e) < 0 || cgroup_mkdir(parent, e) < 0 || cgroup_v2_enable(h->path, need, e) < 0 ||
	    cgroup_v2_enable(parent, need, e) < 0 || cgroup_make(h, id, dir, sizeof(dir), e) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (cgroup_write(dir, s[i].key, s[i].value, e) < 0)
			return -1;
	return cgroup_join(dir, e);
}

/* ---- v1: one cgroup per hierarchy that carries a needed controller ---- */

struct cgroup_v1_dir {
	const struct cgroup_hierarchy *h;
	char dir[PATH_MAX];
};

static int cgroup_v1_dir_for(const struct cgroup_layout *l, const char *controller,
			     const struct cgroup_v1_dir *dirs, unsigned ndirs, struct errbuf *e)
{
	const struct cgroup_hierarchy *h = cgroup_v1_find(l, controller);
	if (!h)
		return errf(e, "no cgroup v1 hierarchy is mounted with the %s controller", controller);
	for (unsigned i = 0; i < ndirs; i++)
		if (dirs[i].h == h)
			return (int)i;
	return -2; /* not made yet */
}

static int cgroup_enter_v1(const struct cgroup_layout *l, const char *id,
			   const struct jail_setting *s, unsigned n, const struct cgroup_needed *need,
			   struct errbuf *e)
{
	static struct cgroup_v1_dir dirs[CGROUP_MAX_NEEDED]; /* 4 KiB each: not on the stack */
	unsigned ndirs = 0;
	char c[JAIL_KEY_MAX];
	for (unsigned i = 0; i < need->n; i++) {
		int k = cgroup_v1_dir_for(l, need->name[i], dirs, ndirs, e);
		if (k == -1)
			return -1;
		if (k >= 0)
			continue; /* cpu,cpuacct mounted together: one directory */
		dirs[ndirs].h = cgroup_v1_find(l, need->name[i]);
		if (cgroup_make(dirs[ndirs].h, id, dirs[ndirs].dir, sizeof(dirs[ndirs].dir), e) < 0)
			return -1;
		ndirs++;
	}
	for (unsigned i = 0; i < n; i++) {
		cgroup_controller_of(s[i].key, c, sizeof(c));
		int k = cgroup_v1_dir_for(l, c, dirs, ndirs, e);
		if (k == -2) /* every key's controller was made above */
			return errf(e, "%s: no cgroup made for its controller", s[i].key);
		if (k < 0 || cgroup_write(dirs[k].dir, s[i].key, s[i].value, e) < 0)
			return -1;
	}
	/* Limits first, then in: the process is never in an unlimited jail cgroup. */
	for (unsigned i = 0; i < ndirs; i++)
		if (cgroup_join(dirs[i].dir, e) < 0)
			return -1;
	return 0;
}

static bool cgroup_v2_offers(const char *available, const struct cgroup_needed *need)
{
	for (unsigned i = 0; i < need->n; i++)
		if (!cgroup_has_word(available, need->name[i], ' '))
			return false;
	return true;
}

static bool cgroup_v1_any(const struct cgroup_layout *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->h[i].version == 1)
			return true;
	return false;
}

int cgroup_enter(const char *id, const struct jail_setting *s, unsigned n, struct errbuf *e)
{
	static struct cgroup_layout layout; /* 130 KiB: not on the stack */
	struct cgroup_needed need;
	char available[512] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return errf(e, "/proc/self/mountinfo: %s", strerror(errno));
	int r = cgroup_parse_mountinfo(f, &layout, e);
	fclose(f);
	if (r < 0)
		return -1;
	cgroup_needed_for(s, n, &need);
	const struct cgroup_hierarchy *v2 = cgroup_v2_find(&layout);
	if (v2 && cgroup_read(v2->path, "cgroup.controllers", available, sizeof(available), e) < 0)
		return -1;
	/* A hybrid host's v2 may hold a controller or two (hugetlb): v1 has the rest. */
	if (v2 && (cgroup_v2_offers(available, &need) || !cgroup_v1_any(&layout)))
		return cgroup_enter_v2(v2, available, id, s, n, &need, e);
	if (!cgroup_v1_any(&layout))
		return errf(e, "no cgroup hierarchy is mounted (/proc/self/mountinfo)");
	return cgroup_enter_v1(&layout, id, s, n, &need, e);
}
