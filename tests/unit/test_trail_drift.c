/* test_trail_drift.c: every difference between a planned and a current
 * trail, in one place (trail_drift.h).  Expected items are taken from the
 * header's contract and the README (apply: unset convergence). */
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
#include "trail_drift.h"
#include "banned.h"

#define KEY "arn:aws:kms:us-east-1:222222222222:key/1111-2222"
#define ALIAS_ARN "arn:aws:kms:us-east-1:222222222222:alias/acme-cloudtrail"

static const char *PLAN =
	"{\"CreateTrail\": {\"Name\": \"org-trail\", \"S3BucketName\": \"acme-logs\","
	" \"IsMultiRegionTrail\": true, \"IncludeGlobalServiceEvents\": true,"
	" \"EnableLogFileValidation\": true, \"IsOrganizationTrail\": true,"
	" \"KmsKeyId\": \"" ALIAS_ARN "\"},"
	" \"PutEventSelectors\": {\"TrailName\": \"arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail\","
	"  \"AdvancedEventSelectors\": ["
	"   {\"Name\": \"Management events\", \"FieldSelectors\": [{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}]},"
	"   {\"Name\": \"S3 data events on selected buckets\", \"FieldSelectors\": ["
	"     {\"Field\": \"eventCategory\", \"Equals\": [\"Data\"]},"
	"     {\"Field\": \"resources.type\", \"Equals\": [\"AWS::S3::Object\"]},"
	"     {\"Field\": \"resources.ARN\", \"StartsWith\": [\"arn:aws:s3:::acme-payroll/\", \"arn:aws:s3:::acme-secrets/\"]}]}]}}";

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test JSON: %s at %d", je.text, je.column);
	return j;
}

/* a trail as GetTrail returns it for the plan above */
static void trail_ok(struct ct_trail *t)
{
	memset(t, 0, sizeof(*t));
	t->name = xstrdup("org-trail");
	t->s3_bucket = xstrdup("acme-logs");
	t->kms_key_id = xstrdup(KEY);
	t->multi_region = 1;
	t->global_events = 1;
	t->log_file_validation = 1;
	t->organization = 1;
	t->custom_event_selectors = 1;
}

/* the selectors as GetEventSelectors returns them for the plan (reordered:
 * order does not matter) */
static json_t *sel_ok(void)
{
	return load("{\"TrailARN\": \"x\", \"AdvancedEventSelectors\": ["
		    " {\"Name\": \"S3 data events on selected buckets\", \"FieldSelectors\": ["
		    "   {\"Field\": \"resources.ARN\", \"StartsWith\": [\"arn:aws:s3:::acme-secrets/\", \"arn:aws:s3:::acme-payroll/\"]},"
		    "   {\"Field\": \"eventCategory\", \"Equals\": [\"Data\"]},"
		    "   {\"Field\": \"resources.type\", \"Equals\": \"AWS::S3::Object\"}]},"
		    " {\"Name\": \"Management events\", \"FieldSelectors\": [{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}]}]}");
}

struct fx {
	json_t *plan;
	struct ct_trail t;
	json_t *sel;
	struct trail_drift d;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->plan = load(PLAN);
	trail_ok(&f->t);
	f->sel = sel_ok();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	json_decref(f->plan);
	json_decref(f->sel);
	ct_trail_release(&f->t);
	trail_drift_release(&f->d);
	free(f);
	return 0;
}

static void compute(struct fx *f, const char *key)
{
	struct errbuf err;

	trail_drift_release(&f->d);
	assert_int_equal(trail_drift_compute(f->plan, &f->t, f->sel, key, &f->d, &err), 0);
}

/* exactly one item: setting, current, planned (NULL: unset, "*": any text) */
static void one(struct fx *f, enum trail_drift_kind kind, const char *setting, const char *cur, const char *pl)
{
	const struct trail_drift_item *it;

	if (f->d.n != 1) {
		size_t i;

		for (i = 0; i < f->d.n; i++)
			print_message("item %zu: %s\n", i, f->d.v[i].setting);
		fail_msg("%zu items, expected 1 (%s)", f->d.n, setting);
	}
	it = trail_drift_find(&f->d, setting);
	assert_non_null(it);
	assert_int_equal(it->kind, kind);
	if (cur && !strcmp(cur, "*"))   /* any text */
		assert_non_null(it->current);
	else if (cur)
		assert_string_equal(it->current, cur);
	else
		assert_null(it->current);
	if (pl && !strcmp(pl, "*"))
		assert_non_null(it->planned);
	else if (pl)
		assert_string_equal(it->planned, pl);
	else
		assert_null(it->planned);
	assert_true(kind == TRAIL_DRIFT_TRAIL ? f->d.trail_differs && !f->d.selectors_differ :
		    f->d.selectors_differ && !f->d.trail_differs);
}

static void test_equal(void **state)
{
	struct fx *f = *state;

	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
	assert_false(f->d.key_unknown);
	assert_false(f->d.trail_differs);
	assert_false(f->d.selectors_differ);
}

static void test_booleans(void **state)
{
	struct fx *f = *state;

	f->t.organization = 0;
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "IsOrganizationTrail", "false", "true");
	f->t.organization = -1;   /* absent: false */
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "IsOrganizationTrail", "false", "true");
	f->t.organization = 1;
	f->t.multi_region = 0;
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "IsMultiRegionTrail", "false", "true");
	f->t.multi_region = 1;
	f->t.global_events = 0;
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "IncludeGlobalServiceEvents", "false", "true");
	f->t.global_events = 1;
	f->t.log_file_validation = 0;
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "EnableLogFileValidation", "false", "true");
	/* planned false, current true */
	f->t.log_file_validation = 1;
	json_object_set_new(json_object_get(f->plan, "CreateTrail"), "EnableLogFileValidation", json_false());
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "EnableLogFileValidation", "true", "false");
}

static void test_bucket(void **state)
{
	struct fx *f = *state;

	free(f->t.s3_bucket);
	f->t.s3_bucket = xstrdup("other-bucket");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "S3BucketName", "other-bucket", "acme-logs");
	free(f->t.s3_bucket);
	f->t.s3_bucket = NULL;
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "S3BucketName", NULL, "acme-logs");
}

static void test_prefix(void **state)
{
	struct fx *f = *state;
	char *line;

	/* set but planned unset: apply must clear it */
	f->t.s3_prefix = xstrdup("someone/else");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "S3KeyPrefix", "someone/else", NULL);
	line = trail_drift_describe(&f->d.v[0]);
	assert_string_equal(line, "S3KeyPrefix is 'someone/else', planned unset");
	free(line);
	/* an empty prefix is no prefix */
	free(f->t.s3_prefix);
	f->t.s3_prefix = xstrdup("");
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
	/* planned, missing */
	json_object_set_new(json_object_get(f->plan, "CreateTrail"), "S3KeyPrefix", json_string("logs"));
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "S3KeyPrefix", NULL, "logs");
	/* planned, another */
	free(f->t.s3_prefix);
	f->t.s3_prefix = xstrdup("logs2");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "S3KeyPrefix", "logs2", "logs");
	free(f->t.s3_prefix);
	f->t.s3_prefix = xstrdup("logs");
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
}

static void test_key(void **state)
{
	struct fx *f = *state;

	/* another key */
	free(f->t.kms_key_id);
	f->t.kms_key_id = xstrdup("arn:aws:kms:us-east-1:222222222222:key/other");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "KmsKeyId", "arn:aws:kms:us-east-1:222222222222:key/other", KEY);
	assert_false(f->d.key_unknown);
	/* the planned key could not be resolved: never "equal" */
	compute(f, NULL);
	assert_int_equal(f->d.n, 0);
	assert_true(f->d.key_unknown);
	compute(f, "");
	assert_true(f->d.key_unknown);
	/* even the same key is not "equal" when it could not be resolved */
	free(f->t.kms_key_id);
	f->t.kms_key_id = xstrdup(KEY);
	compute(f, NULL);
	assert_true(f->d.key_unknown);
	/* no key on the trail: a difference whatever the resolution */
	free(f->t.kms_key_id);
	f->t.kms_key_id = NULL;
	compute(f, NULL);
	one(f, TRAIL_DRIFT_TRAIL, "KmsKeyId", NULL, ALIAS_ARN);
	assert_false(f->d.key_unknown);
	compute(f, KEY);
	one(f, TRAIL_DRIFT_TRAIL, "KmsKeyId", NULL, KEY);
	/* a key the plan does not have: planned unset */
	json_object_del(json_object_get(f->plan, "CreateTrail"), "KmsKeyId");
	f->t.kms_key_id = xstrdup(KEY);
	compute(f, NULL);
	one(f, TRAIL_DRIFT_TRAIL, "KmsKeyId", KEY, NULL);
	assert_false(f->d.key_unknown);
}

static void set_sel(struct fx *f, const char *text)
{
	json_decref(f->sel);
	f->sel = load(text);
}

#define MGMT_RO "{\"Name\": \"Management events\", \"FieldSelectors\": [{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}, {\"Field\": \"readOnly\", \"Equals\": [\"true\"]}]}"
#define MGMT_WO "{\"Name\": \"Management events\", \"FieldSelectors\": [{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}, {\"Field\": \"readOnly\", \"Equals\": [\"false\"]}]}"
#define MGMT "{\"Name\": \"Management events\", \"FieldSelectors\": [{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}]}"
#define DATA(arns) "{\"Name\": \"S3 data events on selected buckets\", \"FieldSelectors\": [" \
	"{\"Field\": \"eventCategory\", \"Equals\": [\"Data\"]}, {\"Field\": \"resources.type\", \"Equals\": [\"AWS::S3::Object\"]}," \
	"{\"Field\": \"resources.ARN\", \"StartsWith\": [" arns "]}]}"
#define BOTH "\"arn:aws:s3:::acme-payroll/\", \"arn:aws:s3:::acme-secrets/\""

static void test_selectors_read_only(void **state)
{
	struct fx *f = *state;

	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT_RO ", " DATA(BOTH) "]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "management events", "read-only", "all");
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT_WO ", " DATA(BOTH) "]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "management events", "write-only", "all");
	/* read-only and write-only selectors together log everything: the same
	 * coverage, not drift */
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT_RO ", " MGMT_WO ", " DATA(BOTH) "]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
	assert_false(f->d.selectors_differ);
}

static void test_selectors_basic(void **state)
{
	struct fx *f = *state;

	set_sel(f, "{\"EventSelectors\": [{\"ReadWriteType\": \"ReadOnly\", \"IncludeManagementEvents\": true,"
		   " \"DataResources\": [{\"Type\": \"AWS::S3::Object\", \"Values\": [" BOTH "]}],"
		   " \"ExcludeManagementEventSources\": []}]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 3);
	assert_string_equal(trail_drift_find(&f->d, "management events")->current, "read-only");
	assert_string_equal(trail_drift_find(&f->d, "S3 data events of 'arn:aws:s3:::acme-payroll/'")->current,
			    "read-only");
	/* AWS's default selector (no selectors set): management only */
	set_sel(f, "{\"TrailARN\": \"x\"}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 2);
	assert_null(trail_drift_find(&f->d, "management events"));
	assert_string_equal(trail_drift_find(&f->d, "S3 data events of 'arn:aws:s3:::acme-secrets/'")->current,
			    "none");
	/* basic form logging the same: only the form differs, not drift */
	set_sel(f, "{\"EventSelectors\": [{\"ReadWriteType\": \"All\","
		   " \"DataResources\": [{\"Type\": \"AWS::S3::Object\", \"Values\": [" BOTH "]}]}]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
	/* a selector of the wrong type is never the default */
	set_sel(f, "{\"EventSelectors\": [{\"ReadWriteType\": 7, \"IncludeManagementEvents\": true}]}");
	compute(f, KEY);
	assert_string_equal(trail_drift_find(&f->d, "management events")->current, "filtered");
}

static void test_selectors_no_management(void **state)
{
	struct fx *f = *state;

	set_sel(f, "{\"AdvancedEventSelectors\": [" DATA(BOTH) "]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "management events", "none", "all");
	/* management filtered by another field */
	set_sel(f, "{\"AdvancedEventSelectors\": [" DATA(BOTH) ", {\"Name\": \"Management events\", \"FieldSelectors\": ["
		   "{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]},"
		   "{\"Field\": \"eventSource\", \"NotEquals\": [\"kms.amazonaws.com\"]}]}]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "management events", "filtered", "all");
}

static void test_selectors_filters_differ(void **state)
{
	struct fx *f = *state;
	json_t *adv = json_object_get(json_object_get(f->plan, "PutEventSelectors"), "AdvancedEventSelectors");

	/* a plan (custom template) whose management selector leaves out KMS
	 * events; the trail leaves out RDS data API events instead: both are
	 * "filtered", yet not the same */
	json_array_append_new(json_object_get(json_array_get(adv, 0), "FieldSelectors"),
			      json_pack("{s:s, s:[s]}", "Field", "eventSource", "NotEquals", "kms.amazonaws.com"));
	set_sel(f, "{\"AdvancedEventSelectors\": [" DATA(BOTH) ", {\"Name\": \"Management events\", \"FieldSelectors\": ["
		   "{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]},"
		   "{\"Field\": \"eventSource\", \"NotEquals\": [\"rdsdata.amazonaws.com\"]}]}]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "event selectors", "*", "*");
	assert_non_null(strstr(f->d.v[0].current, "rdsdata"));
	assert_non_null(strstr(f->d.v[0].planned, "kms.amazonaws.com"));
	/* the same filter, fields in another order, a value as a string: equal */
	set_sel(f, "{\"AdvancedEventSelectors\": [{\"Name\": \"Management events\", \"FieldSelectors\": ["
		   "{\"Field\": \"eventSource\", \"NotEquals\": \"kms.amazonaws.com\"},"
		   "{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}]}, " DATA(BOTH) "]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
}

static void test_selectors_data_bucket(void **state)
{
	struct fx *f = *state;

	/* a configured data-event bucket missing */
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT ", " DATA("\"arn:aws:s3:::acme-payroll/\"") "]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "S3 data events of 'arn:aws:s3:::acme-secrets/'", "none", "all");
	/* the whole data selector gone */
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT "]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 2);
	/* an extra bucket */
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT ", " DATA(BOTH ", \"arn:aws:s3:::third/\"") "]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "S3 data events of 'arn:aws:s3:::third/'", "all", "none");
	/* every bucket (no resources.ARN) covers the planned ones but is more */
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT ", {\"Name\": \"all\", \"FieldSelectors\": ["
		   "{\"Field\": \"eventCategory\", \"Equals\": [\"Data\"]}, {\"Field\": \"resources.type\", \"Equals\": [\"AWS::S3::Object\"]}]}]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "S3 data events of '*'", "all", "none");
	/* data events only read */
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT ", {\"Name\": \"S3 data events on selected buckets\", \"FieldSelectors\": ["
		   "{\"Field\": \"eventCategory\", \"Equals\": [\"Data\"]}, {\"Field\": \"resources.type\", \"Equals\": [\"AWS::S3::Object\"]},"
		   "{\"Field\": \"readOnly\", \"Equals\": [\"true\"]},"
		   "{\"Field\": \"resources.ARN\", \"StartsWith\": [" BOTH "]}]}]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 2);
	assert_string_equal(trail_drift_find(&f->d, "S3 data events of 'arn:aws:s3:::acme-payroll/'")->current,
			    "read-only");
}

static void test_selectors_extra(void **state)
{
	struct fx *f = *state;

	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT ", " DATA(BOTH) ", {\"Name\": \"lambda\", \"FieldSelectors\": ["
		   "{\"Field\": \"eventCategory\", \"Equals\": [\"Data\"]}, {\"Field\": \"resources.type\", \"Equals\": [\"AWS::Lambda::Function\"]}]}]}");
	compute(f, KEY);
	one(f, TRAIL_DRIFT_SELECTORS, "event selector", "*", NULL);
	assert_non_null(strstr(f->d.v[0].current, "AWS::Lambda::Function"));
}

static void test_selectors_other_differences(void **state)
{
	struct fx *f = *state;

	/* a renamed selector logs the same: not drift */
	set_sel(f, "{\"AdvancedEventSelectors\": [{\"Name\": \"mgmt\", \"FieldSelectors\": [{\"Field\": \"eventCategory\", \"Equals\": [\"Management\"]}]}, " DATA(BOTH) "]}");
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
	/* hostile shapes are compared, never skipped */
	set_sel(f, "{\"AdvancedEventSelectors\": {\"x\": 1}}");
	compute(f, KEY);
	assert_true(f->d.selectors_differ);
	set_sel(f, "{\"AdvancedEventSelectors\": [7, \"x\"]}");
	compute(f, KEY);
	assert_true(f->d.selectors_differ);
	set_sel(f, "{\"EventSelectors\": [7]}");
	compute(f, KEY);
	assert_true(f->d.selectors_differ);
	set_sel(f, "{\"EventSelectors\": [{\"DataResources\": {\"Type\": \"AWS::S3::Object\"}}]}");
	compute(f, KEY);
	assert_true(f->d.selectors_differ);
}

static void test_selectors_unknown(void **state)
{
	struct fx *f = *state;
	struct errbuf err;

	json_decref(f->sel);
	f->sel = NULL;
	compute(f, KEY);
	assert_int_equal(f->d.n, 0);
	assert_true(f->d.selectors_unknown);
	/* a plan without PutEventSelectors does not manage them */
	json_object_del(f->plan, "PutEventSelectors");
	compute(f, KEY);
	assert_false(f->d.selectors_unknown);
	/* no CreateTrail: usage error */
	json_object_del(f->plan, "CreateTrail");
	trail_drift_release(&f->d);
	assert_int_equal(trail_drift_compute(f->plan, &f->t, NULL, KEY, &f->d, &err), TK_EUSAGE);
}

static void test_several(void **state)
{
	struct fx *f = *state;

	f->t.s3_prefix = xstrdup("p");
	f->t.multi_region = 0;
	set_sel(f, "{\"AdvancedEventSelectors\": [" MGMT_RO "]}");
	compute(f, NULL);
	assert_int_equal(f->d.n, 5);   /* prefix, multi-region, management, two buckets */
	assert_true(f->d.trail_differs);
	assert_true(f->d.selectors_differ);
	assert_true(f->d.key_unknown);
}

/* a trail that never had selectors put (AWS's default) gets the plan's:
 * HasCustomEventSelectors false is drift even when the coverage is the same */
static void test_selectors_never_put(void **state)
{
	struct fx *f = *state;

	/* the selectors as planned (setup), but never put */
	f->t.custom_event_selectors = 0;
	compute(f, KEY);
	assert_true(f->d.selectors_differ);
	assert_non_null(trail_drift_find(&f->d, "event selectors"));
	f->t.custom_event_selectors = -1;   /* not in the answer: not judged by it */
	compute(f, KEY);
	assert_null(trail_drift_find(&f->d, "event selectors"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_never_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bucket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_no_management, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_data_bucket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_filters_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_extra, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_other_differences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
