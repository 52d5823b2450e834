/* textesc.h: text from outside (S3 keys, AWS messages, --merge documents,
 * doctor evidence) made safe for a terminal.  The one escaping used by every
 * text report (verify, validate, doctor); JSON output is escaped by jansson
 * instead.  Implemented in src/core/textesc.c. */
#ifndef TK_TEXTESC_H
#define TK_TEXTESC_H

#include <stddef.h>

#include "buf.h"

/* Append s to b with every byte sequence a terminal would act on shown as a
 * visible escape: C0 controls and DEL as \n \r \t or \xNN (ESC is \x1b),
 * C1 controls (U+0080..U+009F) and the bidirectional controls (U+200E,
 * U+200F, U+061C, U+202A..U+202E, U+2066..U+2069) as \uXXXX, a byte that is
 * not part of valid UTF-8 as \xNN.  Other text, backslashes included, is
 * copied as it is.  0, or TK_ELIMIT when b is full. */
int tk_text_escape(struct buf *b, const char *s);
int tk_text_escape_n(struct buf *b, const char *s, size_t n);

/* The escaped copy of s (NULL -> NULL); caller frees. */
char *tk_text_escaped(const char *s);

#endif
