/* test_validate_local.c: validate_run (validate.h) offline on the integrity
 * fixtures: several cells in one run, per-cell statistics, "no digest" as a
 * finding for a cell with nothing, a missing public-keys.json and a missing
 * directory as errors, the gzip-bomb cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "findings.h"
#include "timeutil.h"
#include "validate.h"
#include "banned.h"

#define FIX "tests/fixtures/integrity"

static void opts(struct validate_opts *o, const char *dir, const struct validate_cell *cells,
		 size_t n)
{
	memset(o, 0, sizeof(*o));
	o->bucket = "tk-fixture-bucket";
	o->prefix = "logs";
	o->trail = "org-trail";
	o->home_region = "us-east-1";
	o->cells = cells;
	o->ncells = n;
	tk_parse_time("2024-03-01T00:00:00Z", &o->start);
	tk_parse_time("2024-03-01T05:00:00Z", &o->end);
	o->local_dir = dir;
	o->max_inflated = 1u << 20;
}

static void free_cells(struct cell_stats *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cell_release(&c[i]);
	free(c);
}

static void test_two_cells(void **state)
{
	static const struct validate_cell cells[] = {
		{ "111122223333", "us-east-1" },
		{ "111122223333", "eu-west-1" },     /* nothing there */
	};
	struct validate_opts o;
	struct findings f;
	struct cell_stats *cs = NULL;
	struct errbuf err;
	time_t t;

	(void)state;
	opts(&o, FIX "/clean", cells, 2);
	findings_init(&f);
	assert_int_equal(validate_run(&o, &f, &cs, &err), 0);
	assert_non_null(cs);
	cells_tally(cs, 2, &f);
	assert_int_equal(cs[0].digests_checked, 5);
	assert_int_equal(cs[0].logs_checked, 10);
	assert_int_equal(cs[0].status, CELL_OK);
	assert_true(cs[0].has_newest);
	tk_parse_time("2024-03-01T04:40:00Z", &t);
	assert_int_equal(cs[0].newest_delivery, t);
	/* the empty region: "no digest found" is a finding, never success */
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_DIGEST_MISSING);
	assert_string_equal(f.v[0].region, "eu-west-1");
	assert_int_equal(cs[1].status, CELL_FINDINGS);
	assert_int_equal(cs[1].digests_checked, 0);
	assert_false(cs[1].has_newest);
	free_cells(cs, 2);
	findings_release(&f);
}

static void test_bomb_cap(void **state)
{
	static const struct validate_cell cells[] = { { "111122223333", "us-east-1" } };
	struct validate_opts o;
	struct findings f;
	struct cell_stats *cs = NULL;
	struct errbuf err;

	(void)state;
	opts(&o, FIX "/log-bomb", cells, 1);
	findings_init(&f);
	assert_int_equal(validate_run(&o, &f, &cs, &err), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_LOG_FORMAT_INVALID);
	free_cells(cs, 1);
	findings_release(&f);
	/* without the cap (default 4 GiB) the bomb inflates fully: a mismatch */
	opts(&o, FIX "/log-bomb", cells, 1);
	o.max_inflated = 0;
	findings_init(&f);
	assert_int_equal(validate_run(&o, &f, &cs, &err), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_LOG_HASH_MISMATCH);
	free_cells(cs, 1);
	findings_release(&f);
}

static void test_errors(void **state)
{
	static const struct validate_cell cells[] = { { "111122223333", "us-east-1" } };
	struct validate_opts o;
	struct findings f;
	struct cell_stats *cs = NULL;
	struct errbuf err;

	(void)state;
	findings_init(&f);
	opts(&o, FIX "/no-such-scenario", cells, 1);
	assert_int_equal(validate_run(&o, &f, &cs, &err), TK_EUSAGE);
	assert_null(cs);
	assert_non_null(strstr(err.msg, "cannot open '" FIX "/no-such-scenario'"));
	/* a directory without public-keys.json */
	opts(&o, FIX "/keys", cells, 1);
	assert_int_equal(validate_run(&o, &f, &cs, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "public-keys.json"));
	assert_int_equal(f.n, 0);
	/* a window that ends before it starts */
	opts(&o, FIX "/clean", cells, 1);
	o.end = o.start - 1;
	assert_int_equal(validate_run(&o, &f, &cs, &err), TK_EUSAGE);
	findings_release(&f);
}

/* the same run twice (one thread, then four) gives the same findings */
static void test_deterministic(void **state)
{
	static const struct validate_cell cells[] = { { "111122223333", "us-east-1" } };
	struct validate_opts o;
	struct findings a, b;
	struct cell_stats *cs = NULL;
	struct errbuf err;
	size_t i;

	(void)state;
	opts(&o, FIX "/digest-deleted", cells, 1);
	findings_init(&a);
	findings_init(&b);
	assert_int_equal(validate_run(&o, &a, &cs, &err), 0);
	free_cells(cs, 1);
	o.threads = 4;   /* hashing on 4 threads: the same findings, same order */
	assert_int_equal(validate_run(&o, &b, &cs, &err), 0);
	assert_int_equal(cs[0].logs_checked, 8);
	free_cells(cs, 1);
	findings_sort(&a);
	findings_sort(&b);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_int_equal(a.v[i].code, b.v[i].code);
		assert_string_equal(a.v[i].key, b.v[i].key);
	}
	findings_release(&a);
	findings_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_cells),
		cmocka_unit_test(test_bomb_cap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
