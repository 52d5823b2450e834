/* fileutil.c: see fileutil.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "buf.h"
#include "banned.h"

int tk_write_file_atomic(const char *path, const void *data, size_t len, int mode,
			 struct errbuf *err)
{
	const char *slash = strrchr(path, '/');
	char *tmp;
	size_t off = 0;
	int fd, rc = 0, created = 0;

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
