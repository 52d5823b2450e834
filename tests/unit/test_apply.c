/* test_apply.c: statement ownership and merging, the key-policy lock-out
 * check, the key-state decision of apply (apply.h) and apply's document
 * helpers (apply_int.h: the plan's JSON as S3 XML, canonical forms). */
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

#include "apply.h"
#include "apply_int.h"
#include "buf.h"
#include "diff.h"
#include "banned.h"

static json_t *js(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	return j;
}

/* The Sids of a policy's statements, joined with ',' (plus the Resource of
 * each Trailkeep one, to see which version was kept). */
static char *sids(const json_t *p)
{
	const json_t *sts = json_object_get(p, "Statement");
	char *out = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < json_array_size(sts); i++) {
		const json_t *st = json_array_get(sts, i);
		const char *sid = json_string_value(json_object_get(st, "Sid"));
		const char *res = json_string_value(json_object_get(st, "Resource"));

		t = xasprintf("%s%s%s%s%s", out, i ? "," : "", sid ? sid : "-", res ? "=" : "", res ? res : "");
		free(out);
		out = t;
	}
	return out;
}

static const char desired[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":["
	"{\"Sid\":\"TrailkeepA\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:A\",\"Resource\":\"new\"},"
	"{\"Sid\":\"TrailkeepB\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:B\",\"Resource\":\"b\"}]}";

static void test_owned(void **state)
{
	(void)state;
	assert_true(apply_sid_owned("Trailkeep"));
	assert_true(apply_sid_owned("TrailkeepWrite111111111111"));
	assert_false(apply_sid_owned("trailkeepX"));
	assert_false(apply_sid_owned("AWSCloudTrailWrite"));
	assert_false(apply_sid_owned(""));
	assert_false(apply_sid_owned(NULL));
}

static void test_merge_no_current(void **state)
{
	json_t *d = js(desired), *out = NULL;
	struct errbuf err;

	(void)state;
	assert_int_equal(apply_merge_policy(&out, NULL, d, "p", &err), 0);
	assert_true(json_equal(out, d));
	json_decref(out);
	json_decref(d);
}

static void test_merge_keeps_foreign_in_place(void **state)
{
	json_t *d = js(desired), *out = NULL, *again = NULL;
	json_t *cur = js("{\"Version\":\"2008-10-17\",\"Id\":\"keep-me\",\"Statement\":["
			 "{\"Sid\":\"F1\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:X\",\"Resource\":\"f1\"},"
			 "{\"Sid\":\"TrailkeepA\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:A\",\"Resource\":\"old\"},"
			 "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:Y\",\"Resource\":\"nosid\"},"
			 "{\"Sid\":\"TrailkeepGone\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:G\",\"Resource\":\"g\"}]}");
	struct errbuf err;
	char *s;

	(void)state;
	assert_int_equal(apply_merge_policy(&out, cur, d, "p", &err), 0);
	s = sids(out);
	/* foreign F1 and the Sid-less statement stay where they were; TrailkeepA
	 * is replaced in place; TrailkeepGone is dropped; TrailkeepB goes after
	 * the last owned statement */
	assert_string_equal(s, "F1=f1,TrailkeepA=new,-=nosid,TrailkeepB=b");
	free(s);
	assert_string_equal(json_string_value(json_object_get(out, "Version")), "2012-10-17");
	assert_string_equal(json_string_value(json_object_get(out, "Id")), "keep-me");
	/* idempotent: merging again changes nothing */
	assert_int_equal(apply_merge_policy(&again, out, d, "p", &err), 0);
	assert_true(diff_policy_equal(again, out));
	json_decref(again);
	json_decref(out);
	json_decref(cur);
	json_decref(d);
}

static void test_merge_no_owned_yet(void **state)
{
	json_t *d = js(desired), *out = NULL;
	json_t *cur = js("{\"Statement\":{\"Sid\":\"Only\",\"Effect\":\"Allow\",\"Principal\":\"*\","
			 "\"Action\":\"s3:X\",\"Resource\":\"o\"}}");
	struct errbuf err;
	char *s;

	(void)state;
	assert_int_equal(apply_merge_policy(&out, cur, d, "p", &err), 0);
	s = sids(out);
	assert_string_equal(s, "Only=o,TrailkeepA=new,TrailkeepB=b");
	free(s);
	json_decref(out);
	json_decref(cur);
	json_decref(d);
}

static void test_merge_keeps_owned_order(void **state)
{
	/* the same owned statements in another order: nothing to change */
	json_t *d = js(desired), *out = NULL;
	json_t *cur = js("{\"Version\":\"2012-10-17\",\"Statement\":["
			 "{\"Sid\":\"TrailkeepB\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[\"s3:B\"],\"Resource\":\"b\"},"
			 "{\"Sid\":\"TrailkeepA\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:A\",\"Resource\":\"new\"}]}");
	struct errbuf err;

	(void)state;
	assert_int_equal(apply_merge_policy(&out, cur, d, "p", &err), 0);
	assert_true(diff_policy_equal(out, cur));
	json_decref(out);
	json_decref(cur);
	json_decref(d);
}

static void test_merge_errors(void **state)
{
	json_t *d = js(desired), *out = NULL, *bad;
	struct errbuf err;

	(void)state;
	bad = js("{\"Version\":\"2012-10-17\"}");
	assert_int_equal(apply_merge_policy(&out, bad, d, "bucket 'b' policy", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "the current bucket 'b' policy is not a policy document"));
	assert_null(out);
	json_decref(bad);
	/* a planned statement trailkeep could not recognise as its own */
	bad = js("{\"Statement\":[{\"Sid\":\"Mine\",\"Effect\":\"Allow\"}]}");
	assert_int_equal(apply_merge_policy(&out, NULL, bad, "key policy", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "statement 1 of the planned key policy has no Sid starting with 'Trailkeep'"));
	json_decref(bad);
	json_decref(d);
}

static void test_lockout(void **state)
{
	struct errbuf err;
	json_t *p;
	json_error_t je;

	(void)state;
	/* the shipped plan keeps the root statement */
	p = json_load_file("policies/org/central/kms-key-policy.json", 0, &je);
	assert_non_null(p);
	assert_int_equal(apply_check_key_policy(p, "aws", "222222222222", "k", &err), 0);
	/* ... but not for another account */
	assert_int_equal(apply_check_key_policy(p, "aws", "333333333333", "k", &err), TK_EUSAGE);
	json_decref(p);

	p = js("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"222222222222\"},"
	       "\"Action\":\"kms:Put*\",\"Resource\":\"*\"}]}");
	assert_int_equal(apply_check_key_policy(p, "aws", "222222222222", "k", &err), 0);
	json_decref(p);

	p = js("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudtrail.amazonaws.com\"},"
	       "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");
	assert_int_equal(apply_check_key_policy(p, "aws", "222222222222", "kms key 'alias/x' policy", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "kms key 'alias/x' policy would lock out the account root"));
	json_decref(p);

	/* a root statement with a condition does not count */
	p = js("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::222222222222:root\"},"
	       "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"true\"}}}]}");
	assert_int_equal(apply_check_key_policy(p, "aws", "222222222222", "k", &err), TK_EUSAGE);
	json_decref(p);

	/* an unconditional Deny for everyone wins over the root Allow */
	p = js("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::222222222222:root\"]},"
	       "\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Sid\":\"NoPolicyEdits\",\"Effect\":\"Deny\",\"Principal\":\"*\","
	       "\"Action\":\"kms:PutKeyPolicy\",\"Resource\":\"*\"}]}");
	assert_int_equal(apply_check_key_policy(p, "aws", "222222222222", "k", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "explicitly denied by statement 'NoPolicyEdits'"));
	json_decref(p);

	/* other partitions */
	p = js("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws-cn:iam::222222222222:root\"},"
	       "\"Action\":\"*\",\"Resource\":\"*\"}]}");
	assert_int_equal(apply_check_key_policy(p, "aws-cn", "222222222222", "k", &err), 0);
	assert_int_equal(apply_check_key_policy(p, "aws", "222222222222", "k", &err), TK_EUSAGE);
	json_decref(p);
}

/* What apply does with each KMS KeyState: only Disabled and PendingDeletion
 * are converged; every other state (AWS's whole list) is refused. */
static void test_lifecycle_merge(void **state)
{
	json_t *cur = json_loads("{\"Rule\": [{\"ID\": \"TeamArchive\", \"Status\": \"Enabled\"},"
				 " {\"ID\": \"TrailkeepRetention\", \"Status\": \"Enabled\"},"
				 " {\"Status\": \"Enabled\"},"
				 " {\"ID\": \"TrailkeepAbortIncompleteUploads\", \"Status\": \"Disabled\"}]}", 0, NULL);
	json_t *planned = json_loads("[{\"ID\": \"TrailkeepAbortIncompleteUploads\", \"Status\": \"Enabled\"}]",
				     0, NULL);
	json_t *out, *rules;
	json_t *one = json_loads("{\"Rule\": {\"ID\": \"TrailkeepRetention\"}}", 0, NULL);

	(void)state;
	/* foreign rules (also one without an ID) stay; ours are replaced by
	 * the plan's, one the plan no longer has is dropped */
	out = apply_lifecycle_merge(cur, planned);
	rules = json_object_get(out, "Rules");
	assert_int_equal(json_array_size(rules), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "ID")), "TeamArchive");
	assert_null(json_object_get(json_array_get(rules, 1), "ID"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 2), "Status")), "Enabled");
	json_decref(out);
	/* a single rule (an object, not a list), ours and no longer planned */
	out = apply_lifecycle_merge(one, NULL);
	assert_int_equal(json_array_size(json_object_get(out, "Rules")), 0);
	json_decref(out);
	/* no current configuration */
	out = apply_lifecycle_merge(NULL, planned);
	assert_int_equal(json_array_size(json_object_get(out, "Rules")), 1);
	json_decref(out);
	json_decref(cur);
	json_decref(planned);
	json_decref(one);
}

static void test_key_state_step(void **state)
{
	static const char *const refused[] = { "PendingImport", "Unavailable", "Creating", "Updating",
						 "PendingReplicaDeletion", "enabled", "DISABLED", "Enabled ", "",
						 "Pending" };
	size_t i;

	(void)state;
	assert_int_equal(apply_key_state_step("Enabled"), APPLY_KEY_READY);
	assert_int_equal(apply_key_state_step("Disabled"), APPLY_KEY_ENABLE);
	assert_int_equal(apply_key_state_step("PendingDeletion"), APPLY_KEY_CANCEL_ENABLE);
	assert_int_equal(apply_key_state_step(NULL), APPLY_KEY_REFUSE);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(apply_key_state_step(refused[i]), APPLY_KEY_REFUSE);
}

/* The plan's JSON as S3 XML (Rules -> repeated Rule, keys sorted), and the
 * canonical form of S3's XML: element order never matters, repeated
 * elements become a sorted list. */
static void test_documents(void **state)
{
	struct buf x = BUF_INIT_LIMIT(64 * 1024);
	struct errbuf err;
	json_t *cfg = js("{\"Rules\": [{\"Status\": \"Enabled\", \"ID\": \"TrailkeepB\", \"Days\": 7},"
			 " {\"ID\": \"TrailkeepA\", \"Flag\": true}]}");
	json_t *c1, *c2, *one;
	const char *other = "<LifecycleConfiguration><Rule><Flag>true</Flag><ID>TrailkeepA</ID></Rule>"
			    "<Rule><ID>TrailkeepB</ID><Days>7</Days><Status>Enabled</Status></Rule>"
			    "</LifecycleConfiguration>";

	(void)state;
	err_clear(&err);
	assert_int_equal(ap_config_xml(&x, "LifecycleConfiguration", cfg), 0);
	assert_non_null(strstr(buf_cstr(&x), "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			       "<Rule><Days>7</Days><ID>TrailkeepB</ID><Status>Enabled</Status></Rule>"
			       "<Rule><Flag>true</Flag><ID>TrailkeepA</ID></Rule></LifecycleConfiguration>"));
	c1 = ap_xml_text_canon(buf_cstr(&x), &err);
	c2 = ap_xml_text_canon(other, &err);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_true(json_equal(c1, c2));
	assert_int_equal(ap_lifecycle_rules_of(c1), 2);
	one = ap_xml_text_canon("<LifecycleConfiguration><Rule><ID>X</ID></Rule></LifecycleConfiguration>", &err);
	assert_int_equal(ap_lifecycle_rules_of(one), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(one, "Rule"), "ID")), "X");
	/* too small a buffer is an error, never a cut document */
	buf_release(&x);
	{
		struct buf small = BUF_INIT_LIMIT(32);

		assert_int_equal(ap_config_xml(&small, "LifecycleConfiguration", cfg), TK_ELIMIT);
		buf_release(&small);
	}
	assert_null(ap_xml_text_canon("<a><b>", &err));
	json_decref(one);
	json_decref(c1);
	json_decref(c2);
	json_decref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned),
		cmocka_unit_test(test_lifecycle_merge),
		cmocka_unit_test(test_merge_no_current),
		cmocka_unit_test(test_merge_keeps_foreign_in_place),
		cmocka_unit_test(test_merge_no_owned_yet),
		cmocka_unit_test(test_merge_keeps_owned_order),
		cmocka_unit_test(test_merge_errors),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_key_state_step),
		cmocka_unit_test(test_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
