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

/* the 2-digit fields of "HH:MM[:SS]" or "HHMM[SS]" at s[*i], bounded by n */
static int field(const char *s, size_t n, size_t at, int width, int *out)
{
	return at + (size_t)width <= n ? tk_digits(s + at, width, out) : -1;
}

/* the fields of a time being parsed */
struct tfields {
	int y, mo, d, h, mi, se, oh, om, sign;
	double frac;
};

/* YYYYMMDD, or YYYYMMDDTHHMMSSZ / YYYYMMDDTHHMMZ as syn allows.  0 or -1. */
static int parse_compact(const char *s, size_t n, unsigned syn, struct tfields *f)
{
	tk_digits(s, 4, &f->y);
	tk_digits(s + 4, 2, &f->mo);
	tk_digits(s + 6, 2, &f->d);
	if (n == 8)
		return 0;
	if ((syn & TK_TS_COMPACT) && n == 16 && s[15] == 'Z')
		return field(s, n, 9, 2, &f->h) || field(s, n, 11, 2, &f->mi) || field(s, n, 13, 2, &f->se) ? -1 : 0;
	if ((syn & TK_TS_COMPACT_MIN) && n == 14 && s[13] == 'Z')
		return field(s, n, 9, 2, &f->h) || field(s, n, 11, 2, &f->mi) ? -1 : 0;
	return -1;
}

/* [T ]HH:MM[:SS[.f]] at s[*i] (after the date).  0 or -1. */
static int parse_clock(const char *s, size_t n, unsigned syn, size_t *i, struct tfields *f)
{
	if (!(syn & TK_TS_ISO) || (s[*i] != 'T' && s[*i] != ' ') || field(s, n, *i + 1, 2, &f->h) ||
	    *i + 3 >= n || s[*i + 3] != ':' || field(s, n, *i + 4, 2, &f->mi))
		return -1;
	*i += 6;
	if (*i < n && s[*i] == ':') {
		if (field(s, n, *i + 1, 2, &f->se))
			return -1;
		*i += 3;
		if ((syn & TK_TS_FRAC) && *i + 1 < n && s[*i] == '.' && isdigit((unsigned char)s[*i + 1])) {
			double scale = 0.1;

			for (++*i; *i < n && isdigit((unsigned char)s[*i]); ++*i, scale /= 10)
				f->frac += (s[*i] - '0') * scale;
		}
	}
	return 0;
}

/* Z, or +HH[:]MM / -HH[:]MM when syn allows offsets, at s[*i].  0 or -1. */
static int parse_zone(const char *s, size_t n, unsigned syn, size_t *i, struct tfields *f)
{
	if (*i < n && s[*i] == 'Z') {
		++*i;
	} else if (*i < n && (s[*i] == '+' || s[*i] == '-') && (syn & TK_TS_OFFSET)) {
		f->sign = s[*i] == '-' ? -1 : 1;
		if (field(s, n, *i + 1, 2, &f->oh))
			return -1;
		*i += 3;
		if (*i < n && s[*i] == ':')
			++*i;
		if (field(s, n, *i, 2, &f->om))
			return -1;
		*i += 2;
		if (f->oh > 23 || f->om > 59)
			return -1;
	}
	return 0;
}

/* YYYY-MM-DD[[T ]HH:MM[:SS[.f]]][Z|+HH:MM], or YYYY-MM-DD-HH-MM-SS, as syn
 * allows.  0 or -1. */
static int parse_dashed(const char *s, size_t n, unsigned syn, struct tfields *f)
{
	size_t i;

	if (!(syn & (TK_TS_DATE | TK_TS_ISO | TK_TS_DASHED)) || n < 10 || tk_digits(s, 4, &f->y) ||
	    s[4] != '-' || tk_digits(s + 5, 2, &f->mo) || s[7] != '-' || tk_digits(s + 8, 2, &f->d))
		return -1;
	if ((syn & TK_TS_DASHED) && n == 19 && s[10] == '-')   /* YYYY-MM-DD-HH-MM-SS */
		return field(s, n, 11, 2, &f->h) || s[13] != '-' || field(s, n, 14, 2, &f->mi) || s[16] != '-' ||
		       field(s, n, 17, 2, &f->se) ? -1 : 0;
	i = 10;
	if (i == n || s[i] == 'Z' || s[i] == '+' || s[i] == '-') {
		if (!(syn & TK_TS_DATE))
			return -1;
	} else if (parse_clock(s, n, syn, &i, f)) {
		return -1;
	}
	if (parse_zone(s, n, syn, &i, f))
		return -1;
	return i == n ? 0 : -1;
}

int tk_time_parse(const char *s, size_t n, unsigned syn, struct tk_time *out)
{
	struct tfields f;
	size_t i, ndig;
	struct tm tm;
	long long t;
	int rc;

	memset(&f, 0, sizeof(f));
	if (syn & TK_TS_SPACES) {
		while (n && isspace((unsigned char)s[0]))
			s++, n--;
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
	}
	if (!n)
		return -1;
	for (ndig = 0; ndig < n && isdigit((unsigned char)s[ndig]); ndig++)
		;
	if (ndig == n && (syn & TK_TS_EPOCH) && !(n == 8 && (syn & TK_TS_DATE_BASIC))) {
		long long v = 0;

		for (i = 0; i < n; i++) {
			v = v * 10 + (s[i] - '0');
			if (v > TK_TIME_MAX)
				return -1;
		}
		out->sec = (time_t)v;
		out->frac = 0;
		return 0;
	}
	if (ndig == 8 && ((n == 8 && (syn & TK_TS_DATE_BASIC)) || (n > 8 && s[8] == 'T')))
		rc = parse_compact(s, n, syn, &f);   /* YYYYMMDD, YYYYMMDDTHHMM[SS]Z */
	else
		rc = parse_dashed(s, n, syn, &f);
	if (rc)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f.y - 1900;
	tm.tm_mon = f.mo - 1;
	tm.tm_mday = f.d;
	tm.tm_hour = f.h;
	tm.tm_min = f.mi;
	tm.tm_sec = f.se;
	if (valid_tm(&tm))
		return -1;
	t = (long long)tk_timegm(&tm) - f.sign * (f.oh * 3600LL + f.om * 60LL);
	if (t > TK_TIME_MAX)
		return -1;
	out->sec = (time_t)t;
	out->frac = f.frac;
	return 0;
}

int tk_parse_time(const char *s, time_t *out)
{
	struct tk_time t;

	if (tk_time_parse(s, strlen(s), TK_TS_USER, &t))
		return -1;
	*out = t.sec;
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
