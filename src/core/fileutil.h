/* fileutil.h: reading the files a person points trailkeep at (config,
 * templates, AWS profile files) with one set of rules, and writing a file so
 * that readers see the old content or the new one, never a part (the
 * --state file, --metrics for node_exporter's textfile collector).
 * Implemented in src/core/fileutil.c. */
#ifndef TK_FILEUTIL_H
#define TK_FILEUTIL_H

#include <stddef.h>

#include "err.h"

/* Read the whole of an input file (config, template, ~/.aws/config and
 * credentials).  Symbolic links are followed (Kubernetes ConfigMap and Secret
 * mounts are links): the final target must be a regular file, checked before
 * open() so a FIFO or a device never blocks, and again on the open file.
 * At most limit bytes.  *out is NUL-terminated, caller frees (and wipes, for
 * secrets: the chunks read are wiped here).  Returns 0, or with a message:
 * TK_ENOTFOUND ("cannot open 'P': No such file or directory"), TK_EUSAGE
 * (a directory or not a regular file), TK_ELIMIT (larger than limit),
 * TK_EFAIL (cannot open or read). */
int tk_read_file(const char *path, size_t limit, char **out, size_t *len, struct errbuf *err);

/* Open a file of a tree trailkeep reads but does not own (validate --local):
 * a symbolic link is refused (ELOOP), and a FIFO or a device never blocks
 * (opened O_NONBLOCK, then fstat): one that is not a regular file is closed
 * and refused with errno ENOTREG_TK.  Returns the descriptor or -1 (errno). */
#define ENOTREG_TK (-4242)
int tk_open_tree_file(const char *path);
/* strerror(), plus "not a regular file" for ENOTREG_TK */
const char *tk_open_strerror(int err_no);

/* Write data to path atomically: path's directory gets a temp file (mode),
 * fsync, rename over path.  0 or TK_EFAIL (message in err). */
int tk_write_file_atomic(const char *path, const void *data, size_t len, int mode, struct errbuf *err);

#endif
