#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

void tk_oom(void)
{
	fputs("trailkeep: out of memory\n", stderr);
	abort();
}

void tk_bug(const char *what)
{
	fprintf(stderr, "trailkeep: internal error: %s\n", what);
	abort();
}

#define oom tk_oom

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

void *xmallocarray(size_t n, size_t size)
{
	size_t bytes;

	if (st_mult(&bytes, n, size))
		oom();
	return xmalloc(bytes);
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (st_mult(&bytes, n, size))
		oom();
	return xrealloc(p, bytes);
}

void *tk_alloc_grow(void *p, size_t nr, size_t *alloc, size_t elem)
{
	size_t n;

	/* (alloc + 16) * 3 / 2, at least nr; overflow is out of memory */
	if (st_add(&n, *alloc, 16) || st_mult(&n, n, 3))
		oom();
	n /= 2;
	if (n < nr)
		n = nr;
	p = xreallocarray(p, n, elem);
	*alloc = n;
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int rc;

	buf_init(&b, SIZE_MAX / 2);
	va_start(ap, fmt);
	rc = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (rc)
		oom();   /* vsnprintf failed or the size overflowed: cannot hold it */
	return buf_detach(&b);
}

char *tk_vformat_cut(size_t max, const char *fmt, va_list ap)
{
	va_list cp;
	size_t at;
	char *p;
	int n;

	if (max < 32)
		max = 32;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return xstrdup("(message cannot be formatted)");
	if ((size_t)n <= max) {
		p = xmalloc((size_t)n + 1);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		return p;
	}
	p = xmalloc(max + 1);
	vsnprintf(p, max + 1, fmt, ap);
	at = max - (sizeof(BUF_TRUNC_MARK) - 1);
	while (at > 0 && ((unsigned char)p[at] & 0xc0) == 0x80)
		at--;   /* not inside a UTF-8 sequence */
	memcpy(p + at, BUF_TRUNC_MARK, sizeof(BUF_TRUNC_MARK));
	return p;
}

char *tk_format_cut(size_t max, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = tk_vformat_cut(max, fmt, ap);
	va_end(ap);
	return p;
}

int st_add(size_t *out, size_t a, size_t b)
{
	if (a > SIZE_MAX - b)
		return -1;
	*out = a + b;
	return 0;
}

int st_mult(size_t *out, size_t a, size_t b)
{
	if (a && b > SIZE_MAX / a)
		return -1;
	*out = a * b;
	return 0;
}

void buf_init(struct buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit ? limit : 1;
	b->err = 0;
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (b->err)
		return b->err;
	if (st_add(&need, b->len, extra) || need > b->limit)
		return b->err = TK_ELIMIT;
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2)
			return b->err = TK_ELIMIT;
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	int rc = buf_grow(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	if (b->err)
		return b->err;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return b->err = TK_EFAIL;
	rc = buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_error(const struct buf *b)
{
	return b->err;
}

int buf_finish(struct buf *b, char **out)
{
	int rc = b->err;

	if (rc) {
		buf_release(b);
		*out = NULL;
		return rc;
	}
	*out = buf_detach(b);
	return 0;
}

char *buf_detach_marked(struct buf *b)
{
	char *p;
	size_t n;

	if (!b->err)
		return buf_detach(b);
	/* what fitted, then the marker (beyond the limit: it is ours) */
	if (st_add(&n, b->len, sizeof(BUF_TRUNC_MARK)))
		oom();
	p = xmalloc(n);
	if (b->len)
		memcpy(p, b->data, b->len);
	memcpy(p + b->len, BUF_TRUNC_MARK, sizeof(BUF_TRUNC_MARK));
	buf_release(b);
	return p;
}

char *buf_detach(struct buf *b)
{
	char *p;

	if (b->err)
		tk_bug("a buffer whose write failed was used unchecked");
	p = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *buf_cstr(const struct buf *b)
{
	if (b->err)
		tk_bug("a buffer whose write failed was used unchecked");
	return b->data ? b->data : "";
}
