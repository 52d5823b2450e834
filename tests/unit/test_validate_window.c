/* test_validate_window.c: validate online keeps at most max_active_cells
 * cells in progress (a cell's listings and digests are freed when it is
 * done, so memory is per cell in flight, not per cell of the run: issue 17,
 * 17,000 cells under 256 MiB), and the findings do not depend on it.
 * Against the local fake AWS (tests/fakeaws): an empty log bucket, so every
 * cell ends with "no digest file found" (digest_missing, as the AWS CLI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "aws.h"
#include "aws_async.h"
#include "findings.h"
#include "s3.h"
#include "validate.h"
#include "banned.h"

#define NOW 1767225600   /* 2026-01-01T00:00:00Z */
#define MGMT "111111111111"
#define BUCKET "tk-window-test"
#define NCELLS 40

static struct tu_server fake;
static char *fake_url;
static struct http_pool *pool;
static struct aws_sched *sched;
static struct endpoint_config epcfg;
static struct aws_ctx ctx;
static struct aws_creds mgmt;

static time_t clock_fn(void *ud)
{
	(void)ud;
	return NOW;
}

static void no_sleep(void *ud, long ms)
{
	(void)ud;
	(void)ms;
}

static int setup(void **state)
{
	struct aws_ctx_options o;
	struct errbuf err;
	json_t *org, *a;
	size_t i;

	(void)state;
	if (tu_fakeaws_start(&fake, "7"))
		return -1;
	fake_url = xasprintf("http://127.0.0.1:%d", fake.port);
	if (http_pool_new(&pool, NULL, &err))
		return -1;
	aws_sched_new(&sched, pool);
	json_decref(tu_fakeaws_control(pool, fake_url, "set_auth_clock", "{\"time\": 1767225600}"));
	org = tu_fakeaws_control(pool, fake_url, "seed_org", "{\"members\": 1}");
	if (!org)
		return -1;
	json_array_foreach(json_object_get(org, "accounts"), i, a) {
		const char *id = json_string_value(json_object_get(a, "account"));

		if (!id)
			id = json_string_value(json_object_get(a, "id"));
		if (id && !strcmp(id, MGMT)) {
			mgmt.access_key_id = aws_json_strdup(a, "access_key_id");
			mgmt.secret_access_key = aws_json_strdup(a, "secret_access_key");
			mgmt.session_token = aws_json_strdup(a, "session_token");
		}
	}
	json_decref(org);
	if (!mgmt.access_key_id)
		return -1;
	epcfg.cli_url = fake_url;
	memset(&o, 0, sizeof(o));
	o.http = pool;
	o.creds = &mgmt;
	o.region = "us-east-1";
	o.endpoints = &epcfg;
	o.clock = clock_fn;
	o.sleep_ms = no_sleep;
	o.seed = 3;
	if (aws_ctx_init(&ctx, &o, &err))
		return -1;
	return s3_create_bucket(&ctx, BUCKET, "us-east-1", false, &err) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	aws_ctx_release(&ctx);
	aws_creds_release(&mgmt);
	aws_sched_free(sched);
	http_pool_free(pool);
	tu_server_stop(&fake);
	free(fake_url);
	return 0;
}

static size_t max_active_seen, progress_calls;

static void on_progress(void *ud, const struct validate_progress *p)
{
	(void)ud;
	progress_calls++;
	if (p->cells_active > max_active_seen)
		max_active_seen = p->cells_active;
}

/* Run validate over NCELLS cells with the given window: each cell must
 * have exactly one finding, digest_missing. */
static void run(size_t window)
{
	static char accts[NCELLS][13];
	struct validate_cell cells[NCELLS];
	struct validate_opts o;
	struct findings f;
	struct cell_stats *stats = NULL;
	struct errbuf err;
	size_t i, j;

	for (i = 0; i < NCELLS; i++) {
		snprintf(accts[i], sizeof(accts[i]), "2000000000%02zu", i);
		cells[i].account = accts[i];
		cells[i].region = i % 2 ? "us-east-1" : "eu-west-1";
	}
	memset(&o, 0, sizeof(o));
	o.bucket = BUCKET;
	o.trail = "org-trail";
	o.home_region = "us-east-1";
	o.cells = cells;
	o.ncells = NCELLS;
	o.start = NOW - 3 * 3600;
	o.end = NOW;
	o.aws = &ctx;
	o.sched = sched;
	o.threads = 2;
	o.max_active_cells = window;
	o.progress = on_progress;
	findings_init(&f);
	max_active_seen = progress_calls = 0;
	if (validate_run(&o, &f, &stats, &err))
		fail_msg("validate_run: %s", err.msg);
	assert_int_equal(f.n, NCELLS);
	for (i = 0; i < NCELLS; i++) {
		int found = 0;

		for (j = 0; j < f.n; j++)
			if (!strcmp(f.v[j].account, accts[i]) && f.v[j].code == F_DIGEST_MISSING)
				found++;
		assert_int_equal(found, 1);
		cell_release(&stats[i]);
	}
	free(stats);
	findings_release(&f);
	assert_true(progress_calls > 0);
}

static void test_window_bounds_cells_in_progress(void **state)
{
	(void)state;
	run(3);
	assert_true(max_active_seen >= 1);
	assert_true(max_active_seen <= 3);
}

static void test_default_window(void **state)
{
	(void)state;
	run(0);   /* VALIDATE_ACTIVE_CELLS: all 40 at once, the same findings */
	assert_true(max_active_seen <= NCELLS);
	assert_true(max_active_seen > 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_bounds_cells_in_progress),
		cmocka_unit_test(test_default_window),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
