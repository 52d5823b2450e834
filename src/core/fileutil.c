/* fileutil.c: see fileutil.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "buf.h"
#include "banned.h"

int tk_read_file(const char *path, size_t limit, char **out, size_t *len, struct errbuf *err)
{
	struct buf b;
	struct stat sb;
	char chunk[8192];
	int fd = -1, rc = 0;
	ssize_t r;

	*out = NULL;
	if (len)
		*len = 0;
	buf_init(&b, limit ? limit : 1);
	/* stat follows links: the target decides, before open() can block */
	if (stat(path, &sb) < 0) {
		rc = err_set(err, errno == ENOENT || errno == ENOTDIR ? TK_ENOTFOUND : TK_EFAIL,
			     "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (S_ISDIR(sb.st_mode)) {
		rc = err_set(err, TK_EUSAGE, "cannot read '%s': it is a directory", path);
		goto done;
	}
	if (S_ISCHR(sb.st_mode)) {
		struct stat nb;

		/* /dev/null is the usual way to say "no file"
		 * (AWS_CONFIG_FILE=/dev/null): it reads as empty */
		if (stat("/dev/null", &nb) == 0 && S_ISCHR(nb.st_mode) && nb.st_rdev == sb.st_rdev) {
			*out = xstrdup("");
			goto done;
		}
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = err_set(err, TK_EUSAGE, "cannot read '%s': not a regular file", path);
		goto done;
	}
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(err, errno == ENOENT ? TK_ENOTFOUND : TK_EFAIL, "cannot open '%s': %s", path,
			     strerror(errno));
		goto done;
	}
	if (fstat(fd, &sb) < 0) {   /* replaced between stat and open? */
		rc = err_set(err, TK_EFAIL, "cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = err_set(err, TK_EUSAGE, "cannot read '%s': not a regular file", path);
		goto done;
	}
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(err, TK_EFAIL, "cannot read '%s': %s", path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		if (buf_add(&b, chunk, (size_t)r) < 0) {
			rc = err_set(err, TK_ELIMIT, "cannot read '%s': larger than %zu bytes", path, limit);
			goto done;
		}
	}
	if (len)
		*len = b.len;
	*out = buf_detach(&b);
done:
	explicit_bzero(chunk, sizeof(chunk));
	if (fd >= 0)
		close(fd);
	if (b.data)
		explicit_bzero(b.data, b.cap);
	buf_release(&b);
	return rc;
}

int tk_write_file_atomic(const char *path, const void *data, size_t len, int mode,
			 struct errbuf *err)
{
	const char *slash = strrchr(path, '/');
	char *tmp;
	size_t off = 0;
	int fd, rc = 0, created = 0;
	struct stat sb;

	/* a file trailkeep writes is never a link: rename() would replace the
	 * link, and following it could overwrite any file the link names */
	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
		return err_set(err, TK_EUSAGE, "cannot write '%s': it is a symbolic link (trailkeep replaces the "
			       "files it writes and never writes through a link)", path);
	if (slash)
		tmp = xasprintf("%.*s/.%s.tmp.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		tmp = xasprintf(".%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = err_set(err, TK_EFAIL, "cannot create a temporary file next to '%s': %s", path,
			     strerror(errno));
		goto done;
	}
	created = 1;
	if (fchmod(fd, (mode_t)mode)) {
		rc = err_set(err, TK_EFAIL, "cannot chmod '%s': %s", tmp, strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", tmp, strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	if (fsync(fd)) {
		rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	rc = close(fd);
	fd = -1;
	if (rc) {
		rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	if (rename(tmp, path))
		rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", path, strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	if (rc && created)
		unlink(tmp);
	free(tmp);
	return rc;
}

int tk_open_tree_file(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), flags;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		errno = S_ISDIR(sb.st_mode) ? EISDIR : ENOTREG_TK;
		return -1;
	}
	/* a regular file: blocking reads as usual */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

const char *tk_open_strerror(int err_no)
{
	return err_no == ENOTREG_TK ? "not a regular file" : strerror(err_no);
}
