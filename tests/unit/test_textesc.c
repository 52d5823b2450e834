/* test_textesc.c: text from outside is shown with visible escapes (issue 13
 * item 10; textesc.h for the rules). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "textesc.h"
#include "banned.h"

static void expect(const char *in, const char *want)
{
	char *got = tk_text_escaped(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_plain_text_unchanged(void **state)
{
	(void)state;
	expect("", "");
	expect("AWSLogs/o-a1b2c3d4e5/111111111111/CloudTrail/us-east-1/x.json.gz",
	       "AWSLogs/o-a1b2c3d4e5/111111111111/CloudTrail/us-east-1/x.json.gz");
	expect("a\\b \"quoted\" {json}", "a\\b \"quoted\" {json}");
	expect("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
}

static void test_controls(void **state)
{
	(void)state;
	expect("a\nb\rc\td", "a\\nb\\rc\\td");
	expect("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07");
	expect("del\x7f", "del\\x7f");
	expect("\x01\x1f", "\\x01\\x1f");
	expect("c1 \xc2\x9b" "31m \xc2\x85", "c1 \\u009b31m \\u0085");    /* CSI, NEL */
}

static void test_bidi(void **state)
{
	(void)state;
	expect("log\xe2\x80\xae" "zg.nosj", "log\\u202ezg.nosj");            /* U+202E RLO */
	expect("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "\\u202a\\u202b\\u202c\\u202d");
	expect("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");              /* isolates */
	expect("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c");  /* marks */
	expect("\xe2\x80\x94", "\xe2\x80\x94");                                /* an em dash stays */
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect("\x9b" "31m", "\\x9b31m");             /* a lone C1 byte (8-bit CSI) */
	expect("\xc0\xaf", "\\xc0\\xaf");             /* overlong */
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");    /* surrogate */
	expect("\xe2\x80", "\\xe2\\x80");             /* truncated */
	expect("\xff", "\\xff");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_unchanged),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_bidi),
		cmocka_unit_test(test_invalid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
