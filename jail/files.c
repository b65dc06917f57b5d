/* The configuration's host files inside the jail (see files.h). */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail.h"

/* The new mount API (Linux 5.2); musl has no wrappers, glibc 2.36 has no need of ours. */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

int jail_inside_path(const char *path, char *out, size_t cap, struct errbuf *e)
{
	size_t n = 0;
	if (!*path)
		return errf(e, "an empty path cannot be made reachable in the jail");
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[--n] != '/')
				; /* back to the previous component's slash */
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (n + 1 + len >= cap)
				return errf(e, "%s: path too long", path);
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len + (p[len] == '/');
	}
	if (!n)
		return errf(e, "%s: the root itself cannot be made reachable in the jail", path);
	out[n] = '\0';
	return 0;
}

static int jail_file_add(struct jail_files *fs, const char *host, bool read_only,
			 struct errbuf *e)
{
	struct jail_file *f = &fs->f[fs->n];
	struct stat st;
	if (jail_inside_path(host, f->inside, sizeof(f->inside), e) < 0)
		return -1;
	if (stat(host, &st) < 0)
		return errf(e, "%s: %s", host, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return errf(e, "%s: is a directory", host);
	f->host = host;
	f->read_only = read_only;
	f->is_device = S_ISBLK(st.st_mode);
	f->tree_fd = (int)syscall(SYS_open_tree, AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (f->tree_fd < 0)
		return errf(e, "%s: open_tree: %s", host, strerror(errno));
	fs->n++;
	return 0;
}

int jail_files_clone(const struct jail_vm *vm, struct jail_files *fs, struct errbuf *e)
{
	fs->n = 0;
	for (unsigned i = 0; i < vm->nfiles; i++)
		if (jail_file_add(fs, vm->files[i].path, vm->files[i].read_only, e) < 0)
			return -1;
	return 0;
}

/* The parents of an inside path, root-owned 0755, and an empty file to mount on. */
static int jail_file_mount_point(const char *inside, struct errbuf *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", inside);
	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return errf(e, "%s: %s", dir, strerror(errno));
		*s = '/';
	}
	int fd = open(inside, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errf(e, "%s: %s", inside, strerror(errno));
	close(fd);
	return 0;
}

static int jail_file_attach(struct jail_file *f, struct errbuf *e)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC |
			      (f->read_only ? MS_RDONLY : 0) | (f->is_device ? 0 : MS_NODEV);
	if (jail_file_mount_point(f->inside, e) < 0)
		return -1;
	if (syscall(SYS_move_mount, f->tree_fd, "", AT_FDCWD, f->inside, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return errf(e, "%s (from %s): move_mount: %s", f->inside, f->host, strerror(errno));
	close(f->tree_fd);
	f->tree_fd = -1;
	if (mount(NULL, f->inside, NULL, flags, NULL) < 0)
		return errf(e, "%s: remount %s: %s", f->inside, f->read_only ? "read-only" : "nosuid",
			    strerror(errno));
	return 0;
}

int jail_files_attach(struct jail_files *fs, struct errbuf *e)
{
	for (unsigned i = 0; i < fs->n; i++)
		if (jail_file_attach(&fs->f[i], e) < 0)
			return -1;
	return 0;
}
