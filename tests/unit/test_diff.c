/* test_diff.c: the unified line diff and policy normalisation (diff.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "buf.h"
#include "diff.h"
#include "banned.h"

static char *udiff(const char *a, const char *b, int ctx, int *rc)
{
	struct buf out = BUF_INIT_LIMIT(1 << 20);

	*rc = diff_unified(&out, a, b, "a", "b", ctx);
	return buf_detach(&out);
}

static void test_equal(void **state)
{
	int rc;
	char *d = udiff("x\ny\n", "x\ny\n", 3, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(d, "");
	free(d);
	d = udiff("", NULL, 3, &rc);
	assert_int_equal(rc, 0);
	free(d);
}

static void test_change_middle(void **state)
{
	int rc;
	char *d = udiff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", 3, &rc);

	(void)state;
	assert_int_equal(rc, 1);
	assert_string_equal(d, "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
	free(d);
}

static void test_insert_delete(void **state)
{
	int rc;
	char *d;

	(void)state;
	/* from nothing: GNU diff's "-0,0" */
	d = udiff("", "a\nb\n", 3, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(d, "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n");
	free(d);
	/* everything removed */
	d = udiff("a\n", "", 3, &rc);
	assert_string_equal(d, "--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n");
	free(d);
	/* insertion in the middle, no context */
	d = udiff("a\nb\n", "a\nx\nb\n", 0, &rc);
	assert_string_equal(d, "--- a\n+++ b\n@@ -1,0 +2 @@\n+x\n");
	free(d);
	/* a last line without newline counts */
	d = udiff("a\nb", "a\nc", 1, &rc);
	assert_string_equal(d, "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
	free(d);
}

static void test_two_hunks(void **state)
{
	int rc;
	char *d = udiff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "x\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ny\n", 1, &rc);

	(void)state;
	assert_int_equal(rc, 1);
	assert_string_equal(d, "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-1\n+x\n 2\n@@ -11,2 +11,2 @@\n 11\n-12\n+y\n");
	free(d);
	/* changes 2*ctx lines apart share one hunk */
	d = udiff("1\n2\n3\n4\n", "x\n2\n3\ny\n", 1, &rc);
	assert_string_equal(d, "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n-4\n+y\n");
	free(d);
}

static void test_lcs_quality(void **state)
{
	int rc;
	/* a moved block: the LCS keeps the longest common run */
	char *d = udiff("a\nb\nc\nd\ne\n", "c\nd\ne\na\nb\n", 0, &rc);

	(void)state;
	assert_string_equal(d, "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-a\n-b\n@@ -5,0 +4,2 @@\n+a\n+b\n");
	free(d);
}

static void test_limit(void **state)
{
	struct buf out = BUF_INIT_LIMIT(16);

	(void)state;
	assert_int_equal(diff_unified(&out, "a\n", "b\n", "long-name-a", "long-name-b", 3), TK_ELIMIT);
	buf_release(&out);
}

static json_t *js(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	assert_non_null(j);
	return j;
}

static void test_policy_equal(void **state)
{
	json_t *a = js("{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"X\",\"Effect\":\"Allow\","
		       "\"Principal\":{\"AWS\":[\"arn:aws:iam::1:root\"]},\"Action\":[\"s3:B\",\"s3:A\"],"
		       "\"Resource\":\"r\",\"Condition\":{\"StringEquals\":{\"k\":[\"v\"]}}}}");
	json_t *b = js("{\"Statement\":[{\"Action\":[\"s3:A\",\"s3:B\",\"s3:A\"],\"Condition\":{\"StringEquals\":"
		       "{\"k\":\"v\"}},\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::1:root\"},"
		       "\"Resource\":[\"r\"],\"Sid\":\"X\"}],\"Version\":\"2012-10-17\"}");
	json_t *c = js("{\"Statement\":[{\"Action\":[\"s3:A\",\"s3:B\"],\"Effect\":\"Deny\","
		       "\"Principal\":{\"AWS\":\"arn:aws:iam::1:root\"},\"Resource\":\"r\",\"Sid\":\"X\"}],"
		       "\"Version\":\"2012-10-17\"}");
	char *ta, *tb;

	(void)state;
	assert_true(diff_policy_equal(a, b));
	assert_false(diff_policy_equal(a, c));
	assert_false(diff_policy_equal(a, NULL));
	ta = diff_json_text(a, true);
	tb = diff_json_text(b, true);
	assert_string_equal(ta, tb);
	assert_non_null(strstr(ta, "\"Action\": [\n        \"s3:A\",\n        \"s3:B\"\n      ]"));
	assert_non_null(strstr(ta, "\"Resource\": \"r\""));
	free(ta);
	free(tb);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_policy_order_matters(void **state)
{
	/* statement order is kept (not sorted): a reordering is a difference */
	json_t *a = js("{\"Statement\":[{\"Sid\":\"A\"},{\"Sid\":\"B\"}]}");
	json_t *b = js("{\"Statement\":[{\"Sid\":\"B\"},{\"Sid\":\"A\"}]}");

	(void)state;
	assert_false(diff_policy_equal(a, b));
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_change_middle),
		cmocka_unit_test(test_insert_delete),
		cmocka_unit_test(test_two_hunks),
		cmocka_unit_test(test_lcs_quality),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_policy_equal),
		cmocka_unit_test(test_policy_order_matters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
