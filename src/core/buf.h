/* buf.h: an owned, growable byte buffer with a hard size limit (curl dynbuf
 * style), and a borrowed string view.  Every buffer that holds untrusted
 * data is created with a limit; growing past it fails with TK_ELIMIT. */
#ifndef TK_BUF_H
#define TK_BUF_H

#include <stddef.h>
#include <stdarg.h>

#include "err.h"

struct buf {
	char *data;     /* always NUL-terminated when len > 0 or after any add */
	size_t len;
	size_t cap;
	size_t limit;   /* maximum len; 0 is not allowed */
};

struct str {
	const char *p;
	size_t len;
};

#define BUF_INIT_LIMIT(l) { NULL, 0, 0, (l) }

void buf_init(struct buf *b, size_t limit);
void buf_release(struct buf *b);          /* frees; b can be reused after buf_init */
void buf_reset(struct buf *b);            /* len = 0, keeps memory */
int buf_add(struct buf *b, const void *p, size_t n);   /* 0 or TK_ELIMIT */
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) TK_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
char *buf_detach(struct buf *b);          /* caller frees; never NULL */
const char *buf_cstr(const struct buf *b); /* "" when empty */

/* overflow-checked size arithmetic: 0 on success, -1 on overflow */
int st_add(size_t *out, size_t a, size_t b);
int st_mult(size_t *out, size_t a, size_t b);

/* allocation that aborts the process on out-of-memory (git's xmalloc) */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) TK_PRINTF(1, 2);

#endif
