/* test_doctor.c: the cause table, event-selector coverage, cell prefixes,
 * the --json document, and "doctor only digs into red cells" (no AWS call
 * at all when every cell is healthy: the context is NULL here). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doctor.h"
#include "buf.h"
#include "banned.h"

static void test_cause_table(void **state)
{
	/* the documented, stable codes (check order: doctor.h) */
	static const char *codes[] = { "trail_missing", "trail_deleted", "trail_not_logging",
		"trail_region_not_covered", "delivery_error", "bucket_policy_denies", "kms_key_missing",
		"kms_key_disabled", "kms_key_pending_deletion", "kms_key_wrong_region", "kms_policy_denies", "kms_key_changed",
		"bucket_missing", "bucket_wrong_region", "bucket_foreign_owner", "bucket_changed",
		"prefix_changed", "org_path_layout", "region_not_enabled", "selectors_exclude",
		"global_events_off", "global_events_duplicated", "validation_disabled", "account_left_org",
		"org_trusted_access_disabled", "cloudwatch_settings_changed", "log_group_missing",
		"cloudwatch_role_missing", "cloudwatch_role_untrusted", "cloudwatch_role_denies", "metric_filter_missing",
		"alarm_missing",
		"alarm_action_missing", "alarm_topic_missing", "topic_policy_denies", "topic_key_denies",
		"subscription_unconfirmed", "access_logging_off",
		"access_log_policy_denies", "account_unconfigured", "prefix_foreign", "unknown" };
	size_t i, j;

	(void)state;
	assert_int_equal(sizeof(codes) / sizeof(*codes), DC__COUNT - 1);
	for (i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
		int c = doctor_cause_from_name(codes[i]);
		const char *h;

		assert_int_equal(c, (int)i + 1);
		assert_string_equal(doctor_cause_name((enum doctor_cause)c), codes[i]);
		h = doctor_cause_hint((enum doctor_cause)c);
		assert_true(strlen(h) > 20);
		assert_null(strchr(h, '\n'));
		assert_true(h[strlen(h) - 1] != '.');
		assert_true(h[0] >= 'a' && h[0] <= 'z');
		for (j = 0; codes[i][j]; j++)
			assert_true((codes[i][j] >= 'a' && codes[i][j] <= 'z') || codes[i][j] == '_');
	}
	assert_int_equal(doctor_cause_from_name("nope"), -1);
	assert_int_equal(doctor_cause_from_name(""), -1);
	assert_string_equal(doctor_cause_name(DC_NONE), "");
	assert_string_equal(doctor_cause_name((enum doctor_cause)999), "");
	assert_string_equal(doctor_status_name(DOCTOR_HEALTHY), "ok");
	assert_string_equal(doctor_status_name(DOCTOR_CAUSE), "cause");
	assert_string_equal(doctor_status_name(DOCTOR_UNEXAMINED), "unexamined");
}

static void test_delivery_error_meaning(void **state)
{
	(void)state;
	assert_non_null(strstr(doctor_delivery_error_meaning("AccessDenied"), "bucket policy"));
	assert_non_null(strstr(doctor_delivery_error_meaning("NoSuchBucket"), "does not exist"));
	assert_non_null(strstr(doctor_delivery_error_meaning("KMS.DisabledException"), "disabled"));
	assert_non_null(strstr(doctor_delivery_error_meaning("KMS.NotFoundException"), "does not exist"));
	assert_non_null(strstr(doctor_delivery_error_meaning("InsufficientEncryptionPolicy"), "GenerateDataKey"));
	assert_non_null(strstr(doctor_delivery_error_meaning("SomethingNew"), "without a documented meaning"));
}

struct sel_case {
	const char *doc;      /* GetEventSelectors answer */
	const char *bucket;   /* NULL: management events */
	bool want;
};

static void test_selectors_cover(void **state)
{
	static const struct sel_case cases[] = {
		{ "{}", NULL, true },                                   /* default trail */
		{ "{}", "b", false },
		{ "{\"EventSelectors\":[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}]}", NULL, true },
		{ "{\"EventSelectors\":[{\"ReadWriteType\":\"ReadOnly\",\"IncludeManagementEvents\":true}]}", NULL, false },
		{ "{\"EventSelectors\":[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":false}]}", NULL, false },
		{ "{\"EventSelectors\":[{\"ReadWriteType\":\"WriteOnly\"},{\"ReadWriteType\":\"All\"}]}", NULL, true },
		{ "{\"EventSelectors\":[{\"DataResources\":[{\"Type\":\"AWS::S3::Object\",\"Values\":[\"arn:aws:s3:::b/\"]}]}]}", "b", true },
		{ "{\"EventSelectors\":[{\"DataResources\":[{\"Type\":\"AWS::S3::Object\",\"Values\":[\"arn:aws:s3\"]}]}]}", "b", true },
		{ "{\"EventSelectors\":[{\"DataResources\":[{\"Type\":\"AWS::S3::Object\",\"Values\":[\"arn:aws:s3:::bb/\"]}]}]}", "b", false },
		{ "{\"EventSelectors\":[{\"DataResources\":[{\"Type\":\"AWS::Lambda::Function\",\"Values\":[\"arn:aws:s3:::b/\"]}]}]}", "b", false },
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Management\"]}]}]}", NULL, true },
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Management\"]},"
		  "{\"Field\":\"readOnly\",\"Equals\":[\"true\"]}]}]}", NULL, false },
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},"
		  "{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]}]}]}", NULL, false },
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},"
		  "{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]},"
		  "{\"Field\":\"resources.ARN\",\"StartsWith\":[\"arn:aws:s3:::b/\"]}]}]}", "b", true },
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},"
		  "{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]},"
		  "{\"Field\":\"resources.ARN\",\"StartsWith\":[\"arn:aws:s3:::other/\"]}]}]}", "b", false },
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},"
		  "{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]}]}]}", "b", true },   /* all buckets */
		/* advanced selectors win over a stale basic list */
		{ "{\"AdvancedEventSelectors\":[{\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},"
		  "{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]}]}],"
		  "\"EventSelectors\":[{\"ReadWriteType\":\"All\"}]}", NULL, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *doc = json_loads(cases[i].doc, 0, NULL);

		assert_non_null(doc);
		if (doctor_selectors_cover(doc, cases[i].bucket) != cases[i].want)
			fail_msg("case %zu: %s (bucket %s): want %d", i, cases[i].doc,
				 cases[i].bucket ? cases[i].bucket : "-", cases[i].want);
		json_decref(doc);
	}
	assert_true(doctor_selectors_cover(NULL, NULL));
	assert_false(doctor_selectors_cover(NULL, "b"));
}

static void test_cell_prefix(void **state)
{
	struct tk_config c;
	char *p;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.mode = TK_MODE_ORGANIZATION;
	c.org_id = (char *)(uintptr_t)"o-abc1234567";
	p = doctor_cell_prefix(&c, "333333333333", "eu-west-1");
	assert_string_equal(p, "AWSLogs/o-abc1234567/333333333333/CloudTrail/eu-west-1/");
	free(p);
	c.key_prefix = (char *)(uintptr_t)"logs/ct";
	p = doctor_cell_prefix(&c, "333333333333", "eu-west-1");
	assert_string_equal(p, "logs/ct/AWSLogs/o-abc1234567/333333333333/CloudTrail/eu-west-1/");
	free(p);
	c.mode = TK_MODE_PER_ACCOUNT;
	c.org_id = NULL;
	p = doctor_cell_prefix(&c, "444444444444", "us-east-1");
	assert_string_equal(p, "logs/ct/AWSLogs/444444444444/CloudTrail/us-east-1/");
	free(p);
	c.key_prefix = (char *)(uintptr_t)"";
	p = doctor_cell_prefix(&c, "444444444444", "us-east-1");
	assert_string_equal(p, "AWSLogs/444444444444/CloudTrail/us-east-1/");
	free(p);
}

/* Healthy cells: no AWS call at all (aws is NULL: any call would crash). */
static void test_run_healthy_makes_no_calls(void **state)
{
	struct tk_config c;
	struct doctor_cell_in cells[3] = {
		{ "111111111111", "us-east-1", false, NULL, false, false },
		{ "111111111111", "eu-west-1", false, NULL, false, false },
		{ "333333333333", "eu-west-1", false, "nothing", false, false },
	};
	struct doctor_opts o;
	struct doctor_report r;
	struct errbuf err;
	json_t *doc, *cs;
	size_t i;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	o.cfg = &c;
	o.cells = cells;
	o.ncells = 3;
	o.now = 1767225600;
	assert_int_equal(doctor_run(&r, &o, &err), 0);
	assert_int_equal(r.ncells, 3);
	assert_int_equal(r.ncauses, 0);
	assert_int_equal(r.nunexamined, 0);
	assert_int_equal(r.aws_calls, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r.cells[i].status, DOCTOR_HEALTHY);
		assert_int_equal(r.cells[i].nevidence, 0);
		assert_null(r.cells[i].fix);
	}
	doc = doctor_report_json(&r);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	cs = json_object_get(doc, "cells");
	assert_int_equal(json_array_size(cs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 2), "status")), "ok");
	assert_true(json_is_null(json_object_get(json_array_get(cs, 2), "cause")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 2), "symptom")), "nothing");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "red")), 0);
	json_decref(doc);
	doctor_report_release(&r);
}

/* The JSON document of a report with a cause, an unexamined cell and a culprit. */
static void test_json_schema(void **state)
{
	struct doctor_report r;
	struct doctor_cell cells[3];
	char *ev1[] = { xstrdup("cloudtrail GetTrailStatus 'x': IsLogging false") };
	json_t *doc, *c0, *k, *sum;
	const char *keys[] = { "account", "region", "status", "cause", "hint", "symptom", "evidence", "fix",
			       "fix_diff", "error", "culprit" };
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(cells, 0, sizeof(cells));
	cells[0].account = xstrdup("111111111111");
	cells[0].region = xstrdup("us-east-1");
	cells[0].status = DOCTOR_CAUSE;
	cells[0].cause = DC_TRAIL_NOT_LOGGING;
	cells[0].evidence = xmalloc(sizeof(char *));
	cells[0].evidence[0] = ev1[0];
	cells[0].nevidence = 1;
	cells[0].fix = xstrdup("trailkeep apply org.ini");
	cells[0].culprit.who = xstrdup("arn:aws:iam::111111111111:user/mallory");
	cells[0].culprit.when = xstrdup("2026-01-01T02:00:00Z");
	cells[0].culprit.source_ip = xstrdup("192.0.2.7");
	cells[0].culprit.event = xstrdup("StopLogging");
	cells[1].account = xstrdup("111111111111");
	cells[1].region = xstrdup("eu-west-1");
	cells[1].status = DOCTOR_CAUSE;
	cells[1].cause = DC_TRAIL_NOT_LOGGING;
	cells[2].account = xstrdup("333333333333");
	cells[2].region = xstrdup("eu-west-1");
	cells[2].status = DOCTOR_UNEXAMINED;
	cells[2].error = xstrdup("cannot assume 'arn:aws:iam::333333333333:role/R': AccessDenied");
	r.cells = xmalloc(sizeof(cells));
	memcpy(r.cells, cells, sizeof(cells));
	r.ncells = 3;
	r.ncauses = 2;
	r.nunexamined = 1;

	doc = doctor_report_json(&r);
	c0 = json_array_get(json_object_get(doc, "cells"), 0);
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (!json_object_get(c0, keys[i]))
			fail_msg("cell has no '%s'", keys[i]);
	assert_string_equal(json_string_value(json_object_get(c0, "cause")), "trail_not_logging");
	assert_string_equal(json_string_value(json_object_get(c0, "status")), "cause");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c0, "evidence"), 0)),
			    "cloudtrail GetTrailStatus 'x': IsLogging false");
	k = json_object_get(c0, "culprit");
	assert_string_equal(json_string_value(json_object_get(k, "who")), "arn:aws:iam::111111111111:user/mallory");
	assert_string_equal(json_string_value(json_object_get(k, "source_ip")), "192.0.2.7");
	assert_string_equal(json_string_value(json_object_get(k, "event")), "StopLogging");
	assert_true(json_is_null(json_object_get(k, "event_id")));
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(doc, "cells"), 1), "culprit")));
	c0 = json_array_get(json_object_get(doc, "cells"), 2);
	assert_string_equal(json_string_value(json_object_get(c0, "status")), "unexamined");
	assert_true(json_is_null(json_object_get(c0, "cause")));
	assert_non_null(strstr(json_string_value(json_object_get(c0, "error")), "cannot assume"));
	sum = json_object_get(doc, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "cells")), 3);
	assert_int_equal(json_integer_value(json_object_get(sum, "red")), 3);
	assert_int_equal(json_integer_value(json_object_get(sum, "unexamined")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sum, "causes"), "trail_not_logging")), 2);
	json_decref(doc);
	doctor_report_release(&r);
	assert_null(r.cells);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cause_table),
		cmocka_unit_test(test_delivery_error_meaning),
		cmocka_unit_test(test_selectors_cover),
		cmocka_unit_test(test_cell_prefix),
		cmocka_unit_test(test_run_healthy_makes_no_calls),
		cmocka_unit_test(test_json_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
