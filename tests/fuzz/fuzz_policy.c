/* fuzz_policy.c: the IAM policy evaluator over arbitrary bytes.  The input is
 * parsed as a policy document and evaluated for a few fixed requests; when it
 * is a case of tests/policy_cases.json ({"policy", "principal", "action",
 * "resource", "context"}) that request is evaluated too.  libFuzzer entry
 * point; with -DFUZZ_REPLAY it is linked with tests/fuzz/replay_main.c and
 * replays tests/fuzz/corpus/policy/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(const struct policy_result *r)
{
	/* the explanation is always terminated, printable and bounded */
	size_t n = strnlen(r->explain, sizeof(r->explain));

	if (n >= sizeof(r->explain) || strnlen(r->sid, sizeof(r->sid)) >= sizeof(r->sid))
		abort();
	while (n--)
		if ((unsigned char)r->explain[n] < 0x20 || (unsigned char)r->explain[n] >= 0x7f)
			abort();
}

static void eval_case(const json_t *c)
{
	struct policy_request req;
	struct policy_context *ctx = NULL;
	struct policy_result res;
	struct errbuf err;

	memset(&req, 0, sizeof(req));
	if (policy_principal_from_json(&req.principal, json_object_get(c, "principal"), &err) ||
	    policy_context_from_json(&ctx, json_object_get(c, "context"), &err))
		goto done;
	req.action = json_string_value(json_object_get(c, "action"));
	req.resource = json_string_value(json_object_get(c, "resource"));
	req.context = ctx;
	if (req.action && policy_eval(&res, json_object_get(c, "policy"), &req, &err) == 0)
		check_result(&res);
done:
	policy_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct policy_principal who[] = {
		{ PRINCIPAL_SERVICE, "cloudtrail.amazonaws.com", NULL, NULL },
		{ PRINCIPAL_AWS, "arn:aws:sts::111111111111:assumed-role/R/s", "111111111111",
		  "arn:aws:iam::111111111111:role/R" },
		{ PRINCIPAL_ANONYMOUS, NULL, NULL, NULL },
	};
	static const char *actions[] = { "s3:PutObject", "kms:GenerateDataKey", "s3:GetBucketAcl" };
	static const char *resources[] = { "arn:aws:s3:::b/AWSLogs/111111111111/x", NULL,
	                                   "arn:aws:s3:::b" };
	struct policy_context *ctx = policy_context_new();
	struct policy_request req;
	struct policy_result res;
	struct errbuf err;
	json_t *doc = NULL;
	size_t i;

	policy_context_add(ctx, "aws:SourceArn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t", &err);
	policy_context_add(ctx, "s3:x-amz-acl", "bucket-owner-full-control", &err);
	policy_context_add(ctx, "aws:SecureTransport", "true", &err);
	policy_context_add(ctx, "aws:SourceIp", "10.1.2.3", &err);
	policy_context_add(ctx, "aws:CurrentTime", "2025-01-01T00:00:00Z", &err);
	policy_context_add(ctx, "aws:TagKeys", "a", &err);
	policy_context_add(ctx, "aws:TagKeys", "b", &err);
	for (i = 0; i < 3; i++) {
		memset(&req, 0, sizeof(req));
		req.principal = who[i];
		req.action = actions[i];
		req.resource = resources[i];
		req.context = i == 2 ? NULL : ctx;
		if (policy_eval_text(&res, (const char *)data, size, &req, &err) == 0)
			check_result(&res);
	}
	if (policy_parse(&doc, (const char *)data, size, &err) == 0 && json_is_object(doc) &&
	    json_object_get(doc, "policy"))
		eval_case(doc);
	json_decref(doc);
	policy_context_free(ctx);
	return 0;
}
