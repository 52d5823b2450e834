#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "banned.h"

static int is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

time_t tk_timegm(const struct tm *tm)
{
	static const int cum[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	long y = tm->tm_year + 1900L, days;
	long long t;

	days = (y - 1970) * 365L + ((y - 1) / 4 - 1969 / 4) - ((y - 1) / 100 - 1969 / 100)
	       + ((y - 1) / 400 - 1969 / 400);
	days += cum[tm->tm_mon % 12];
	if (tm->tm_mon > 1 && is_leap(y))
		days++;
	days += tm->tm_mday - 1;
	t = (long long)days * 86400 + tm->tm_hour * 3600L + tm->tm_min * 60L + tm->tm_sec;
	return (time_t)t;
}

int tk_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	/* at most 9 digits: the value always fits an int */
	if (n < 1 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int valid_tm(const struct tm *tm)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1 ||
	    tm->tm_mday > mdays[tm->tm_mon] || tm->tm_hour > 23 || tm->tm_min > 59 ||
	    tm->tm_sec > 60)
		return -1;
	if (tm->tm_mon == 1 && tm->tm_mday == 29 && !is_leap(tm->tm_year + 1900L))
		return -1;
	return 0;
}

int tk_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0;
	size_t n = strlen(s), i;
	int all_digits = n > 0;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			all_digits = 0;
	if (all_digits && n != 8) {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end || v < 0 || v > TK_TIME_MAX)
			return -1;
		*out = (time_t)v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (n == 16 && s[8] == 'T' && s[15] == 'Z') {   /* YYYYMMDDTHHMMSSZ */
		if (tk_digits(s, 4, &y) || tk_digits(s + 4, 2, &mo) || tk_digits(s + 6, 2, &d) ||
		    tk_digits(s + 9, 2, &h) || tk_digits(s + 11, 2, &mi) || tk_digits(s + 13, 2, &se))
			return -1;
	} else if (n >= 10 && s[4] == '-' && s[7] == '-') {
		if (tk_digits(s, 4, &y) || tk_digits(s + 5, 2, &mo) || tk_digits(s + 8, 2, &d))
			return -1;
		if (n == 10 || (n == 11 && s[10] == 'Z')) {
			/* date only */
		} else if ((n == 17 && s[16] == 'Z') || (n == 20 && s[19] == 'Z') || n == 16 || n == 19) {
			if ((s[10] != 'T' && s[10] != ' ') || s[13] != ':')
				return -1;
			if (tk_digits(s + 11, 2, &h) || tk_digits(s + 14, 2, &mi))
				return -1;
			if (n >= 19) {
				if (s[16] != ':' || tk_digits(s + 17, 2, &se))
					return -1;
			}
		} else {
			return -1;
		}
	} else if (n == 8) {   /* YYYYMMDD */
		if (tk_digits(s, 4, &y) || tk_digits(s + 4, 2, &mo) || tk_digits(s + 6, 2, &d))
			return -1;
	} else {
		return -1;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if (valid_tm(&tm))
		return -1;
	*out = tk_timegm(&tm);
	return 0;
}

int tk_parse_duration(const char *s, long *seconds)
{
	long total = 0;
	int any = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		long v, mult;

		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || v < 0)
			return -1;
		switch (*end) {
		case '\0': mult = 1; break;
		case 's': mult = 1; end++; break;
		case 'm': mult = 60; end++; break;
		case 'h': mult = 3600; end++; break;
		case 'd': mult = 86400; end++; break;
		case 'w': mult = 604800; end++; break;
		default: return -1;
		}
		if (v > LONG_MAX / mult || total > LONG_MAX - v * mult)
			return -1;
		total += v * mult;
		any = 1;
		s = end;
	}
	if (!any)
		return -1;
	*seconds = total;
	return 0;
}

/* t in UTC, ISO-8601 or compact; a time gmtime_r cannot convert gives
 * "invalid-time" */
static char *format_utc(time_t t, bool iso, char *buf, size_t n)
{
	struct tm tm;
	int w;

	if (!n)
		return buf;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, n, "invalid-time");
		return buf;
	}
	if (iso)
		w = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		w = snprintf(buf, n, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (w < 0 || (size_t)w >= n)
		buf[0] = '\0';   /* as strftime: nothing when it does not fit */
	return buf;
}

char *tk_format_iso(time_t t, char *buf, size_t n)
{
	return format_utc(t, true, buf, n);
}

char *tk_format_amz(time_t t, char *buf, size_t n)
{
	return format_utc(t, false, buf, n);
}

bool tk_time_sane(time_t t, time_t now)
{
	return t >= TK_TIME_CLOUDTRAIL && t <= TK_TIME_MAX &&
	       (now > TK_TIME_MAX - TK_TIME_AHEAD || t <= now + TK_TIME_AHEAD);
}

char *tk_format_age(time_t now, time_t then, char *out, size_t n)
{
	long long s;

	/* in long long without overflow: hostile input may hold any time_t */
	if ((then > 0 && now < LLONG_MIN + then) || (then < 0 && now > LLONG_MAX + then))
		s = then > 0 ? -1 : LLONG_MAX;
	else
		s = (long long)now - (long long)then;
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, n, "%llds", s);
	else if (s < 3600)
		snprintf(out, n, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(out, n, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, n, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
	return out;
}
