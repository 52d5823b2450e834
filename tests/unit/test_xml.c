/* test_xml.c: the bounded expat DOM and the escaping writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xml.h"

static void test_list_bucket_result(void **state)
{
	struct buf b;
	struct xml_doc d;
	struct errbuf err;
	const struct xml_node *c;
	unsigned long long size;
	int i, n = 0;

	(void)state;
	buf_init(&b, 1 << 24);
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"" S3_XMLNS "\">"
		 "<Name>bkt</Name><IsTruncated>true</IsTruncated><NextContinuationToken>a+b/c=</NextContinuationToken>");
	for (i = 0; i < 1000; i++)
		buf_addf(&b, "<Contents><Key>AWSLogs/%04d &amp; x.json.gz</Key><Size>%d</Size>"
			 "<ETag>&quot;e%d&quot;</ETag></Contents>\n", i, i * 10, i);
	buf_adds(&b, "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>");
	assert_int_equal(xml_parse(&d, b.data, b.len, &err), 0);
	assert_string_equal(d.root->name, "ListBucketResult");
	assert_int_equal(xml_path_bool(d.root, "IsTruncated"), 1);
	assert_string_equal(xml_path_text(d.root, "NextContinuationToken"), "a+b/c=");
	for (c = xml_child(d.root, "Contents"); c; c = xml_next(c)) {
		char want[64];
		snprintf(want, sizeof(want), "AWSLogs/%04d & x.json.gz", n);
		assert_string_equal(xml_path_text(c, "Key"), want);
		assert_int_equal(xml_path_u64(c, "Size", &size), 0);
		assert_int_equal(size, (unsigned long long)n * 10);
		n++;
	}
	assert_int_equal(n, 1000);
	assert_string_equal(xml_path_text(d.root, "CommonPrefixes/Prefix"), "p/");
	assert_null(xml_path_text(d.root, "Missing"));
	assert_null(xml_path(d.root, "Contents/Nope/Deeper"));
	/* the text of an element with children is not kept */
	assert_string_equal(xml_path_text(d.root, "Contents"), "");
	xml_doc_release(&d);
	buf_release(&b);
}

static void test_location_and_values(void **state)
{
	struct xml_doc d;
	struct errbuf err;
	unsigned long long v;
	const char *x = "<LocationConstraint xmlns=\"" S3_XMLNS "\"/>";
	const char *y = "<A><T>yes</T><N>-1</N><M>12x</M><B>false</B><E></E></A>";

	(void)state;
	assert_int_equal(xml_parse(&d, x, strlen(x), &err), 0);
	assert_string_equal(d.root->name, "LocationConstraint");
	assert_null(d.root->text);
	xml_doc_release(&d);
	assert_int_equal(xml_parse(&d, y, strlen(y), &err), 0);
	assert_int_equal(xml_path_bool(d.root, "T"), -1);
	assert_int_equal(xml_path_bool(d.root, "B"), 0);
	assert_int_equal(xml_path_u64(d.root, "N", &v), -1);
	assert_int_equal(xml_path_u64(d.root, "M", &v), -1);
	assert_int_equal(xml_path_u64(d.root, "E", &v), -1);
	assert_string_equal(xml_path_text(d.root, "E"), "");
	xml_doc_release(&d);
}

static void expect_fail(const char *doc, size_t len, int code, const char *msg)
{
	struct xml_doc d;
	struct errbuf err;

	assert_int_equal(xml_parse(&d, doc, len, &err), code);
	assert_null(d.root);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
}

static void test_malformed(void **state)
{
	static const char trunc[] = "<Error><Code>AccessDenied</Code><Mess";
	static const char bad[] = "<a><b></a>";
	static const char two[] = "<a/><b/>";
	static const char dtd[] = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><a>&lol;</a>";
	static const char ext[] = "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>";
	static const char nul[] = "<a>x\0y</a>";

	(void)state;
	expect_fail(trunc, strlen(trunc), TK_EFAIL, "malformed XML at line 1");
	expect_fail(bad, strlen(bad), TK_EFAIL, "mismatched tag");
	expect_fail(two, strlen(two), TK_EFAIL, "junk after document element");
	expect_fail(dtd, strlen(dtd), TK_EFAIL, "DOCTYPE not allowed");
	expect_fail(ext, strlen(ext), TK_EFAIL, "DOCTYPE not allowed");
	expect_fail("", 0, TK_EFAIL, "malformed XML");
	expect_fail("   ", 3, TK_EFAIL, "malformed XML");
	expect_fail(nul, sizeof(nul) - 1, TK_EFAIL, "malformed XML");
	expect_fail("{\"json\": true}", 14, TK_EFAIL, "malformed XML");
}

static void test_limits(void **state)
{
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, 1 << 26);
	for (i = 0; i < XML_MAX_DEPTH + 1; i++)
		buf_adds(&b, "<a>");
	for (i = 0; i < XML_MAX_DEPTH + 1; i++)
		buf_adds(&b, "</a>");
	expect_fail(b.data, b.len, TK_ELIMIT, "nested too deeply");
	buf_reset(&b);
	buf_adds(&b, "<r>");
	for (i = 0; i < XML_MAX_NODES; i++)
		buf_adds(&b, "<x/>");
	buf_adds(&b, "</r>");
	expect_fail(b.data, b.len, TK_ELIMIT, "too many elements");
	buf_reset(&b);
	buf_adds(&b, "<r>");
	for (i = 0; i < XML_MAX_TEXT / 8 + 1; i++)
		buf_adds(&b, "abcdefgh");
	buf_adds(&b, "</r>");
	expect_fail(b.data, b.len, TK_ELIMIT, "text too large");
	buf_release(&b);
}

/* A document's nodes and strings share a few blocks (issue 17): texts of
 * every size, up to the limit, next to small ones, each intact and with its
 * length; the largest text exactly at XML_MAX_TEXT. */
static void test_large_and_small_texts(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 4095, 4096, 70000, 3, XML_MAX_TEXT, 5, 65536 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	const struct xml_node *c;
	struct xml_doc d;
	struct errbuf err;
	struct buf b;
	size_t i, j;

	(void)state;
	buf_init(&b, 1 << 24);
	buf_adds(&b, "<r>");
	for (i = 0; i < n; i++) {
		buf_addf(&b, "<t%zu>", i);
		for (j = 0; j < sizes[i]; j++)
			buf_addc(&b, (char)('a' + (i + j) % 26));
		buf_addf(&b, "</t%zu><k>%zu</k>", i, i);
	}
	buf_adds(&b, "</r>");
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(xml_parse(&d, b.data, b.len, &err), 0);
	assert_int_equal(d.nodes, 1 + 2 * n);
	for (i = 0, c = d.root->child; i < n; i++) {
		char name[16], num[16];

		snprintf(name, sizeof(name), "t%zu", i);
		snprintf(num, sizeof(num), "%zu", i);
		assert_non_null(c);
		assert_string_equal(c->name, name);
		assert_int_equal(c->text ? strlen(c->text) : 0, sizes[i]);
		assert_int_equal(c->text_len, sizes[i]);
		for (j = 0; j < sizes[i]; j++)
			assert_int_equal(c->text[j], 'a' + (i + j) % 26);
		assert_ptr_equal(c->parent, d.root);
		c = c->next;
		assert_string_equal(c->name, "k");
		assert_string_equal(c->text, num);
		c = c->next;
	}
	assert_null(c);
	xml_doc_release(&d);
	assert_null(d.root);
	xml_doc_release(&d);   /* released twice: nothing left to free */
	buf_release(&b);
}

static void test_writer_escapes(void **state)
{
	struct buf b;
	struct xml_doc d;
	struct errbuf err;
	const char *evil = "a</TargetPrefix><Injected>&'\"\r";

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(xml_open(&b, "BucketLoggingStatus", S3_XMLNS), 0);
	assert_int_equal(xml_elem(&b, "TargetPrefix", evil), 0);
	assert_int_equal(xml_close(&b, "BucketLoggingStatus"), 0);
	assert_string_equal(buf_cstr(&b), "<BucketLoggingStatus xmlns=\"" S3_XMLNS "\"><TargetPrefix>"
			    "a&lt;/TargetPrefix&gt;&lt;Injected&gt;&amp;&apos;&quot;&#13;</TargetPrefix>"
			    "</BucketLoggingStatus>");
	/* round trip */
	assert_int_equal(xml_parse(&d, b.data, b.len, &err), 0);
	assert_string_equal(xml_path_text(d.root, "TargetPrefix"), evil);
	assert_null(xml_child(d.root, "Injected"));
	xml_doc_release(&d);
	buf_release(&b);
	/* the writer honours the buffer's limit */
	buf_init(&b, 10);
	assert_int_equal(xml_elem(&b, "Name", "0123456789"), TK_ELIMIT);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_bucket_result),
		cmocka_unit_test(test_location_and_values),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_large_and_small_texts),
		cmocka_unit_test(test_writer_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
