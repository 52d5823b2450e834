/* textesc.c: see textesc.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textesc.h"
#include "banned.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is not valid (overlong, surrogate, beyond U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int is_bidi_control(unsigned long c)
{
	return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

int tk_text_escape_n(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		unsigned long cp = 0;
		size_t len = utf8_seq(p + i, n - i, &cp);
		char esc[16];

		if (len && cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) && !is_bidi_control(cp)) {
			i += len;   /* printable: copied in runs below */
			run += len;
			continue;
		}
		if (run)
			rc = buf_add(b, p + i - run, run);
		run = 0;
		if (rc)
			break;
		if (!len) {
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			len = 1;
		} else if (cp == '\n') {
			snprintf(esc, sizeof(esc), "\\n");
		} else if (cp == '\r') {
			snprintf(esc, sizeof(esc), "\\r");
		} else if (cp == '\t') {
			snprintf(esc, sizeof(esc), "\\t");
		} else if (cp < 0x80) {
			snprintf(esc, sizeof(esc), "\\x%02lx", cp);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04lx", cp);
		}
		rc = buf_adds(b, esc);
		i += len;
	}
	if (rc == 0 && run)
		rc = buf_add(b, p + i - run, run);
	return rc;
}

int tk_text_escape(struct buf *b, const char *s)
{
	return tk_text_escape_n(b, s, strlen(s));
}

char *tk_text_escaped(const char *s)
{
	struct buf b;

	if (!s)
		return NULL;
	/* at most 6 bytes out per byte in (\uXXXX for 3 bytes in: less) */
	buf_init(&b, strlen(s) * 4 + 1);
	if (tk_text_escape(&b, s) < 0) {
		buf_release(&b);
		return xstrdup("?");
	}
	return buf_detach(&b);
}
