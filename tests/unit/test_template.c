/* test_template.c: placeholders, $repeat, $if, and template errors with
 * file:line. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"

#include "buf.h"
#include "template.h"
#include "banned.h"

static char tmpdir[] = "/tmp/tk-test-template.XXXXXX";
static int counter;

static json_t *vars(void)
{
	json_error_t e;
	json_t *v = json_loads("{\"bucket\": \"b1\", \"n\": 7, \"yes\": true, \"empty\": [],"
			       " \"accounts\": [{\"id\": \"111111111111\", \"name\": \"a\"},"
			       "                {\"id\": \"222222222222\", \"name\": \"b\"}],"
			       " \"arns\": [\"x\", \"y\"], \"o\": {\"k\": {\"deep\": \"d\"}}}", 0, &e);

	assert_non_null(v);
	return v;
}

/* Render text as a template; returns the compact, sorted JSON or the error. */
static char *render(const char *text, int *rc_out)
{
	char *path = xasprintf("%s/t%d.json", tmpdir, counter++);
	struct tmpl t;
	struct errbuf err;
	json_t *out = NULL, *v = vars();
	char *res;
	int rc;

	tu_write_file(path, text, strlen(text));
	rc = tmpl_load(&t, path, &err);
	if (rc == 0) {
		rc = tmpl_render(&out, &t, v, &err);
		tmpl_release(&t);
	}
	*rc_out = rc;
	if (rc == 0) {
		res = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	} else {
		/* strip the temporary directory: "tN.json:LINE: ..." */
		const char *slash = strrchr(path, '/');
		const char *m = strstr(err.msg, slash + 1);

		res = xstrdup(m ? m : err.msg);
	}
	json_decref(out);
	json_decref(v);
	free(path);
	return res;
}

static void ok(const char *text, const char *want)
{
	int rc;
	char *got = render(text, &rc);

	if (rc != 0)
		fail_msg("render failed: %s", got);
	assert_string_equal(got, want);
	free(got);
}

static void bad(const char *text, const char *want_suffix)
{
	int rc;
	char *got = render(text, &rc);
	const char *colon = strchr(got, ':');

	assert_int_equal(rc, TK_EUSAGE);
	assert_non_null(colon);
	assert_string_equal(colon + 1, want_suffix);   /* after "tN.json:" */
	free(got);
}

static void test_placeholders(void **state)
{
	(void)state;
	ok("{\"a\": \"${bucket}\", \"b\": \"arn:aws:s3:::${bucket}/x/${n}\", \"c\": \"${n}\", \"d\": \"${yes}\"}",
	   "{\"a\":\"b1\",\"b\":\"arn:aws:s3:::b1/x/7\",\"c\":7,\"d\":true}");
	ok("{\"list\": \"${arns}\", \"deep\": \"${o.k.deep}\", \"lit\": \"$${bucket}\", \"plain\": 3}",
	   "{\"deep\":\"d\",\"list\":[\"x\",\"y\"],\"lit\":\"${bucket}\",\"plain\":3}");
}

static void test_repeat(void **state)
{
	(void)state;
	/* spliced into an array, between fixed elements */
	ok("[\"first\", {\"$repeat\": \"accounts\", \"$as\": \"a\", \"$value\": {\"Sid\": \"W${a.id}\", \"n\": \"${a.name}-${bucket}\"}}, \"last\"]",
	   "[\"first\",{\"Sid\":\"W111111111111\",\"n\":\"a-b1\"},{\"Sid\":\"W222222222222\",\"n\":\"b-b1\"},\"last\"]");
	/* as a member value: an array of strings; default name "item" */
	ok("{\"Resource\": {\"$repeat\": \"accounts\", \"$value\": \"AWSLogs/${item.id}/*\"}}",
	   "{\"Resource\":[\"AWSLogs/111111111111/*\",\"AWSLogs/222222222222/*\"]}");
	ok("{\"r\": {\"$repeat\": \"empty\", \"$value\": 1}}", "{\"r\":[]}");
	/* nested repeat sees the outer binding */
	ok("[{\"$repeat\": \"accounts\", \"$as\": \"a\", \"$value\": {\"$repeat\": \"arns\", \"$as\": \"r\", \"$value\": \"${a.name}${r}\"}}]",
	   "[[\"ax\",\"ay\"],[\"bx\",\"by\"]]");
}

static void test_if(void **state)
{
	(void)state;
	ok("[1, {\"$if\": \"empty\", \"$value\": 2}, {\"$if\": \"arns\", \"$value\": 3}, {\"$if\": \"!empty\", \"$value\": 4}]",
	   "[1,3,4]");
	ok("{\"a\": {\"$if\": \"empty\", \"$value\": 1}, \"b\": {\"$if\": \"yes\", \"$value\": \"${bucket}\"}}",
	   "{\"b\":\"b1\"}");
	ok("[{\"$repeat\": \"arns\", \"$if\": \"empty\", \"$value\": 1}]", "[]");
}

static void test_errors(void **state)
{
	(void)state;
	bad("{\n  \"a\": 1,\n  \"b\": \"${bukcet}\"\n}\n", "3: unknown placeholder '${bukcet}'");
	bad("{\n  \"a\": \"x-${o.k.nope}\"\n}\n", "2: unknown placeholder '${o.k.nope}'");
	bad("{\n  \"a\": [1,\n  2,]\n}\n", "3: bad JSON: unexpected token near ']'");
	bad("{\"a\": 1, \"a\": 2}", "1: bad JSON: duplicate object key near '\"a\"'");
	bad("\"just a string\"", "1: bad JSON: '[' or '{' expected near '\"just a string\"'");
	bad("[\n\n  {\"$repeat\": \"nolist\", \"$value\": 1}\n]", "3: \"$repeat\" over an unknown list 'nolist'");
	bad("[\n  {\"$repeat\": \"bucket\", \"$value\": 1}\n]", "2: \"$repeat\" over a value that is not a list 'bucket'");
	bad("{\n  \"$foo\": 1\n}", "2: unknown directive '$foo'");
	bad("{\n  \"a\": \"x${arns}\"\n}", "2: placeholder '${arns}' is not a string and cannot be part of 'x${arns}'");
	bad("{\"a\": \"x${unterminated\"}", "1: unterminated or empty placeholder in 'x${unterminated'");
	bad("[{\"$if\": \"nosuch\", \"$value\": 1}]", "1: \"$if\" names an unknown variable 'nosuch'");
	bad("[{\"$repeat\": \"arns\", \"$value\": 1, \"$extra\": 2}]", "1: unexpected key '$extra' in a \"$repeat\" directive");
}

/* a string whose placeholders expand past TK_TEMPLATE_MAX_BYTES is an
 * error (was: the piece that did not fit was dropped, the rest kept) */
static void test_rendered_too_long(void **state)
{
	char *path = xasprintf("%s/t%d.json", tmpdir, counter++);
	static const char text[] = "{\n  \"a\": \"x${big}${big}y\"\n}\n";
	size_t half = TK_TEMPLATE_MAX_BYTES / 2 + 1;
	char *big = xmalloc(half + 1);
	json_t *v, *out = NULL;
	struct tmpl t;
	struct errbuf err;
	int rc;

	(void)state;
	memset(big, 'b', half);
	big[half] = '\0';
	v = json_pack("{s:s}", "big", big);
	assert_non_null(v);
	tu_write_file(path, text, strlen(text));
	assert_int_equal(tmpl_load(&t, path, &err), 0);
	rc = tmpl_render(&out, &t, v, &err);
	assert_int_equal(rc, TK_EUSAGE);
	assert_null(out);
	assert_non_null(strstr(err.msg, ":2: rendered string is longer than 1048576 bytes"));
	/* one of them fits */
	json_object_set_new(v, "big", json_string(big + 2));   /* steals the new string */
	tmpl_release(&t);
	tu_write_file(path, "{\"a\": \"${big}\"}", strlen("{\"a\": \"${big}\"}"));
	assert_int_equal(tmpl_load(&t, path, &err), 0);
	assert_int_equal(tmpl_render(&out, &t, v, &err), 0);
	assert_int_equal(strlen(json_string_value(json_object_get(out, "a"))), half - 2);
	json_decref(out);
	tmpl_release(&t);
	json_decref(v);
	free(big);
	free(path);
}

static void test_missing_template(void **state)
{
	struct tmpl t;
	struct errbuf err;

	(void)state;
	assert_int_equal(tmpl_load(&t, "/nonexistent/x.json", &err), TK_EUSAGE);
	assert_string_equal(err.msg, "cannot open template '/nonexistent/x.json': No such file or directory");
}

/* every shipped template loads and every placeholder in it is known to plan:
 * covered by test_plan; here: they all parse as JSON */
static void test_shipped_parse(void **state)
{
	static const char *const names[] = { "bucket-policy.json", "kms-key-policy.json", "trail.json",
		"access-log-bucket-policy.json", "bucket-settings.json", "apply-role-policy.json",
		"verify-role-policy.json" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct tmpl t;
		struct errbuf err;
		char *p = xasprintf("templates/%s", names[i]);

		if (tmpl_load(&t, p, &err) < 0)
			fail_msg("%s", err.msg);
		tmpl_release(&t);
		free(p);
	}
}

static int setup(void **state)
{
	(void)state;
	return tu_mkdtemp(tmpdir);
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_if),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_rendered_too_long),
		cmocka_unit_test(test_missing_template),
		cmocka_unit_test(test_shipped_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
