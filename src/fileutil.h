/* fileutil.h: writing a file so that readers see the old content or the
 * new one, never a part (the --state file, --metrics for node_exporter's
 * textfile collector).  Implemented in src/fileutil.c. */
#ifndef TK_FILEUTIL_H
#define TK_FILEUTIL_H

#include <stddef.h>

#include "err.h"

/* Write data to path atomically: path's directory gets a temp file (mode),
 * fsync, rename over path.  0 or TK_EFAIL (message in err). */
int tk_write_file_atomic(const char *path, const void *data, size_t len, int mode, struct errbuf *err);

#endif
