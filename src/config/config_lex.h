/* config_lex.h: the config file's line lexer (src/config/config_lex.c).
 *
 * An inih reader over the config text held in memory.  Debian's inih is
 * built without INI_HANDLER_LINENO and with INI_MAX_LINE = 200, so the lexer:
 *   - counts lines (the handler reads cfg_lex.lineno for the line it is
 *     called for),
 *   - hands inih a stand-in value for a line longer than inih's buffer and
 *     keeps the real value itself (cfg_lex_value() gives it back); lines
 *     longer than TK_CONFIG_MAX_LINE are reported,
 *   - reports [section] headers itself through the section callback (inih
 *     does not call the handler for a section without keys) and reports
 *     malformed lines through the problem callback,
 *   - strips leading blanks so inih's multi-line continuation never applies.
 * inih does the key = value split and strips inline "; comments". */
#ifndef TK_CONFIG_LEX_H
#define TK_CONFIG_LEX_H

#include <stddef.h>

struct cfg_lex {
	const char *text;
	size_t len, pos;
	int lineno;                 /* the line last read, from 1 */
	char *long_value;           /* the value of a line too long for inih */
	void *ctx;
	/* a malformed line: one message without the FILE:LINE: part */
	void (*problem)(void *ctx, int line, const char *msg);
	/* a [section] header's text between the brackets (not trimmed); name is
	 * NULL for a malformed header, whose keys are then to be ignored */
	void (*section)(void *ctx, const char *name, size_t n);
};

void cfg_lex_init(struct cfg_lex *lx, const char *text, size_t len, void *ctx,
		  void (*problem)(void *ctx, int line, const char *msg),
		  void (*section)(void *ctx, const char *name, size_t n));
/* The ini_reader for ini_parse_stream(); stream is the struct cfg_lex. */
char *cfg_lex_reader(char *out, int num, void *stream);
/* The value the handler got, or the real one when it is the stand-in. */
const char *cfg_lex_value(const struct cfg_lex *lx, const char *value);
void cfg_lex_release(struct cfg_lex *lx);

/* Binary junk: the line (from 1) of the first NUL or control byte other
 * than tab and CR, with the byte in *byte; 0 when the text is clean. */
int cfg_lex_binary_line(const char *t, size_t n, unsigned *byte);

#endif
