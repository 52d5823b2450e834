#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "findings.h"
#include "banned.h"

static void test_table(void **state)
{
	static const char *design[] = { "trail_missing", "trail_not_logging", "trail_delivery_error",
		"trail_config_drift", "validation_disabled", "global_events_duplicated",
		"delivery_stale", "delivery_none", "prefix_missing", "prefix_unexpected",
		"account_not_in_org", "account_unconfigured", "org_trusted_access_disabled",
		"cloudwatch_delivery_stale", "cloudwatch_delivery_error", "monitoring_drift",
		"access_log_stale", "access_log_none", "notify_denied", "notify_unconfirmed",
		"digest_missing", "digest_moved", "digest_format_invalid", "digest_signature_invalid",
		"digest_public_key_unknown", "digest_chain_gap", "digest_link_unreadable",
		"log_missing", "log_hash_mismatch",
		"log_format_invalid", "log_unreferenced", "access_denied", "cell_unchecked" };
	size_t i;

	(void)state;
	assert_int_equal(sizeof(design) / sizeof(*design), F__COUNT);
	for (i = 0; i < F__COUNT; i++) {
		int c = finding_code_from_name(design[i]);

		assert_true(c >= 0);
		assert_string_equal(finding_code_name((enum finding_code)c), design[i]);
		/* hints: one line, lower case start, no full stop */
		assert_true(strlen(finding_hint((enum finding_code)c)) > 10);
		assert_null(strchr(finding_hint((enum finding_code)c), '\n'));
		assert_true(finding_hint((enum finding_code)c)[strlen(finding_hint((enum finding_code)c)) - 1] != '.');
	}
	assert_int_equal(finding_code_from_name("nope"), -1);
	assert_string_equal(severity_name(finding_severity(F_LOG_HASH_MISMATCH)), "error");
	assert_string_equal(severity_name(finding_severity(F_DIGEST_CHAIN_GAP)), "error");
}

/* README "Exit codes": only severity error fails a run; these stay warnings */
/* a message longer than FINDING_MAX_MESSAGE keeps what fits and says it
 * was cut (was: the whole message replaced by "(message too long)") */
static void test_long_message(void **state)
{
	struct findings f;
	char *key = xmalloc(6001);
	const char *m;

	(void)state;
	memset(key, 'k', 6000);
	key[6000] = '\0';
	findings_init(&f);
	findings_add(&f, F_DIGEST_MISSING, "111111111111", "eu-west-1", "b", NULL, "no digest under '%s'", key);
	findings_add(&f, F_DIGEST_MISSING, "111111111111", "eu-west-1", "b", NULL, "short '%s'", "x");
	assert_int_equal(f.n, 2);
	m = f.v[0].message;
	assert_int_equal(strlen(m), FINDING_MAX_MESSAGE);
	assert_memory_equal(m, "no digest under 'kkkk", 21);
	assert_string_equal(m + strlen(m) - strlen(BUF_TRUNC_MARK), BUF_TRUNC_MARK);
	assert_string_equal(f.v[1].message, "short 'x'");
	findings_release(&f);
	free(key);
}

static void test_severity(void **state)
{
	/* the S3 server access logs are best effort (README "Monitoring"): warnings */
	static const enum finding_code warnings[] = { F_GLOBAL_EVENTS_DUPLICATED, F_PREFIX_UNEXPECTED,
		F_ACCOUNT_UNCONFIGURED, F_ACCESS_LOG_STALE, F_ACCESS_LOG_NONE, F_NOTIFY_UNCONFIRMED };
	struct findings f;
	size_t i, j;

	(void)state;
	for (i = 0; i < F__COUNT; i++) {
		enum severity want = SEV_ERROR;

		for (j = 0; j < sizeof(warnings) / sizeof(*warnings); j++)
			if (warnings[j] == (enum finding_code)i)
				want = SEV_WARNING;
		assert_int_equal(finding_severity((enum finding_code)i), want);
	}
	/* apply would change the trail; logging was interrupted: errors */
	assert_int_equal(finding_severity(F_TRAIL_CONFIG_DRIFT), SEV_ERROR);
	assert_int_equal(finding_severity(F_DIGEST_CHAIN_GAP), SEV_ERROR);
	assert_int_equal(finding_severity(F_ACCOUNT_NOT_IN_ORG), SEV_ERROR);
	assert_int_equal(finding_severity(F_ORG_TRUSTED_ACCESS_DISABLED), SEV_ERROR);
	findings_init(&f);
	assert_int_equal(findings_count_severity(&f, SEV_ERROR), 0);
	findings_add(&f, F_ACCOUNT_UNCONFIGURED, "555555555555", NULL, NULL, NULL, "member");
	findings_add(&f, F_PREFIX_UNEXPECTED, "999999999999", NULL, "b", "AWSLogs/999999999999/", "p");
	assert_int_equal(findings_count_severity(&f, SEV_ERROR), 0);
	assert_int_equal(findings_count_severity(&f, SEV_WARNING), 2);
	findings_add(&f, F_ACCOUNT_NOT_IN_ORG, "333333333333", "us-east-1", NULL, NULL, "left");
	assert_int_equal(findings_count_severity(&f, SEV_ERROR), 1);
	assert_int_equal(findings_count_severity(&f, SEV_WARNING), 2);
	assert_int_equal(findings_count_severity(&f, SEV_INFO), 0);
	findings_release(&f);
}

static void test_sort_and_json(void **state)
{
	struct findings f;
	struct cell_stats cells[2];
	json_t *doc, *arr, *o;
	char *s;

	(void)state;
	findings_init(&f);
	findings_add(&f, F_LOG_MISSING, "2", "us-east-1", "b", "k2", "gone %d", 2);
	findings_add(&f, F_DIGEST_MISSING, "2", "us-east-1", "b", NULL, "no digest");
	findings_add(&f, F_LOG_MISSING, "1", "us-east-1", "b", "k1", "gone");
	findings_add(&f, F_CELL_UNCHECKED, "3", "eu-west-1", NULL, NULL, "could not list");
	findings_sort(&f);
	assert_string_equal(f.v[0].account, "1");
	assert_int_equal(f.v[1].code, F_DIGEST_MISSING);
	assert_int_equal(f.v[2].code, F_LOG_MISSING);
	assert_string_equal(f.v[2].message, "gone 2");
	assert_int_equal(findings_count(&f, F_LOG_MISSING), 2);

	cell_init(&cells[0], "2", "us-east-1");
	cell_init(&cells[1], "3", "eu-west-1");
	cells[0].has_newest = 1;
	cells[0].newest_delivery = 1700000000;
	cells[0].digests_checked = 5;
	cells_tally(cells, 2, &f);
	assert_int_equal(cells[0].findings, 2);
	assert_int_equal(cells[0].status, CELL_FINDINGS);
	assert_int_equal(cells[1].status, CELL_UNCHECKED);

	doc = findings_to_json(&f, cells, 2);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	arr = json_object_get(doc, "findings");
	assert_int_equal(json_array_size(arr), 4);
	o = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(o, "code")), "digest_missing");
	assert_string_equal(json_string_value(json_object_get(o, "severity")), "error");
	assert_true(json_is_null(json_object_get(o, "key")));
	assert_string_equal(json_string_value(json_object_get(o, "hint")), finding_hint(F_DIGEST_MISSING));
	o = json_array_get(json_object_get(doc, "cells"), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "newest_delivery")), 1700000000);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "findings");
	o = json_array_get(json_object_get(doc, "cells"), 1);
	assert_true(json_is_null(json_object_get(o, "newest_delivery")));
	assert_string_equal(json_string_value(json_object_get(o, "status")), "unchecked");
	s = json_dumps(doc, JSON_COMPACT);
	assert_non_null(s);
	free(s);
	json_decref(doc);
	cell_release(&cells[0]);
	cell_release(&cells[1]);
	findings_release(&f);
}

static void test_prometheus(void **state)
{
	struct findings f;
	struct cell_stats cells[2];
	struct buf b = BUF_INIT_LIMIT(1 << 20);
	const char *t;

	(void)state;
	findings_init(&f);
	findings_add(&f, F_LOG_MISSING, "1", "r", "b", "k", "x");
	cell_init(&cells[0], "1", "us-east-1");
	cell_init(&cells[1], "2\"\\\n", "eu-west-1");
	cells[0].has_newest = 1;
	cells[0].newest_delivery = 1000;
	cells[0].logs_checked = 7;
	cells[1].digests_checked = 3;
	assert_int_equal(findings_to_prometheus(&b, &f, cells, 2, 1600), 0);
	t = buf_cstr(&b);
	assert_non_null(strstr(t, "# TYPE trailkeep_delivery_age_seconds gauge\n"));
	assert_non_null(strstr(t, "trailkeep_delivery_age_seconds{account=\"1\",region=\"us-east-1\"} 600\n"));
	assert_non_null(strstr(t, "trailkeep_delivery_age_seconds{account=\"2\\\"\\\\\\n\",region=\"eu-west-1\"} +Inf\n"));
	assert_non_null(strstr(t, "trailkeep_findings{code=\"log_missing\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_findings{code=\"cell_unchecked\"} 0\n"));
	assert_non_null(strstr(t, "trailkeep_objects_checked_total{kind=\"digest\"} 3\n"));
	assert_non_null(strstr(t, "trailkeep_objects_checked_total{kind=\"log\"} 7\n"));
	assert_non_null(strstr(t, "# HELP trailkeep_findings "));
	buf_release(&b);
	/* a too-small limit is an error, not a silent truncation */
	buf_init(&b, 64);
	assert_int_equal(findings_to_prometheus(&b, &f, cells, 2, 1600), TK_ELIMIT);
	buf_release(&b);
	cell_release(&cells[0]);
	cell_release(&cells[1]);
	findings_release(&f);
}

/* --metrics for alerting (issue 16/18): last run, per-cell status as a state
 * set (an error finding makes a cell red, a warning alone does not, an
 * unchecked cell is only unchecked), cell totals, integrity failures per
 * cell, per-cell findings by code; hostile label bytes never reach the file. */
static void test_prometheus_cells(void **state)
{
	struct findings f;
	struct cell_stats cells[4];
	struct buf b = BUF_INIT_LIMIT(1 << 20);
	const char *t;

	(void)state;
	findings_init(&f);
	findings_add(&f, F_LOG_MISSING, "1", "r1", "b", "k1", "x");
	findings_add(&f, F_LOG_MISSING, "1", "r1", "b", "k2", "x");
	findings_add(&f, F_DIGEST_CHAIN_GAP, "1", "r1", "b", "k3", "x");
	findings_add(&f, F_DELIVERY_STALE, "1", "r1", NULL, NULL, "x");
	findings_add(&f, F_GLOBAL_EVENTS_DUPLICATED, "2", "r1", NULL, NULL, "x");
	findings_add(&f, F_CELL_UNCHECKED, "3", "r1", NULL, NULL, "x");
	findings_add(&f, F_ACCESS_DENIED, "3", "r1", NULL, NULL, "x");
	findings_add(&f, F_ACCOUNT_UNCONFIGURED, "9\\\xff\x01", NULL, NULL, NULL, "x");
	findings_sort(&f);
	cell_init(&cells[0], "1", "r1");
	cell_init(&cells[1], "2", "r1");
	cell_init(&cells[2], "3", "r1");
	cell_init(&cells[3], "4", "r1");
	cells_tally(cells, 4, &f);
	assert_int_equal(findings_to_prometheus(&b, &f, cells, 4, 1767225600), 0);
	t = buf_cstr(&b);
	assert_non_null(strstr(t, "# TYPE trailkeep_last_run_timestamp_seconds gauge\n"
			       "trailkeep_last_run_timestamp_seconds 1767225600\n"));
	assert_non_null(strstr(t, "# TYPE trailkeep_cell_status gauge\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"1\",region=\"r1\",status=\"red\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"1\",region=\"r1\",status=\"ok\"} 0\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"2\",region=\"r1\",status=\"warning\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"2\",region=\"r1\",status=\"red\"} 0\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"3\",region=\"r1\",status=\"unchecked\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"3\",region=\"r1\",status=\"red\"} 0\n"));
	assert_non_null(strstr(t, "trailkeep_cell_status{account=\"4\",region=\"r1\",status=\"ok\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cells{status=\"ok\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cells{status=\"warning\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cells{status=\"red\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cells{status=\"unchecked\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_integrity_failures{account=\"1\",region=\"r1\"} 3\n"));
	assert_non_null(strstr(t, "trailkeep_integrity_failures{account=\"4\",region=\"r1\"} 0\n"));
	assert_non_null(strstr(t, "trailkeep_cell_findings{account=\"1\",region=\"r1\",code=\"log_missing\",severity=\"error\"} 2\n"));
	assert_non_null(strstr(t, "trailkeep_cell_findings{account=\"1\",region=\"r1\",code=\"delivery_stale\",severity=\"error\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cell_findings{account=\"2\",region=\"r1\",code=\"global_events_duplicated\",severity=\"warning\"} 1\n"));
	assert_non_null(strstr(t, "trailkeep_cell_findings{account=\"9\\\\??\",region=\"\",code=\"account_unconfigured\",severity=\"warning\"} 1\n"));
	assert_null(strstr(t, "\xff"));
	assert_null(strstr(t, "\x01"));
	assert_null(strstr(t, "cell_findings{account=\"4\""));
	buf_release(&b);
	cell_release(&cells[0]);
	cell_release(&cells[1]);
	cell_release(&cells[2]);
	cell_release(&cells[3]);
	findings_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_sort_and_json),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_prometheus_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
