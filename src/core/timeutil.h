/* timeutil.h: pure time parsing/formatting (never reads the clock). */
#ifndef TK_TIMEUTIL_H
#define TK_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Time bounds.  Every time trailkeep parses is at most TK_TIME_MAX
 * (9999-12-31T23:59:59Z: what gmtime_r and the 4-digit formats hold).
 * Windows a person gives (--start, --end, --since) must also lie in
 * [TK_TIME_CLOUDTRAIL, now + TK_TIME_AHEAD]: CloudTrail did not exist before
 * 2013, and a window more than a day in the future is a typo. */
#define TK_TIME_MAX 253402300799LL
#define TK_TIME_CLOUDTRAIL 1356998400LL   /* 2013-01-01T00:00:00Z */
#define TK_TIME_AHEAD 86400LL

/* Parse "1700000000" (epoch), "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]Z",
 * "YYYYMMDDTHHMMSSZ".  All UTC.  0 or -1. */
int tk_parse_time(const char *s, time_t *out);
/* Parse a duration: "90", "90s", "15m", "1h", "7d", "2w", "1h30m".  0 or -1. */
int tk_parse_duration(const char *s, long *seconds);
/* UTC formatting into buf: "%Y-%m-%dT%H:%M:%SZ"; returns buf. */
char *tk_format_iso(time_t t, char *buf, size_t n);
/* UTC "YYYYMMDDTHHMMSSZ" (SigV4 X-Amz-Date) */
char *tk_format_amz(time_t t, char *buf, size_t n);
/* Is t a sane time for a window given at time now (see above)? */
bool tk_time_sane(time_t t, time_t now);
/* The age now - then as "42s", "5m", "3h07m", "2d04h" (negative: "0s"),
 * for any two time_t values (no overflow); returns out. */
char *tk_format_age(time_t now, time_t then, char *out, size_t n);
/* Exactly n (1..9) decimal digits at s into *out: 0 or -1. */
int tk_digits(const char *s, int n, int *out);
/* Like timegm(3), portable. */
time_t tk_timegm(const struct tm *tm);

#endif
