/* config_lex.c: the config file's line lexer, an inih reader over the text
 * in memory (what it does and why: config_lex.h).  config.c holds the
 * sections, keys and value checks. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "config_lex.h"
#include "banned.h"

#define LONG_STANDIN "\x01long"

void cfg_lex_init(struct cfg_lex *lx, const char *text, size_t len, void *ctx,
		  void (*problem)(void *ctx, int line, const char *msg),
		  void (*section)(void *ctx, const char *name, size_t n))
{
	memset(lx, 0, sizeof(*lx));
	lx->text = text;
	lx->len = len;
	lx->ctx = ctx;
	lx->problem = problem;
	lx->section = section;
}

void cfg_lex_release(struct cfg_lex *lx)
{
	free(lx->long_value);
	lx->long_value = NULL;
}

const char *cfg_lex_value(const struct cfg_lex *lx, const char *value)
{
	if (!strcmp(value, LONG_STANDIN) && lx->long_value)
		return lx->long_value;
	return value;
}

static void problem(struct cfg_lex *lx, const char *msg)
{
	lx->problem(lx->ctx, lx->lineno, msg);
}

/* "[name]" in s..e (s at '['): report it, hand inih a header. */
static char *header_line(struct cfg_lex *lx, char *out, const char *s, const char *e)
{
	const char *close = memchr(s, ']', (size_t)(e - s));
	const char *t;

	if (!close) {
		problem(lx, "section header without ']'");
		lx->section(lx->ctx, NULL, 0);
		return out;
	}
	for (t = close + 1; t < e && isspace((unsigned char)*t); t++)
		;
	if (t < e && *t != ';' && *t != '#') {
		problem(lx, "unexpected text after section header");
		lx->section(lx->ctx, NULL, 0);
		return out;
	}
	lx->section(lx->ctx, s + 1, (size_t)(close - s - 1));
	/* inih only needs to see a header; its name is not used */
	memcpy(out, "[s]\n", 5);
	return out;
}

/* Is s..e a "key = value" line?  Reports why not. */
static int key_line_ok(struct cfg_lex *lx, const char *s, const char *e)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	const char *colon = memchr(s, ':', (size_t)(e - s));

	if (!eq) {
		problem(lx, "expected 'key = value' or '[section]'");
		return 0;
	}
	if (eq == s) {
		problem(lx, "missing key name before '='");
		return 0;
	}
	if (colon && colon < eq) {
		problem(lx, "a key name may not contain ':'");
		return 0;
	}
	return 1;
}

/* A "key = value" line too long for inih: keep the value (inline comment
 * stripped as inih does: ';' after a blank) and pass a stand-in. */
static char *long_line(struct cfg_lex *lx, char *out, int num, const char *s, const char *e)
{
	const char *eq = memchr(s, '=', (size_t)(e - s)), *v = eq + 1, *c;
	const char *ke = eq;

	for (c = v; c < e; c++)
		if (*c == ';' && c > v && isspace((unsigned char)c[-1]))
			break;
	while (v < c && isspace((unsigned char)*v))
		v++;
	while (c > v && isspace((unsigned char)c[-1]))
		c--;
	while (ke > s && isspace((unsigned char)ke[-1]))
		ke--;
	if ((size_t)(ke - s) + sizeof(LONG_STANDIN) + 4 > (size_t)num) {
		problem(lx, "key name is too long");
		return out;
	}
	free(lx->long_value);
	lx->long_value = xstrndup(v, (size_t)(c - v));
	snprintf(out, (size_t)num, "%.*s = %s\n", (int)(ke - s), s, LONG_STANDIN);
	return out;
}

char *cfg_lex_reader(char *out, int num, void *stream)
{
	struct cfg_lex *lx = stream;
	const char *l, *nl, *s, *e;
	size_t n;

	if (lx->pos >= lx->len || num < 4)
		return NULL;
	l = lx->text + lx->pos;
	nl = memchr(l, '\n', lx->len - lx->pos);
	n = nl ? (size_t)(nl - l) : lx->len - lx->pos;
	lx->pos += n + (nl ? 1 : 0);
	lx->lineno++;
	if (n && l[n - 1] == '\r')
		n--;
	if (lx->lineno == 1 && n >= 3 && !memcmp(l, "\xEF\xBB\xBF", 3))
		l += 3, n -= 3;
	out[0] = '\n';
	out[1] = '\0';
	if (n > TK_CONFIG_MAX_LINE) {
		char msg[64];

		snprintf(msg, sizeof(msg), "line is longer than %d characters", TK_CONFIG_MAX_LINE);
		problem(lx, msg);
		return out;
	}
	s = l;
	e = l + n;
	while (s < e && isspace((unsigned char)*s))
		s++;
	if (s == e || *s == ';' || *s == '#')
		return out;
	if (*s == '[')
		return header_line(lx, out, s, e);
	if (!key_line_ok(lx, s, e))
		return out;
	if ((size_t)(e - s) + 2 > (size_t)num)
		return long_line(lx, out, num, s, e);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\n';
	out[e - s + 1] = '\0';
	return out;
}

int cfg_lex_binary_line(const char *t, size_t n, unsigned *byte)
{
	size_t i;
	int line = 1;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t[i];

		if (ch == '\n') {
			line++;
			continue;
		}
		if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
			*byte = ch;
			return line;
		}
	}
	return 0;
}
