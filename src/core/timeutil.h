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

/* The one time parser (issue 14: timeutil, policy, sts and digest had one
 * each).  A caller names the syntaxes it accepts: */
enum {
	TK_TS_EPOCH = 1 << 0,        /* "1700000000": digits, at most TK_TIME_MAX */
	TK_TS_DATE = 1 << 1,         /* "YYYY-MM-DD" (optionally "Z") */
	TK_TS_DATE_BASIC = 1 << 2,   /* "YYYYMMDD" (so 8 digits are a date, not an epoch) */
	TK_TS_ISO = 1 << 3,          /* "YYYY-MM-DD[T ]HH:MM[:SS]" then optionally "Z" */
	TK_TS_FRAC = 1 << 4,         /* ISO seconds may have a fraction ".d+" */
	TK_TS_OFFSET = 1 << 5,       /* ISO may end in "+HH:MM", "-HHMM" instead of "Z" */
	TK_TS_COMPACT = 1 << 6,      /* "YYYYMMDDTHHMMSSZ" (SigV4 X-Amz-Date, digest names) */
	TK_TS_COMPACT_MIN = 1 << 7,  /* "YYYYMMDDTHHMMZ" (log file names) */
	TK_TS_SPACES = 1 << 8,       /* white space around it */
	TK_TS_DASHED = 1 << 9        /* "YYYY-MM-DD-HH-MM-SS" (S3 server access log names) */
};
/* what a person gives (--start, --end, --since), a digest's times, state files */
#define TK_TS_USER (TK_TS_EPOCH | TK_TS_DATE | TK_TS_DATE_BASIC | TK_TS_ISO | TK_TS_COMPACT)
/* what AWS answers (STS/credential Expiration: "2024-01-01T00:00:00.000Z",
 * "...+00:00"), and what a person gives */
#define TK_TS_AWS (TK_TS_USER | TK_TS_FRAC | TK_TS_OFFSET)

struct tk_time {
	time_t sec;      /* UTC, the offset applied */
	double frac;     /* [0, 1): the fraction of the second (TK_TS_FRAC) */
};

/* Parse the n bytes at s (no NUL needed) as one of the syntaxes in `syntax`.
 * All UTC unless an offset is given; dates are checked against the calendar
 * (month lengths, leap years; a leap second :60 is allowed); the result is at
 * most TK_TIME_MAX.  0 or -1 (out unchanged). */
int tk_time_parse(const char *s, size_t n, unsigned syntax, struct tk_time *out);
/* tk_time_parse(s, strlen(s), TK_TS_USER) in seconds.  0 or -1. */
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
