/* buf.h: an owned, growable byte buffer with a hard size limit (curl dynbuf
 * style), a borrowed string view, array growth and the allocation functions.
 *
 * Bounded writes (issue 14): a write past the limit never loses data
 * silently.
 *  - The error is sticky: the first failed add (TK_ELIMIT) is remembered in
 *    b->err, the buffer keeps what it held before that add, and every later
 *    add fails with the same code and adds nothing.  So a run of adds may be
 *    checked once, at the end.
 *  - The buffer is checked where it is used: buf_finish() and buf_error()
 *    must have their result used (warn_unused_result); buf_detach() and
 *    buf_cstr() on a buffer in error are a programming error and stop the
 *    process (tk_bug), so an unchecked overflow can never become a shorter
 *    string.
 *  - Where a shortened text is the right answer (a line shown to a person),
 *    buf_detach_marked() returns what fitted followed by BUF_TRUNC_MARK, a
 *    visible, documented marker.
 *
 * Out of memory (one policy, docs/architecture.md): every allocation goes
 * through xmalloc/xcalloc/xrealloc/ALLOC_GROW (or calls tk_oom() when a
 * library such as OpenSSL or expat reports that it could not allocate);
 * running out prints "trailkeep: out of memory" to stderr and aborts.  It is
 * the only output library code writes. */
#ifndef TK_BUF_H
#define TK_BUF_H

#include <stddef.h>
#include <stdarg.h>

#include "err.h"

#if defined(__GNUC__)
#define TK_WUR __attribute__((warn_unused_result))
#define TK_NORETURN __attribute__((noreturn))
#else
#define TK_WUR
#define TK_NORETURN
#endif

struct buf {
	char *data;     /* always NUL-terminated when len > 0 or after any add */
	size_t len;
	size_t cap;
	size_t limit;   /* maximum len; 0 is not allowed */
	int err;        /* sticky: 0, or the code of the first failed add */
};

struct str {
	const char *p;
	size_t len;
};

#define BUF_INIT_LIMIT(l) { NULL, 0, 0, (l), 0 }

/* what buf_detach_marked() appends to a shortened text */
#define BUF_TRUNC_MARK " [truncated]"

void buf_init(struct buf *b, size_t limit);
void buf_release(struct buf *b);          /* frees, clears the error; reuse after buf_init */
void buf_reset(struct buf *b);            /* len = 0, clears the error, keeps memory */
/* 0, or TK_ELIMIT (sticky, see above); a buffer in error adds nothing */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) TK_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* the sticky error: 0 or the code of the first failed add */
int buf_error(const struct buf *b) TK_WUR;
/* The checked end of a buffer: 0 and *out = the text (caller frees, never
 * NULL), or the sticky error with *out = NULL and the buffer released. */
int buf_finish(struct buf *b, char **out) TK_WUR;
/* The text, caller frees, never NULL; a buffer in error gives what fitted
 * followed by BUF_TRUNC_MARK (for text shown to a person only). */
char *buf_detach_marked(struct buf *b);
/* Only for a buffer not in error (every add checked, or buf_error() 0):
 * used on a buffer in error they call tk_bug(). */
char *buf_detach(struct buf *b);          /* caller frees; never NULL */
const char *buf_cstr(const struct buf *b); /* "" when empty */

/* overflow-checked size arithmetic: 0 on success, -1 on overflow */
int st_add(size_t *out, size_t a, size_t b);
int st_mult(size_t *out, size_t a, size_t b);

/* allocation that aborts the process on out-of-memory (git's xmalloc) */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* n elements of size bytes, the multiplication overflow-checked */
void *xmallocarray(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) TK_PRINTF(1, 2);
/* Text for a person, at most max bytes (max >= 32): the formatting, or when
 * it is longer, what fits (cut at a UTF-8 character boundary) ending with
 * BUF_TRUNC_MARK.  Caller frees; never NULL. */
char *tk_format_cut(size_t max, const char *fmt, ...) TK_PRINTF(2, 3);
char *tk_vformat_cut(size_t max, const char *fmt, va_list ap);

/* The out-of-memory policy: prints "trailkeep: out of memory", aborts. */
TK_NORETURN void tk_oom(void);
/* A broken internal rule (as git's BUG()): prints
 * "trailkeep: internal error: WHAT" and aborts. */
TK_NORETURN void tk_bug(const char *what);

/* Array growth (git's ALLOC_GROW): make room for nr elements in x, whose
 * allocated element count is alloc (a size_t lvalue).  Grows by half again
 * plus 16, so appending n elements costs O(log n) reallocations; a size
 * that overflows is out of memory.  Append with
 *	ALLOC_GROW(v, n + 1, alloc);
 *	v[n++] = item;
 */
#define ALLOC_GROW(x, nr, alloc)                                                     \
	do {                                                                         \
		if ((size_t)(nr) > (alloc))                                          \
			(x) = tk_alloc_grow((x), (size_t)(nr), &(alloc), sizeof(*(x))); \
	} while (0)
void *tk_alloc_grow(void *p, size_t nr, size_t *alloc, size_t elem);

#endif
