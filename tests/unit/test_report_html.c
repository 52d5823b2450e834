/* report_html: the page of a verify --json document (README "report"):
 * markup in any string stays text, documents verify never writes are
 * refused, the grid and groups are built from the document. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report_html.h"
#include "banned.h"

static const char good[] =
	"{\"version\": 1, \"run\": {\"config\": \"org.ini\", \"time\": 1767236400,"
	" \"window\": {\"start\": 1767150000, \"end\": 1767236400}},"
	" \"findings\": [{\"code\": \"log_missing\", \"severity\": \"error\", \"account\": \"333333333333\","
	"  \"region\": \"eu-west-1\", \"bucket\": \"b\", \"key\": \"k<script>x</script>\","
	"  \"message\": \"m\\\" onmouseover=\\\"x\", \"hint\": \"h&h\"},"
	"  {\"code\": \"account_unconfigured\", \"severity\": \"warning\", \"account\": \"555555555555\","
	"  \"region\": null, \"bucket\": null, \"key\": null, \"message\": \"w\\u001b[31m\\u202e\", \"hint\": null}],"
	" \"cells\": [{\"account\": \"333333333333\", \"region\": \"eu-west-1\", \"newest_delivery\": 1767232800,"
	"  \"digests_checked\": 1, \"logs_checked\": 2, \"findings\": 1, \"status\": \"findings\"},"
	"  {\"account\": \"444444444444\", \"region\": \"us-east-1\", \"newest_delivery\": null,"
	"  \"digests_checked\": 0, \"logs_checked\": 0, \"findings\": 0, \"status\": \"unchecked\"}]}";

static int render(const char *text, struct buf *out, struct errbuf *err)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	struct report_html_opts o = { 1767240000, "in.json" };
	int rc;

	assert_non_null(doc);
	buf_init(out, 1u << 20);
	err_clear(err);
	rc = report_html_render(doc, &o, out, err);
	json_decref(doc);
	return rc;
}

static void test_page(void **state)
{
	struct buf b;
	struct errbuf err;
	const char *p;

	(void)state;
	assert_int_equal(render(good, &b, &err), 0);
	p = buf_cstr(&b);
	/* markup from the document is text; no event handler attribute */
	assert_null(strstr(p, "<script"));
	assert_non_null(strstr(p, "k&lt;script&gt;x&lt;/script&gt;"));
	assert_non_null(strstr(p, "m&quot; onmouseover=&quot;x"));
	assert_null(strstr(p, "\" onmouseover"));
	assert_non_null(strstr(p, "h&amp;h"));
	/* control and bidi characters as visible escapes */
	assert_null(strchr(p, 0x1b));
	assert_non_null(strstr(p, "w\\x1b[31m\\u202e"));
	/* grid: 2 accounts x 2 regions, 2 cells and 2 empty places */
	assert_non_null(strstr(p, "<td class=\"cell status-findings worst-error\" data-account=\"333333333333\" "
			       "data-region=\"eu-west-1\" data-status=\"findings\"><a href=\"#g0\">"));
	assert_non_null(strstr(p, "<td class=\"cell status-unchecked\" data-account=\"444444444444\""));
	assert_non_null(strstr(p, "newest 1h00m"));   /* run time - newest_delivery */
	assert_non_null(strstr(p, "no delivery"));
	assert_non_null(strstr(p, "<td class=\"nocell\">-</td><td class=\"cell status-unchecked\""));
	/* run */
	assert_non_null(strstr(p, "<dd id=\"run-time\">2026-01-01T03:00:00Z</dd>"));
	assert_non_null(strstr(p, "<dd id=\"run-window\">2025-12-31T03:00:00Z .. 2026-01-01T03:00:00Z</dd>"));
	assert_non_null(strstr(p, "<dd id=\"run-config\">org.ini</dd>"));
	/* groups by account, region: the account-wide warning is g1 */
	assert_non_null(strstr(p, "<section class=\"group\" id=\"g1\" data-account=\"555555555555\" data-region=\"\">"));
	buf_release(&b);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"version\": 2, \"findings\": [], \"cells\": []}",
		"{\"version\": 1, \"findings\": []}",
		"{\"version\": 1, \"findings\": [], \"cells\": [{\"account\": \"1\", \"region\": \"r\", "
		"\"newest_delivery\": null, \"digests_checked\": 0, \"logs_checked\": 0, \"findings\": 0, "
		"\"status\": \"green\"}]}",
		"{\"version\": 1, \"findings\": [], \"cells\": [{\"account\": 1, \"region\": \"r\", "
		"\"newest_delivery\": null, \"digests_checked\": 0, \"logs_checked\": 0, \"findings\": 0, "
		"\"status\": \"ok\"}]}",
		/* a time verify never writes: the age could overflow */
		"{\"version\": 1, \"findings\": [], \"cells\": [{\"account\": \"1\", \"region\": \"r\", "
		"\"newest_delivery\": -9223372036854775807, \"digests_checked\": 0, \"logs_checked\": 0, "
		"\"findings\": 0, \"status\": \"ok\"}]}",
		/* a cell twice */
		"{\"version\": 1, \"findings\": [], \"cells\": [{\"account\": \"1\", \"region\": \"r\", "
		"\"newest_delivery\": null, \"digests_checked\": 0, \"logs_checked\": 0, \"findings\": 0, "
		"\"status\": \"ok\"}, {\"account\": \"1\", \"region\": \"r\", \"newest_delivery\": null, "
		"\"digests_checked\": 0, \"logs_checked\": 0, \"findings\": 0, \"status\": \"ok\"}]}",
		"{\"version\": 1, \"cells\": [], \"findings\": [{\"code\": \"x\", \"severity\": \"fatal\", "
		"\"message\": \"m\"}]}",
		"{\"version\": 1, \"cells\": [], \"findings\": [{\"code\": \"x\", \"severity\": \"error\"}]}",
		"{\"version\": 1, \"cells\": [], \"findings\": [], \"run\": {\"time\": \"now\"}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf b;
		struct errbuf err;

		assert_int_equal(render(bad[i], &b, &err), TK_EUSAGE);
		assert_non_null(strstr(err.msg, "not a verify --json document"));
		buf_release(&b);
	}
}

static void test_empty_and_limit(void **state)
{
	struct buf b;
	struct errbuf err;
	json_t *doc = json_loads(good, 0, NULL);
	struct report_html_opts o = { 1767240000, NULL };

	(void)state;
	assert_int_equal(render("{\"version\": 1, \"findings\": [], \"cells\": []}", &b, &err), 0);
	assert_non_null(strstr(buf_cstr(&b), "No findings."));
	assert_non_null(strstr(buf_cstr(&b), "<dd id=\"run-time\">not recorded</dd>"));
	assert_non_null(strstr(buf_cstr(&b), "Delivery ages as of 2026-01-01T04:00:00Z"));
	buf_release(&b);
	/* a page that does not fit is an error, never a page cut short */
	buf_init(&b, 512);
	assert_int_equal(report_html_render(doc, &o, &b, &err), TK_ELIMIT);
	buf_release(&b);
	json_decref(doc);
}

static void test_run_copy(void **state)
{
	json_t *run = report_run_json("c.ini", 1767236400, 1767150000, 1767236400), *copy;
	json_t *bad = json_pack("{s:s, s:i, s:{s:i, s:i}}", "config", "c", "time", 5, "window", "start", 1,
				"end", 2);

	(void)state;
	copy = report_run_copy(run);
	assert_non_null(copy);
	assert_true(json_equal(run, copy));
	assert_null(report_run_copy(bad));
	assert_null(report_run_copy(NULL));
	json_decref(copy);
	json_decref(run);
	json_decref(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_empty_and_limit),
		cmocka_unit_test(test_run_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
