/* err.h: the one error model of trailkeep's library code.
 *
 * Library functions return 0 on success or a negative enum tk_err value.
 * The lowest layer that knows the context writes a message into a
 * caller-owned struct errbuf; callers pass the code up unchanged and never
 * overwrite the message; the command layer prints it exactly once as
 *   trailkeep: CMD: MESSAGE
 * Messages are lower case, no trailing full stop, subject in single quotes,
 * file:line for INI/template problems.  Never put a secret in a message.
 */
#ifndef TK_ERR_H
#define TK_ERR_H

#include <stddef.h>

enum tk_err {
	TK_OK = 0,
	TK_EFAIL = -1,       /* anything without a more useful code */
	TK_EUSAGE = -2,      /* bad input from the user: config, template, argv */
	TK_ENOTFOUND = -3,   /* the thing asked for does not exist */
	TK_EAUTH = -4,       /* credentials missing/rejected, access denied */
	TK_ETAMPERED = -5,   /* integrity check failed */
	TK_ENET = -6,        /* network / transport failure after retries */
	TK_ELIMIT = -7       /* a size limit was exceeded */
};

#define ERRBUF_LEN 1024

struct errbuf {
	char msg[ERRBUF_LEN];
};

#if defined(__GNUC__)
#define TK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TK_PRINTF(a, b)
#endif

/* Write a message into err (if err is not NULL) and return code. */
int err_set(struct errbuf *err, int code, const char *fmt, ...) TK_PRINTF(3, 4);
/* Prefix the existing message: "prefix: old message". Returns code. */
int err_prefix(struct errbuf *err, int code, const char *fmt, ...) TK_PRINTF(3, 4);
void err_clear(struct errbuf *err);

#endif
