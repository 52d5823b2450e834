/* timeutil.h: pure time parsing/formatting (never reads the clock). */
#ifndef TK_TIMEUTIL_H
#define TK_TIMEUTIL_H

#include <stddef.h>
#include <time.h>

/* Parse "1700000000" (epoch), "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]Z",
 * "YYYYMMDDTHHMMSSZ".  All UTC.  0 or -1. */
int tk_parse_time(const char *s, time_t *out);
/* Parse a duration: "90", "90s", "15m", "1h", "7d", "2w", "1h30m".  0 or -1. */
int tk_parse_duration(const char *s, long *seconds);
/* UTC formatting into buf: "%Y-%m-%dT%H:%M:%SZ"; returns buf. */
char *tk_format_iso(time_t t, char *buf, size_t n);
/* UTC "YYYYMMDDTHHMMSSZ" (SigV4 X-Amz-Date) */
char *tk_format_amz(time_t t, char *buf, size_t n);
/* Exactly n decimal digits at s into *out: 0 or -1. */
int tk_digits(const char *s, int n, int *out);
/* Like timegm(3), portable. */
time_t tk_timegm(const struct tm *tm);

#endif
