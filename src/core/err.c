#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "banned.h"

int err_set(struct errbuf *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int err_prefix(struct errbuf *err, int code, const char *fmt, ...)
{
	char head[ERRBUF_LEN], old[ERRBUF_LEN], both[2 * ERRBUF_LEN + 2];
	va_list ap;

	if (!err)
		return code;
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	snprintf(both, sizeof(both), "%s: %s", head, old);
	memcpy(err->msg, both, sizeof(err->msg));
	err->msg[sizeof(err->msg) - 1] = '\0';
	return code;
}

void err_clear(struct errbuf *err)
{
	if (err)
		err->msg[0] = '\0';
}
