/* test_policy.c: the IAM policy evaluator.
 * 1. Every case of the shared table tests/policy_cases.json (run from the
 *    checkout, as tests/run.sh does): decision, and the "explain" substring
 *    when a case has one.  Each failing case is reported by name.
 * 2. Hand-written tests: wildcard matcher, errors on malformed documents,
 *    limits, explanation details, context API. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "policy.h"
#include "banned.h"

#define CASES_PATH "tests/policy_cases.json"

static int run_case(const json_t *c, char *why, size_t whylen)
{
	struct policy_request req;
	struct policy_context *ctx = NULL;
	struct policy_result res;
	struct errbuf err = { "" };
	const char *expect = json_string_value(json_object_get(c, "expect"));
	const char *explain = json_string_value(json_object_get(c, "explain"));
	int want = policy_decision_from_name(expect), rc, bad = 1;

	memset(&req, 0, sizeof(req));
	if (want < 0) {
		snprintf(why, whylen, "bad expect '%s'", expect ? expect : "(none)");
		goto done;
	}
	if (policy_principal_from_json(&req.principal, json_object_get(c, "principal"), &err) ||
	    policy_context_from_json(&ctx, json_object_get(c, "context"), &err)) {
		snprintf(why, whylen, "bad case: %s", err.msg);
		goto done;
	}
	req.action = json_string_value(json_object_get(c, "action"));
	req.resource = json_string_value(json_object_get(c, "resource"));
	req.context = ctx;
	rc = policy_eval(&res, json_object_get(c, "policy"), &req, &err);
	if (rc) {
		snprintf(why, whylen, "error %d: %s", rc, err.msg);
		goto done;
	}
	if ((int)res.decision != want) {
		snprintf(why, whylen, "expected %s, got %s (%s)", expect,
		         policy_decision_name(res.decision), res.explain);
		goto done;
	}
	if (explain && !strstr(res.explain, explain)) {
		snprintf(why, whylen, "explanation \"%s\" lacks \"%s\"", res.explain, explain);
		goto done;
	}
	/* a decision always names its statement; an implicit deny names one when
	 * the policy has an Allow statement */
	if (res.decision != POLICY_IMPLICIT_DENY && res.statement < 0) {
		snprintf(why, whylen, "no deciding statement");
		goto done;
	}
	bad = 0;
done:
	policy_context_free(ctx);
	return bad;
}

static void test_case_table(void **state)
{
	json_error_t je;
	json_t *cases = json_load_file(CASES_PATH, 0, &je), *c;
	size_t i, failed = 0;
	char why[2048];

	(void)state;
	if (!cases)
		fail_msg("cannot load '%s': %s (line %d)", CASES_PATH, je.text, je.line);
	assert_true(json_is_array(cases));
	/* the table must stay big enough to mean something */
	assert_true(json_array_size(cases) >= 120);
	json_array_foreach(cases, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));

		if (run_case(c, why, sizeof(why))) {
			print_error("policy case '%s': %s\n", name ? name : "?", why);
			failed++;
		}
	}
	json_decref(cases);
	if (failed)
		fail_msg("%zu of the policy cases failed", failed);
}

/* the table itself: unique names, every decision kind present */
static void test_case_table_shape(void **state)
{
	json_t *cases = json_load_file(CASES_PATH, 0, NULL), *c, *seen = json_object();
	size_t i, n[3] = { 0, 0, 0 };

	(void)state;
	assert_non_null(cases);
	json_array_foreach(cases, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		int d = policy_decision_from_name(json_string_value(json_object_get(c, "expect")));

		assert_non_null(name);
		if (json_object_get(seen, name))
			fail_msg("duplicate case name '%s'", name);
		json_object_set_new(seen, name, json_true());
		assert_true(d >= 0);
		n[d]++;
	}
	assert_true(n[POLICY_ALLOW] >= 20);
	assert_true(n[POLICY_DENY] >= 10);
	assert_true(n[POLICY_IMPLICIT_DENY] >= 20);
	json_decref(seen);
	json_decref(cases);
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(policy_glob("*", "", 0));
	assert_true(policy_glob("", "", 0));
	assert_false(policy_glob("", "a", 0));
	assert_true(policy_glob("a*b*c", "axxbyyc", 0));
	assert_false(policy_glob("a*b*c", "axxbyy", 0));
	assert_true(policy_glob("a?c", "abc", 0));
	assert_false(policy_glob("a?c", "ac", 0));
	assert_true(policy_glob("*a", "aaa", 0));
	assert_true(policy_glob("S3:*", "s3:x", 1));
	assert_false(policy_glob("S3:*", "s3:x", 0));
	/* '?' is one character, not one byte */
	assert_true(policy_glob("caf?", "caf\xc3\xa9", 0));
	assert_false(policy_glob("caf??", "caf\xc3\xa9", 0));
	/* no exponential blow-up on a hostile pattern */
	{
		char p[2001], v[4001];
		size_t i;

		for (i = 0; i < 2000; i++)
			p[i] = i % 2 ? 'a' : '*';
		p[2000] = '\0';
		memset(v, 'a', 3999);
		v[3999] = 'b';
		v[4000] = '\0';
		assert_false(policy_glob(p, v, 0));
	}
	assert_true(policy_arn_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y"));
	assert_false(policy_arn_match("arn:aws:kms:*:1:key/*", "arn:aws:kms:us-east-1:2:key/k"));
	assert_true(policy_arn_match("*", "anything"));
}

static int eval_text(struct policy_result *res, const char *text, const char *action,
                     const char *resource, struct errbuf *err)
{
	struct policy_request req;

	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_AWS;
	req.principal.arn = "arn:aws:iam::111111111111:role/R";
	req.action = action;
	req.resource = resource;
	return policy_eval_text(res, text, strlen(text), &req, err);
}

static void expect_error(const char *text, int code, const char *msg)
{
	struct policy_result res;
	struct errbuf err = { "" };
	int rc = eval_text(&res, text, "s3:GetObject", "arn:aws:s3:::b/k", &err);

	if (rc != code || !strstr(err.msg, msg))
		fail_msg("policy %s: got %d '%s', want %d '%s'", text, rc, err.msg, code, msg);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("", TK_EUSAGE, "policy is not valid JSON");
	expect_error("{", TK_EUSAGE, "policy is not valid JSON: line 1");
	expect_error("[]", TK_EUSAGE, "policy must be a JSON object");
	expect_error("{}", TK_EUSAGE, "policy has no 'Statement'");
	expect_error("{\"Statement\": 5}", TK_EUSAGE, "'Statement' must be an object or a list");
	expect_error("{\"Statement\": [5]}", TK_EUSAGE, "statement #1 must be an object");
	expect_error("{\"Statement\": [{\"Effect\": \"allow\", \"Action\": \"*\"}]}", TK_EUSAGE,
	             "'Effect' must be \"Allow\" or \"Deny\"");
	expect_error("{\"Statement\": [{\"Sid\": \"X\", \"Effect\": \"Allow\"}]}", TK_EUSAGE,
	             "statement 'X': needs exactly one of 'Action' and 'NotAction'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"NotAction\": \"s3:*\"}]}",
	             TK_EUSAGE, "needs exactly one of 'Action' and 'NotAction'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"s3:*\", 7]}]}", TK_EUSAGE,
	             "'Action' must be a string or a list of strings");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": {}}]}",
	             TK_EUSAGE, "'Resource' must be a string or a list of strings");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Principal\": \"me\"}]}",
	             TK_EUSAGE, "'Principal' must be \"*\" or an object");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Principal\": {\"Bogus\": \"x\"}}]}",
	             TK_EUSAGE, "unknown principal type 'Bogus'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Principal\": {\"AWS\": [1]}}]}",
	             TK_EUSAGE, "must be a string or a list of strings");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Condition\": []}]}",
	             TK_EUSAGE, "'Condition' must be an object");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Condition\": {\"StringEqualz\": {}}}]}",
	             TK_EUSAGE, "unknown condition operator 'StringEqualz'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Condition\": {\"StringEquals\": \"x\"}}]}",
	             TK_EUSAGE, "condition 'StringEquals' must be an object");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Condition\": {\"StringEquals\": {\"k\": {\"a\": 1}}}}]}",
	             TK_EUSAGE, "must be a string, number, boolean or a list of them");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Condition\": {\"StringEquals\": {\"k\": [[\"a\"]]}}}]}",
	             TK_EUSAGE, "must be a string, number, boolean or a list of them");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Conditon\": {}}]}",
	             TK_EUSAGE, "unknown field 'Conditon'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"NotResource\": \"*\"}]}",
	             TK_EUSAGE, "both 'Resource' and 'NotResource'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Principal\": \"*\", \"NotPrincipal\": \"*\"}]}",
	             TK_EUSAGE, "both 'Principal' and 'NotPrincipal'");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": []}]}", TK_EUSAGE,
	             "'Action' is an empty list");
	expect_error("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Sid\": 3}]}", TK_EUSAGE,
	             "'Sid' must be a string");
	expect_error("{\"Version\": 2012, \"Statement\": []}", TK_EUSAGE, "'Version' must be a string");
	expect_error("{\"Statement\": [], \"Extra\": 1}", TK_EUSAGE, "unknown field 'Extra'");
}

static void test_limits(void **state)
{
	struct buf b = BUF_INIT_LIMIT(4 * POLICY_MAX_TEXT);
	struct policy_result res;
	struct errbuf err = { "" };
	int i;

	(void)state;
	/* too many statements */
	buf_adds(&b, "{\"Statement\": [");
	for (i = 0; i <= POLICY_MAX_STATEMENTS; i++)
		buf_addf(&b, "%s{\"Effect\":\"Allow\",\"Action\":\"a\"}", i ? "," : "");
	buf_adds(&b, "]}");
	assert_int_equal(eval_text(&res, buf_cstr(&b), "s3:GetObject", NULL, &err), TK_ELIMIT);
	assert_non_null(strstr(err.msg, "more than 1024 statements"));
	/* too much text */
	buf_reset(&b);
	buf_adds(&b, "{\"Statement\": [], \"Id\": \"");
	for (i = 0; i < POLICY_MAX_TEXT; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"}");
	assert_int_equal(eval_text(&res, buf_cstr(&b), "s3:GetObject", NULL, &err), TK_ELIMIT);
	assert_non_null(strstr(err.msg, "larger than"));
	/* a single overlong pattern */
	buf_reset(&b);
	buf_adds(&b, "{\"Statement\": [{\"Effect\":\"Allow\",\"Action\":\"");
	for (i = 0; i <= POLICY_MAX_STRING; i++)
		buf_addc(&b, '*');
	buf_adds(&b, "\"}]}");
	assert_int_equal(eval_text(&res, buf_cstr(&b), "s3:GetObject", NULL, &err), TK_ELIMIT);
	/* deep nesting is rejected by the parser or the checker, never a crash */
	buf_reset(&b);
	buf_adds(&b, "{\"Statement\": [{\"Effect\":\"Allow\",\"Action\":");
	for (i = 0; i < 5000; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 5000; i++)
		buf_addc(&b, ']');
	buf_adds(&b, "}]}");
	assert_true(eval_text(&res, buf_cstr(&b), "s3:GetObject", NULL, &err) < 0);
	buf_release(&b);
}

static void test_context_api(void **state)
{
	struct policy_context *ctx = policy_context_new();
	struct errbuf err = { "" };
	struct policy_request req;
	struct policy_result res;
	const char *pol =
		"{\"Statement\":[{\"Sid\":\"S\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\","
		"\"Condition\":{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"a\",\"b\"]},"
		"\"Null\":{\"aws:TagKeys\":\"false\"}}}]}";
	int i, rc;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.action = "x:Y";
	req.context = ctx;
	/* absent: ForAllValues is true, Null false fails */
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	assert_string_equal(res.sid, "S");
	assert_int_equal(res.statement, 0);
	assert_non_null(strstr(res.explain, "condition Null aws:TagKeys: key is absent"));
	/* touched but empty is still absent */
	assert_int_equal(policy_context_touch(ctx, "AWS:TAGKEYS", &err), 0);
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	assert_int_equal(policy_context_add(ctx, "aws:tagkeys", "a", &err), 0);
	assert_int_equal(policy_context_add(ctx, "aws:TagKeys", "b", &err), 0);
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	assert_int_equal(res.decision, POLICY_ALLOW);
	assert_int_equal(policy_context_add(ctx, "aws:TagKeys", "c", &err), 0);
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	assert_non_null(strstr(res.explain, "context value 'c' not in ['a', 'b']"));
	/* limits */
	for (i = 3, rc = 0; i < POLICY_CTX_MAX_VALUES + 1 && rc == 0; i++)
		rc = policy_context_add(ctx, "aws:TagKeys", "v", &err);
	assert_int_equal(rc, TK_ELIMIT);
	assert_non_null(strstr(err.msg, "values for condition key 'aws:TagKeys'"));
	policy_context_free(ctx);
}

static void test_context_json(void **state)
{
	struct policy_context *ctx;
	struct policy_principal pr;
	struct errbuf err = { "" };
	json_t *j;

	(void)state;
	j = json_loads("{\"a\": true, \"b\": 5, \"c\": null, \"d\": [\"x\", 1.5]}", 0, NULL);
	assert_int_equal(policy_context_from_json(&ctx, j, &err), 0);
	policy_context_free(ctx);
	json_decref(j);
	j = json_loads("{\"a\": {\"x\": 1}}", 0, NULL);
	assert_int_equal(policy_context_from_json(&ctx, j, &err), TK_EUSAGE);
	assert_null(ctx);
	assert_non_null(strstr(err.msg, "context key 'a'"));
	json_decref(j);
	j = json_loads("{\"a\": [[1]]}", 0, NULL);
	assert_int_equal(policy_context_from_json(&ctx, j, &err), TK_EUSAGE);
	json_decref(j);

	j = json_loads("{\"AWS\": \"*\"}", 0, NULL);
	assert_int_equal(policy_principal_from_json(&pr, j, &err), 0);
	assert_int_equal(pr.kind, PRINCIPAL_ANONYMOUS);
	json_decref(j);
	j = json_loads("{\"Service\": \"cloudtrail.amazonaws.com\"}", 0, NULL);
	assert_int_equal(policy_principal_from_json(&pr, j, &err), 0);
	assert_int_equal(pr.kind, PRINCIPAL_SERVICE);
	assert_string_equal(pr.arn, "cloudtrail.amazonaws.com");
	json_decref(j);
	j = json_loads("{\"Usr\": \"x\"}", 0, NULL);
	assert_int_equal(policy_principal_from_json(&pr, j, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown principal field 'Usr'"));
	json_decref(j);
}

/* hostile bytes in a policy never reach the explanation raw */
static void test_explain_escapes(void **state)
{
	struct policy_result res;
	struct errbuf err = { "" };
	const char *pol = "{\"Statement\":[{\"Sid\":\"S\",\"Effect\":\"Allow\",\"Principal\":\"*\","
	                  "\"Action\":\"s3:Get\\u001b[31m\\n'x\"}]}";
	size_t i;

	(void)state;
	assert_int_equal(eval_text(&res, pol, "s3:PutObject", "arn:aws:s3:::b", &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	for (i = 0; res.explain[i]; i++)
		assert_true(res.explain[i] >= 0x20 && res.explain[i] < 0x7f);
	assert_non_null(strstr(res.explain, "Action 's3:Get\\x1b[31m\\x0a\\x27x' does not match 's3:PutObject'"));
}

/* long value lists are shortened, the explanation stays within its buffer */
static void test_explain_long(void **state)
{
	struct buf b = BUF_INIT_LIMIT(1 << 20);
	struct policy_result res;
	struct errbuf err = { "" };
	int i;

	(void)state;
	buf_adds(&b, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\","
	             "\"Condition\":{\"StringEquals\":{\"k\":[");
	for (i = 0; i < 50; i++)
		buf_addf(&b, "%s\"%0200d\"", i ? "," : "", i);
	buf_adds(&b, "]}}}]}");
	assert_int_equal(eval_text(&res, buf_cstr(&b), "s3:GetObject", NULL, &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	assert_true(strlen(res.explain) < POLICY_EXPLAIN_LEN);
	assert_non_null(strstr(res.explain, "statement #1 matches principal, action and resource but condition StringEquals k: key is absent"));
	buf_release(&b);
}

/* an explanation longer than its 64 KiB work buffer (issue 14): cut and
 * marked, never a crash nor a text with a piece missing */
static void test_explain_over_buffer(void **state)
{
	struct buf b = BUF_INIT_LIMIT(1 << 20);
	struct policy_result res;
	struct errbuf err = { "" };
	int i, j;

	(void)state;
	buf_adds(&b, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\",\"Action\":[");
	for (i = 0; i < 8; i++) {
		buf_adds(&b, i ? ",\"" : "\"");
		for (j = 0; j < 4000; j++)
			buf_adds(&b, "\\u0001");   /* 4 bytes each once escaped */
		buf_adds(&b, "\"");
	}
	buf_adds(&b, "]}]}");
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(eval_text(&res, buf_cstr(&b), "s3:GetObject", NULL, &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	assert_int_equal(strlen(res.explain), POLICY_EXPLAIN_LEN - 1);
	assert_string_equal(res.explain + POLICY_EXPLAIN_LEN - 4, "...");
	assert_non_null(strstr(res.explain, "matches principal and resource but Action ["));
	buf_release(&b);
}

/* Date conditions read times with timeutil's parser (issue 14): offsets,
 * fractions, epoch numbers; an impossible date is no date (as the
 * reference's datetime.fromisoformat), never the next month */
static int date_allows(const char *op, const char *pv, const char *cv)
{
	struct policy_result res;
	struct errbuf err = { "" };
	struct policy_context *ctx = policy_context_new();
	struct policy_request req;
	char *pol = xasprintf("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\","
			      "\"Resource\":\"*\",\"Condition\":{\"%s\":{\"aws:CurrentTime\":\"%s\"}}}]}", op, pv);

	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_SERVICE;
	req.principal.arn = "cloudtrail.amazonaws.com";
	req.action = "s3:PutObject";
	req.resource = "arn:aws:s3:::b/k";
	req.context = ctx;
	assert_int_equal(policy_context_add(ctx, "aws:CurrentTime", cv, &err), 0);
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	policy_context_free(ctx);
	free(pol);
	return res.decision == POLICY_ALLOW;
}

static void test_date_conditions(void **state)
{
	(void)state;
	assert_true(date_allows("DateLessThan", "2024-01-01T00:00:01Z", "2024-01-01T01:00:00+01:00"));
	assert_false(date_allows("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00"));
	assert_true(date_allows("DateEquals", "2024-01-01", "1704067200"));
	assert_true(date_allows("DateGreaterThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z"));
	assert_true(date_allows("DateLessThan", " 2024-03-02 ", "2024-03-01T23:59:59-00:00"));
	/* 30 February is no date: the condition fails (was read as 1 March) */
	assert_false(date_allows("DateLessThan", "2024-02-30T00:00:00Z", "2024-02-15T00:00:00Z"));
	assert_false(date_allows("DateLessThan", "2024-03-05T00:00:00Z", "2024-02-30T00:00:00Z"));
}

/* the closest near miss: conditions passed count, and several failures */
static void test_near_miss_choice(void **state)
{
	struct policy_result res;
	struct errbuf err = { "" };
	const char *pol =
		"{\"Statement\":["
		"{\"Sid\":\"Far\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"x.amazonaws.com\"},\"Action\":\"s3:Put*\",\"Resource\":\"arn:aws:s3:::c/*\"},"
		"{\"Sid\":\"Closer\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::b/*\","
		"  \"Condition\":{\"StringEquals\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}},"
		"{\"Sid\":\"Closest\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::b/*\","
		"  \"Condition\":{\"StringEquals\":{\"a\":\"1\",\"b\":\"x\",\"c\":\"y\"}}}]}";
	struct policy_context *ctx = policy_context_new();
	struct policy_request req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_SERVICE;
	req.principal.arn = "cloudtrail.amazonaws.com";
	req.action = "s3:PutObject";
	req.resource = "arn:aws:s3:::b/k";
	req.context = ctx;
	policy_context_add(ctx, "a", "1", &err);
	policy_context_add(ctx, "b", "x", &err);
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
	assert_int_equal(res.statement, 2);
	assert_string_equal(res.sid, "Closest");
	assert_string_equal(res.explain,
		"statement 'Closest' matches principal, action and resource but condition "
		"StringEquals c: key is absent from the request context");
	/* nothing matches: every mismatch is listed */
	req.action = "kms:Decrypt";
	req.resource = "arn:aws:kms:us-east-1:1:key/k";
	assert_int_equal(policy_eval_text(&res, pol, strlen(pol), &req, &err), 0);
	assert_string_equal(res.explain,
		"statement 'Closer' matches principal but Action 's3:PutObject' does not match "
		"'kms:Decrypt'; Resource 'arn:aws:s3:::b/*' does not match 'arn:aws:kms:us-east-1:1:key/k'");
	policy_context_free(ctx);
}

/* a service principal with its request context, from text (verify's and
 * doctor's topic policy checks) */
static void test_eval_service(void **state)
{
	static const char pol[] =
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Alarms\",\"Effect\":\"Allow\","
		"\"Principal\":{\"Service\":\"cloudwatch.amazonaws.com\"},\"Action\":\"SNS:Publish\","
		"\"Resource\":\"arn:aws:sns:us-east-1:111111111111:t\",\"Condition\":{\"ArnLike\":"
		"{\"aws:SourceArn\":\"arn:aws:cloudwatch:us-east-1:111111111111:alarm:trailkeep-*\"}}}]}";
	const char *ok[] = { "aws:SourceArn", "arn:aws:cloudwatch:us-east-1:111111111111:alarm:trailkeep-x" };
	const char *other[] = { "aws:SourceArn", "arn:aws:cloudwatch:us-east-1:222222222222:alarm:trailkeep-x" };
	struct policy_result r;
	struct errbuf err;

	(void)state;
	assert_int_equal(policy_eval_service(&r, pol, "cloudwatch.amazonaws.com", "SNS:Publish",
					     "arn:aws:sns:us-east-1:111111111111:t", ok, 2, &err), 0);
	assert_int_equal(r.decision, POLICY_ALLOW);
	assert_int_equal(policy_eval_service(&r, pol, "cloudwatch.amazonaws.com", "SNS:Publish",
					     "arn:aws:sns:us-east-1:111111111111:t", other, 2, &err), 0);
	assert_int_not_equal(r.decision, POLICY_ALLOW);
	assert_int_equal(policy_eval_service(&r, pol, "events.amazonaws.com", "SNS:Publish",
					     "arn:aws:sns:us-east-1:111111111111:t", ok, 2, &err), 0);
	assert_int_not_equal(r.decision, POLICY_ALLOW);
	assert_int_not_equal(policy_eval_service(&r, "{", "cloudwatch.amazonaws.com", "SNS:Publish", NULL, ok, 2,
						 &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_table),
		cmocka_unit_test(test_case_table_shape),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_context_api),
		cmocka_unit_test(test_context_json),
		cmocka_unit_test(test_explain_escapes),
		cmocka_unit_test(test_explain_long),
		cmocka_unit_test(test_explain_over_buffer),
		cmocka_unit_test(test_date_conditions),
		cmocka_unit_test(test_near_miss_choice),
		cmocka_unit_test(test_eval_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
