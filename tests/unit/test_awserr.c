/* test_awserr.c: AWS error parsing from every protocol, including
 * malformed, truncated, oversized and wrongly typed bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "awserr.h"
#include "cloudtrail.h"
#include "buf.h"

struct hdrs {
	const char *const *kv;   /* name, value, ..., NULL */
};

static const char *hget(void *ud, const char *name)
{
	const struct hdrs *h = ud;
	size_t i;

	for (i = 0; h->kv[i]; i += 2)
		if (!strcmp(h->kv[i], name))
			return h->kv[i + 1];
	return NULL;
}

static void parse(struct aws_error *e, enum aws_proto p, long st, const char *body, const char *const *kv,
		  const char *svc, const char *op, const char *subj)
{
	struct hdrs h = { kv };

	memset(e, 0, sizeof(*e));
	aws_error_parse(e, p, st, body, body ? strlen(body) : 0, kv ? hget : NULL, &h);
	aws_error_set_context(e, svc, op, subj);
}

static void expect_msg(const struct aws_error *e, const char *want)
{
	char msg[ERRBUF_LEN];

	aws_error_format(e, msg, sizeof(msg));
	assert_string_equal(msg, want);
}

static void test_s3_error(void **state)
{
	struct aws_error e;

	(void)state;
	parse(&e, AWS_PROTO_RESTXML, 403,
	      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied"
	      "</Message><RequestId>XYZ</RequestId><HostId>h</HostId></Error>", NULL, "s3", "GetObject", "bucket/key");
	expect_msg(&e, "s3 GetObject 'bucket/key': 403 AccessDenied: Access Denied (request id XYZ)");
	assert_int_equal(aws_error_tk(&e), TK_EAUTH);
	assert_false(aws_error_retryable(&e));
	aws_error_release(&e);
	parse(&e, AWS_PROTO_RESTXML, 404, "<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does "
	      "not exist</Message></Error>", NULL, "s3", "GetBucketPolicy", "b");
	assert_int_equal(aws_error_tk(&e), TK_ENOTFOUND);
	aws_error_release(&e);
	parse(&e, AWS_PROTO_RESTXML, 404, "<Error><Code>ServerSideEncryptionConfigurationNotFoundError</Code>"
	      "</Error>", NULL, "s3", "GetBucketEncryption", "b");
	assert_int_equal(aws_error_tk(&e), TK_ENOTFOUND);
	aws_error_release(&e);
	parse(&e, AWS_PROTO_RESTXML, 503, "<Error><Code>SlowDown</Code></Error>", NULL, "s3", "PutObject", "b/k");
	assert_true(aws_error_is_throttle(&e));
	assert_true(aws_error_retryable(&e));
	aws_error_release(&e);
	/* AuthorizationHeaderMalformed carries the right region */
	parse(&e, AWS_PROTO_RESTXML, 400, "<Error><Code>AuthorizationHeaderMalformed</Code><Message>m</Message>"
	      "<Region>eu-central-1</Region></Error>", NULL, "s3", "ListObjectsV2", "b");
	assert_string_equal(e.region, "eu-central-1");
	aws_error_release(&e);
}

static void test_head_status_only(void **state)
{
	static const char *const kv[] = { "x-amz-request-id", "RID", "x-amz-bucket-region", "us-west-2", NULL };
	struct aws_error e;

	(void)state;
	parse(&e, AWS_PROTO_RESTXML, 404, NULL, kv, "s3", "HeadObject", "b/k");
	expect_msg(&e, "s3 HeadObject 'b/k': 404 NotFound (request id RID)");
	assert_int_equal(aws_error_tk(&e), TK_ENOTFOUND);
	assert_string_equal(e.region, "us-west-2");
	aws_error_release(&e);
	parse(&e, AWS_PROTO_RESTXML, 403, "", NULL, "s3", "HeadBucket", "b");
	expect_msg(&e, "s3 HeadBucket 'b': 403 Forbidden");
	assert_int_equal(aws_error_tk(&e), TK_EAUTH);
	aws_error_release(&e);
	parse(&e, AWS_PROTO_RESTXML, 418, NULL, NULL, "s3", "HeadBucket", "b");
	expect_msg(&e, "s3 HeadBucket 'b': 418");
	assert_int_equal(aws_error_tk(&e), TK_EFAIL);
	aws_error_release(&e);
}

static void test_json_error(void **state)
{
	static const char *const kv[] = { "x-amzn-requestid", "J1", NULL };
	struct aws_error e;

	(void)state;
	parse(&e, AWS_PROTO_JSON, 400, "{\"__type\":\"TrailNotFoundException\",\"Message\":\"Unknown trail: "
	      "arn:aws:cloudtrail:us-east-2:1:trail/t\"}", kv, "cloudtrail", "GetTrail", "t");
	expect_msg(&e, "cloudtrail GetTrail 't': 400 TrailNotFoundException: Unknown trail: "
		   "arn:aws:cloudtrail:us-east-2:1:trail/t (request id J1)");
	assert_int_equal(aws_error_tk(&e), TK_ENOTFOUND);
	aws_error_release(&e);
	/* namespaced code: after the last '#', before ':' */
	parse(&e, AWS_PROTO_JSON, 400, "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException:http://x\","
	      "\"message\":\"expired\"}", NULL, "kms", "DescribeKey", NULL);
	expect_msg(&e, "kms DescribeKey: 400 ExpiredTokenException: expired");
	assert_int_equal(aws_error_tk(&e), TK_EAUTH);
	aws_error_release(&e);
	parse(&e, AWS_PROTO_JSON, 400, "{\"__type\":\"ThrottlingException\"}", NULL, "organizations", "ListAccounts",
	      NULL);
	assert_true(aws_error_retryable(&e));
	aws_error_release(&e);
	/* x-amzn-query-error wins */
	{
		static const char *const q[] = { "x-amzn-query-error", "AWS.SimpleQueueService.X;Sender", NULL };
		parse(&e, AWS_PROTO_JSON, 400, "{\"__type\":\"Other\"}", q, "sqs", "Op", NULL);
		assert_string_equal(e.code, "AWS.SimpleQueueService.X");
		aws_error_release(&e);
	}
}

static void test_query_error(void **state)
{
	struct aws_error e;

	(void)state;
	parse(&e, AWS_PROTO_QUERY, 403, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	      "<Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired: 20240101T000000Z "
	      "is now earlier than 20240101T001600Z</Message></Error><RequestId>Q9</RequestId></ErrorResponse>",
	      NULL, "sts", "GetCallerIdentity", NULL);
	expect_msg(&e, "sts GetCallerIdentity: 403 SignatureDoesNotMatch: Signature expired: 20240101T000000Z is now "
		   "earlier than 20240101T001600Z (request id Q9)");
	assert_true(aws_error_is_clock_skew(&e));
	assert_int_equal(aws_error_tk(&e), TK_EAUTH);
	aws_error_release(&e);
}

static void test_bad_bodies(void **state)
{
	struct aws_error e;
	struct buf big;
	int i;

	(void)state;
	parse(&e, AWS_PROTO_RESTXML, 500, "<Error><Code>Internal", NULL, "s3", "GetObject", "b/k");
	assert_string_equal(e.code, "InternalError");   /* from the status */
	assert_non_null(strstr(e.message, "unreadable error body (malformed XML at line 1"));
	assert_true(aws_error_retryable(&e));
	aws_error_release(&e);
	parse(&e, AWS_PROTO_RESTXML, 400, "<html><body>proxy error</body></html>", NULL, "s3", "GetObject", "b/k");
	expect_msg(&e, "s3 GetObject 'b/k': 400 BadRequest: unreadable error body (unexpected XML element 'html')");
	aws_error_release(&e);
	parse(&e, AWS_PROTO_JSON, 400, "[\"not\", \"an\", \"object\"]", NULL, "kms", "CreateKey", NULL);
	expect_msg(&e, "kms CreateKey: 400 BadRequest: unreadable error body (not a JSON object)");
	aws_error_release(&e);
	parse(&e, AWS_PROTO_JSON, 400, "{\"__type\": 42, \"message\": [\"x\"], \"Message\": {}}", NULL, "kms",
	      "CreateKey", NULL);
	expect_msg(&e, "kms CreateKey: 400 BadRequest");
	aws_error_release(&e);
	parse(&e, AWS_PROTO_JSON, 400, "{\"__type\": \"X\", \"message\": \"a\\u0000b\\nc\\u001b[31m\"}", NULL, "kms",
	      "CreateKey", NULL);
	expect_msg(&e, "kms CreateKey: 400 X: a?b?c?[31m");
	aws_error_release(&e);
	parse(&e, AWS_PROTO_JSON, 502, "{\"__type\": \"X\", \"mess", NULL, "kms", "CreateKey", NULL);
	assert_string_equal(e.code, "BadGateway");
	aws_error_release(&e);
	/* oversized text is capped */
	buf_init(&big, 1 << 22);
	buf_adds(&big, "<Error><Code>C</Code><Message>");
	for (i = 0; i < 100000; i++)
		buf_adds(&big, "m");
	buf_adds(&big, "</Message></Error>");
	parse(&e, AWS_PROTO_RESTXML, 400, big.data, NULL, "s3", "PutObject", "b/k");
	assert_true(strlen(e.message) <= 403);
	assert_non_null(strstr(e.message, "..."));
	aws_error_release(&e);
	/* too deep for the XML limits: still an error value, no crash */
	buf_reset(&big);
	for (i = 0; i < 100; i++)
		buf_adds(&big, "<Error>");
	parse(&e, AWS_PROTO_RESTXML, 400, big.data, NULL, "s3", "PutObject", "b/k");
	assert_non_null(strstr(e.message, "unreadable error body (oversized XML"));
	aws_error_release(&e);
	buf_release(&big);
}

static void test_format_truncates(void **state)
{
	struct aws_error e;
	char small[24];

	(void)state;
	parse(&e, AWS_PROTO_RESTXML, 403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
	      NULL, "s3", "GetObject", "bucket/key");
	aws_error_format(&e, small, sizeof(small));
	assert_string_equal(small, "s3 GetObject 'bucket/ke");
	aws_error_release(&e);
}

static void test_base64(void **state)
{
	unsigned char *o;
	size_t n;

	(void)state;
	assert_int_equal(ct_base64_decode("MAMCAQE=", 8, &o, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(o, "\x30\x03\x02\x01\x01", 5);
	free(o);
	assert_int_equal(ct_base64_decode("MAMCAQ==", 8, &o, &n), 0);
	assert_int_equal(n, 4);
	free(o);
	assert_int_equal(ct_base64_decode("MAMCAQE", 7, &o, &n), -1);   /* length */
	assert_int_equal(ct_base64_decode("MA=CAQE=", 8, &o, &n), -1);  /* '=' inside */
	assert_int_equal(ct_base64_decode("MAMC AQ=", 8, &o, &n), -1);  /* space */
	assert_int_equal(ct_base64_decode("MAMCAQ=E", 8, &o, &n), -1);
	assert_int_equal(ct_base64_decode("", 0, &o, &n), -1);
	assert_null(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_error),
		cmocka_unit_test(test_head_status_only),
		cmocka_unit_test(test_json_error),
		cmocka_unit_test(test_query_error),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
