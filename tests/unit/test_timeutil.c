/* test_timeutil.c: time parsing bounds, overflow-free digit and age helpers,
 * and their users (policy CIDR bits, the digest start marker) on hostile
 * values (issue 13 items 8 and 11). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "digest.h"
#include "policy.h"
#include "sts.h"
#include "timeutil.h"
#include "banned.h"

static void test_digits_bounded(void **state)
{
	int v = -7;

	(void)state;
	assert_int_equal(tk_digits("2024", 4, &v), 0);
	assert_int_equal(v, 2024);
	assert_int_equal(tk_digits("999999999", 9, &v), 0);
	assert_int_equal(v, 999999999);
	/* more digits than an int holds: refused, never an overflow */
	v = -7;
	assert_int_equal(tk_digits("30013788891", 11, &v), -1);
	assert_int_equal(v, -7);
	assert_int_equal(tk_digits("1234567890", 10, &v), -1);
	assert_int_equal(tk_digits("1", 0, &v), -1);
	assert_int_equal(tk_digits("1", -1, &v), -1);
	assert_int_equal(tk_digits("1a", 2, &v), -1);
}

static void test_parse_time_max(void **state)
{
	time_t t = 0;

	(void)state;
	assert_int_equal(tk_parse_time("253402300799", &t), 0);
	assert_true(t == (time_t)TK_TIME_MAX);
	/* beyond 9999-12-31: refused (gmtime_r / formats cannot hold it) */
	assert_int_equal(tk_parse_time("253402300800", &t), -1);
	assert_int_equal(tk_parse_time("100000000000000000", &t), -1);
	assert_int_equal(tk_parse_time("99999999999999999999999", &t), -1);
}

/* the one parser (tk_time_parse) with each caller's syntaxes */
static time_t ts(const char *s, unsigned syn)
{
	struct tk_time t = { -7, -1 };

	if (tk_time_parse(s, strlen(s), syn, &t))
		return -7;
	return t.sec;
}

static void test_parse_user(void **state)
{
	time_t t = 0;

	(void)state;
	/* --start/--end/--since, digest times, state files: tk_parse_time */
	assert_int_equal(tk_parse_time("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(tk_parse_time("2024-01-01", &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(tk_parse_time("2024-01-01Z", &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(tk_parse_time("20240101", &t), 0);   /* 8 digits: a date */
	assert_int_equal(t, 1704067200);
	assert_int_equal(tk_parse_time("2024-01-01T10:20", &t), 0);
	assert_int_equal(t, 1704067200 + 10 * 3600 + 20 * 60);
	assert_int_equal(tk_parse_time("2024-01-01T10:20Z", &t), 0);
	assert_int_equal(t, 1704067200 + 10 * 3600 + 20 * 60);
	assert_int_equal(tk_parse_time("2024-01-01 10:20:30", &t), 0);
	assert_int_equal(t, 1704067200 + 10 * 3600 + 20 * 60 + 30);
	assert_int_equal(tk_parse_time("2024-01-01T10:20:30Z", &t), 0);
	assert_int_equal(t, 1704067200 + 10 * 3600 + 20 * 60 + 30);
	assert_int_equal(tk_parse_time("20240101T102030Z", &t), 0);   /* X-Amz-Date */
	assert_int_equal(t, 1704067200 + 10 * 3600 + 20 * 60 + 30);
	assert_int_equal(tk_parse_time("2024-02-29", &t), 0);
	assert_int_equal(t, 1709164800);
	t = 5;
	assert_int_equal(tk_parse_time("", &t), -1);
	assert_int_equal(tk_parse_time("2023-02-29", &t), -1);       /* not a leap year */
	assert_int_equal(tk_parse_time("2024-04-31", &t), -1);
	assert_int_equal(tk_parse_time("2024-13-01", &t), -1);
	assert_int_equal(tk_parse_time("2024-01-01T24:00", &t), -1);
	assert_int_equal(tk_parse_time("2024-01-01T10:20:30.5Z", &t), -1);   /* no fraction */
	assert_int_equal(tk_parse_time("2024-01-01T10:20:30+01:00", &t), -1); /* no offset */
	assert_int_equal(tk_parse_time("2024-01-01X", &t), -1);
	assert_int_equal(tk_parse_time("2024-01-01T10", &t), -1);
	assert_int_equal(tk_parse_time(" 2024-01-01", &t), -1);
	assert_int_equal(tk_parse_time("20240101T1020Z", &t), -1);   /* minutes-only compact: names only */
	assert_int_equal(tk_parse_time("-1", &t), -1);
	assert_int_equal(t, 5);
}

static void test_parse_aws(void **state)
{
	time_t t = 0;

	(void)state;
	/* STS / container / process credentials' Expiration: sts_parse_time */
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00.999Z", &t), 0);   /* fraction dropped */
	assert_int_equal(t, 1704067200);
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00+00:00", &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00.5+00:00", &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(sts_parse_time("2024-01-01T02:00:00+02:00", &t), 0);   /* the offset is applied */
	assert_int_equal(t, 1704067200);
	assert_int_equal(sts_parse_time("2023-12-31T23:00:00-0100", &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00+24:00", &t), -1);
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00.Z", &t), -1);
	assert_int_equal(sts_parse_time("2024-01-01T00:00:00Z ", &t), -1);
	assert_int_equal(sts_parse_time("9999-12-31T23:59:59-01:00", &t), -1);   /* past TK_TIME_MAX */
}

static void test_parse_names(void **state)
{
	time_t t = 0;
	int bf = -1;
	const struct digest_loc loc = { NULL, NULL, "111111111111", "eu-west-1", "org-trail", "eu-west-1" };

	(void)state;
	/* digest and log file names: YYYYMMDDTHHMMSSZ and YYYYMMDDTHHMMZ, not NUL-terminated */
	assert_int_equal(ts("20240101T0000Z", TK_TS_COMPACT_MIN), 1704067200);
	assert_int_equal(ts("20240101T000000Z", TK_TS_COMPACT_MIN), -7);
	assert_int_equal(ts("20240101T0000Z", TK_TS_COMPACT), -7);
	assert_int_equal(digest_key_time("AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2024/01/01/"
					 "111111111111_CloudTrail-Digest_eu-west-1_org-trail_eu-west-1_"
					 "20240101T010203Z.json.gz", &t, &bf), 0);
	assert_int_equal(t, 1704067200 + 3723);
	assert_int_equal(bf, 0);
	assert_int_equal(digest_key_time("AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2024/02/30/"
					 "111111111111_CloudTrail-Digest_eu-west-1_org-trail_eu-west-1_"
					 "20240230T010203Z.json.gz", &t, &bf), -1);   /* no 30 February */
	assert_int_equal(log_key_time(&loc, "AWSLogs/111111111111/CloudTrail/eu-west-1/2024/01/01/"
				      "111111111111_CloudTrail_eu-west-1_20240101T0105Z_abcdefABCDEF0123.json.gz",
				      &t), 0);
	assert_int_equal(t, 1704067200 + 3900);
}

static void test_parse_policy_syntax(void **state)
{
	const unsigned pol = TK_TS_DATE | TK_TS_ISO | TK_TS_FRAC | TK_TS_OFFSET | TK_TS_SPACES;
	struct tk_time t;

	(void)state;
	/* IAM Date conditions (policy.c): no epoch (numbers are read as numbers) */
	assert_int_equal(ts(" 2024-01-01T00:00:00Z ", pol), 1704067200);
	assert_int_equal(ts("2024-01-01T01:00+01:00", pol), 1704067200);
	assert_int_equal(ts("2024-01-01", pol), 1704067200);
	assert_int_equal(ts("1704067200", pol), -7);
	assert_int_equal(tk_time_parse("2024-01-01T00:00:00.25Z", 23, pol, &t), 0);
	assert_int_equal(t.sec, 1704067200);
	assert_true(t.frac > 0.249 && t.frac < 0.251);
	assert_int_equal(ts("2024-02-30T00:00:00Z", pol), -7);
}

static void test_time_sane(void **state)
{
	time_t now = 1767225600;   /* 2026-01-01 */

	(void)state;
	assert_true(tk_time_sane(TK_TIME_CLOUDTRAIL, now));
	assert_true(tk_time_sane(now, now));
	assert_true(tk_time_sane(now + 86400, now));
	assert_false(tk_time_sane(TK_TIME_CLOUDTRAIL - 1, now));
	assert_false(tk_time_sane(0, now));
	assert_false(tk_time_sane(-5, now));
	assert_false(tk_time_sane(now + 86401, now));
	assert_false(tk_time_sane((time_t)TK_TIME_MAX + 1, now));
}

static void test_format_bad_time(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(tk_format_iso(0, b, sizeof(b)), "1970-01-01T00:00:00Z");
	assert_string_equal(tk_format_amz(1700000000, b, sizeof(b)), "20231114T221320Z");
	/* gmtime_r cannot convert it: a marker, never uninitialised bytes */
	assert_string_equal(tk_format_iso((time_t)INT64_MAX, b, sizeof(b)), "invalid-time");
	assert_string_equal(tk_format_amz((time_t)INT64_MIN, b, sizeof(b)), "invalid-time");
}

static void test_format_age(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(tk_format_age(100, 58, b, sizeof(b)), "42s");
	assert_string_equal(tk_format_age(1000, 700, b, sizeof(b)), "5m");
	assert_string_equal(tk_format_age(3 * 3600 + 7 * 60, 0, b, sizeof(b)), "3h07m");
	assert_string_equal(tk_format_age(2 * 86400 + 4 * 3600, 0, b, sizeof(b)), "2d04h");
	assert_string_equal(tk_format_age(0, 100, b, sizeof(b)), "0s");
	/* hostile --merge input: no signed overflow (UBSan), a huge age, not fresh */
	tk_format_age(1767225600, (time_t)INT64_MIN, b, sizeof(b));
	assert_true(strlen(b) > 10 && b[strlen(b) - 1] == 'h');
	assert_string_equal(tk_format_age((time_t)INT64_MIN, (time_t)INT64_MAX, b, sizeof(b)), "0s");
}

/* ip_match on a CIDR with a long bit count: no match, no overflow */
static void test_cidr_bits_overflow(void **state)
{
	static const char *const bits[] = { "30013788891", "99999999999999999999", "33", "032", "" };
	struct policy_context *ctx = policy_context_new();
	struct policy_request req;
	struct policy_result res;
	struct errbuf err;
	char doc[512];
	size_t i;

	(void)state;
	policy_context_add(ctx, "aws:SourceIp", "10.0.0.1", &err);
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_ANONYMOUS;
	req.action = "s3:GetObject";
	req.resource = "arn:aws:s3:::b/k";
	req.context = ctx;
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
			 "\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":{\"IpAddress\":"
			 "{\"aws:SourceIp\":\"10.0.0.0/%s\"}}}]}", bits[i]);
		assert_int_equal(policy_eval_text(&res, doc, strlen(doc), &req, &err), 0);
		assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	}
	/* a sane CIDR still matches */
	snprintf(doc, sizeof(doc),
		 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
		 "\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":{\"IpAddress\":"
		 "{\"aws:SourceIp\":\"10.0.0.0/30\"}}}]}");
	assert_int_equal(policy_eval_text(&res, doc, strlen(doc), &req, &err), 0);
	assert_int_equal(res.decision, POLICY_ALLOW);
	policy_context_free(ctx);
}

/* digest_start_marker at the edges of time: a well-formed key, no
 * uninitialised read (valgrind/MSan) when gmtime_r fails */
/* S3 server access log names: "YYYY-MM-DD-HH-MM-SS" (TK_TS_DASHED only) */
static void test_dashed(void **state)
{
	struct tk_time t;

	(void)state;
	assert_int_equal(tk_time_parse("2026-01-02-03-04-05", 19, TK_TS_DASHED, &t), 0);
	assert_int_equal((long long)t.sec, 1767323045LL);
	assert_int_equal(tk_time_parse("2026-02-30-03-04-05", 19, TK_TS_DASHED, &t), -1);   /* no 30 February */
	assert_int_equal(tk_time_parse("2026-01-02-24-04-05", 19, TK_TS_DASHED, &t), -1);
	assert_int_equal(tk_time_parse("2026-01-02T03:04:05", 19, TK_TS_DASHED, &t), -1);
	assert_int_equal(tk_time_parse("2026-01-02-03-04-05", 19, TK_TS_USER, &t), -1);    /* not a user syntax */
}

static void test_start_marker_extreme(void **state)
{
	struct digest_loc loc;
	char *m;

	(void)state;
	memset(&loc, 0, sizeof(loc));
	loc.account = "111111111111";
	loc.region = "us-east-1";
	loc.trail = "t";
	loc.home_region = "us-east-1";
	assert_int_equal(digest_start_marker(&m, &loc, (time_t)INT64_MAX), 0);
	assert_non_null(m);
	assert_non_null(strstr(m, "_19700101T000000Z.json.gz"));
	free(m);
	assert_int_equal(digest_start_marker(&m, &loc, 1704067260), 0);   /* 2024-01-01T00:01:00Z, minus 60 s */
	assert_non_null(strstr(m, "/2024/01/01/"));
	assert_non_null(strstr(m, "_20240101T000000Z.json.gz"));
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digits_bounded),
		cmocka_unit_test(test_parse_time_max),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_aws),
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_parse_policy_syntax),
		cmocka_unit_test(test_time_sane),
		cmocka_unit_test(test_format_bad_time),
		cmocka_unit_test(test_format_age),
		cmocka_unit_test(test_cidr_bits_overflow),
		cmocka_unit_test(test_start_marker_extreme),
		cmocka_unit_test(test_dashed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
