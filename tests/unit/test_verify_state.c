/* test_verify_state.c: incremental integrity (verify --state): the state
 * file (verify_state.h: round trip, 0600, refusals) and anchored chain
 * walks (validate.h anchors, chain.h anchor) over the clean fixture of
 * tests/fixtures/integrity with --local. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "findings.h"
#include "timeutil.h"
#include "validate.h"
#include "verify_state.h"
#include "testutil.h"
#include "banned.h"

#define FIX "tests/fixtures/integrity"

static const struct validate_cell CELLS[] = { { "111122223333", "us-east-1" } };

static void opts(struct validate_opts *o, const char *end, struct validate_anchor *a)
{
	memset(o, 0, sizeof(*o));
	o->bucket = "tk-fixture-bucket";
	o->prefix = "logs";
	o->trail = "org-trail";
	o->home_region = "us-east-1";
	o->cells = CELLS;
	o->ncells = 1;
	tk_parse_time("2024-03-01T00:00:00Z", &o->start);
	tk_parse_time(end, &o->end);
	o->local_dir = FIX "/clean";
	o->max_inflated = 1u << 20;
	o->anchors = a;
}

/* run; returns digests_checked, findings in f */
static size_t run(const char *end, struct validate_anchor *a, struct findings *f)
{
	struct validate_opts o;
	struct cell_stats *cs = NULL;
	struct errbuf err;
	size_t n;

	opts(&o, end, a);
	assert_int_equal(validate_run(&o, f, &cs, &err), 0);
	n = cs[0].digests_checked;
	cell_release(&cs[0]);
	free(cs);
	return n;
}

static void free_anchor(struct validate_anchor *a)
{
	free(a->new_key);
	free(a->new_sig);
	a->new_key = a->new_sig = NULL;
}

static void test_anchored_walk(void **state)
{
	struct validate_anchor a, b;
	struct findings f;
	size_t first, second, whole;

	(void)state;
	findings_init(&f);
	whole = run("2024-03-01T05:00:00Z", NULL, &f);
	assert_int_equal(whole, 5);
	assert_int_equal(f.n, 0);

	/* first run: an earlier window; its newest valid digest is the anchor */
	memset(&a, 0, sizeof(a));
	first = run("2024-03-01T02:00:00Z", &a, &f);
	assert_int_equal(f.n, 0);
	assert_non_null(a.new_key);
	assert_true(strlen(a.new_sig) >= 256);
	assert_true(first > 0 && first < whole);

	/* second run from the anchor: only what is new, and the whole chain together */
	memset(&b, 0, sizeof(b));
	b.key = a.new_key;
	b.sig = a.new_sig;
	b.end = a.new_end;
	second = run("2024-03-01T05:00:00Z", &b, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(first + second, whole);
	assert_non_null(b.new_key);
	assert_true(b.new_end > a.new_end);
	free_anchor(&b);

	/* a stored signature the chain does not carry: digest_chain_gap naming the anchor */
	memset(&b, 0, sizeof(b));
	b.key = a.new_key;
	b.sig = "abababababababababababababababababababababababababababababababab";
	b.end = a.new_end;
	run("2024-03-01T05:00:00Z", &b, &f);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.v[0].code, F_DIGEST_CHAIN_GAP);
	assert_int_equal(f.v[1].code, F_DIGEST_CHAIN_GAP);
	assert_true(strstr(f.v[0].message, a.new_key) || strstr(f.v[1].message, a.new_key));
	free_anchor(&b);
	findings_release(&f);

	/* a stored digest the chain does not arrive at: digest_chain_gap naming it */
	findings_init(&f);
	memset(&b, 0, sizeof(b));
	{
		char *gone = xstrdup(a.new_key);
		char *z = strstr(gone, "Z.json.gz");

		assert_non_null(z);
		z[-1] = z[-1] == '1' ? '2' : '1';    /* another second: no such object */
		b.key = gone;
		b.sig = a.new_sig;
		b.end = a.new_end;
		run("2024-03-01T05:00:00Z", &b, &f);
		assert_int_equal(f.n, 1);
		assert_int_equal(f.v[0].code, F_DIGEST_CHAIN_GAP);
		assert_non_null(strstr(f.v[0].message, gone));
		free(gone);
	}
	free_anchor(&b);
	free_anchor(&a);
	findings_release(&f);
}

static void cfg_init(struct tk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->bucket = (char *)(uintptr_t)"org-trail-logs";
	c->trail_name = (char *)(uintptr_t)"org-trail";
	c->org_id = (char *)(uintptr_t)"o-a1b2c3d4e5";
	c->mode = TK_MODE_ORGANIZATION;
}

static void test_state_file(void **state)
{
	char dir[] = "/tmp/tk-vstate-XXXXXX";
	struct tk_config cfg, other;
	struct verify_state st;
	struct errbuf err;
	struct stat sb;
	char *path, *bad;
	const struct verify_state_cell *c;

	(void)state;
	assert_int_equal(tu_mkdtemp(dir), 0);
	path = xasprintf("%s/state.json", dir);
	bad = xasprintf("%s/bad.json", dir);
	cfg_init(&cfg);

	/* missing: empty */
	assert_int_equal(verify_state_load(&st, path, &cfg, &err), 0);
	assert_int_equal(st.n, 0);
	verify_state_set(&st, "333333333333", "eu-west-1", "k/2", "0aff", 1767236400);
	verify_state_set(&st, "111111111111", "us-east-1", "k/1", "beef", 1767232800);
	verify_state_set(&st, "333333333333", "eu-west-1", "k/3", "00ff", 1767240000);
	assert_int_equal(verify_state_save(&st, path, &err), 0);
	verify_state_release(&st);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(verify_state_load(&st, path, &cfg, &err), 0);
	assert_int_equal(st.n, 2);
	c = verify_state_find(&st, "333333333333", "eu-west-1");
	assert_non_null(c);
	assert_string_equal(c->key, "k/3");
	assert_string_equal(c->sig, "00ff");
	assert_int_equal(c->end, 1767240000);
	assert_null(verify_state_find(&st, "333333333333", "us-east-1"));
	verify_state_release(&st);

	/* another configuration: refused */
	cfg_init(&other);
	other.trail_name = (char *)(uintptr_t)"other-trail";
	assert_int_equal(verify_state_load(&st, path, &other, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "another configuration"));
	verify_state_release(&st);
	cfg_init(&other);
	other.key_prefix = (char *)(uintptr_t)"logs";
	assert_int_equal(verify_state_load(&st, path, &other, &err), TK_EUSAGE);
	verify_state_release(&st);

	/* corrupt: refused, never ignored */
	{
		static const char *const junk[] = {
			"", "{", "[]", "{\"trailkeep_verify_state\": 2}",
			"{\"trailkeep_verify_state\": 1, \"bucket\": \"org-trail-logs\", \"prefix\": null,"
			" \"trail\": \"org-trail\", \"org\": \"o-a1b2c3d4e5\", \"cells\": [{\"account\": "
			"\"1\", \"region\": \"us-east-1\", \"digest\": \"k\", \"signature\": \"00\", "
			"\"digest_end\": \"2026-01-01T00:00:00Z\"}]}",
			"{\"trailkeep_verify_state\": 1, \"bucket\": \"org-trail-logs\", \"prefix\": null,"
			" \"trail\": \"org-trail\", \"org\": \"o-a1b2c3d4e5\", \"cells\": [{\"account\": "
			"\"111111111111\", \"region\": \"us-east-1\", \"digest\": \"k\", \"signature\": "
			"\"xyz\", \"digest_end\": \"2026-01-01T00:00:00Z\"}]}",
			"{\"trailkeep_verify_state\": 1, \"bucket\": \"org-trail-logs\", \"prefix\": null,"
			" \"trail\": \"org-trail\", \"org\": \"o-a1b2c3d4e5\", \"cells\": [{\"account\": "
			"\"111111111111\", \"region\": \"us-east-1\", \"digest\": \"k\", \"signature\": "
			"\"00\", \"digest_end\": \"2026-01-01T00:00:00Z\"}, {\"account\": "
			"\"111111111111\", \"region\": \"us-east-1\", \"digest\": \"k\", \"signature\": "
			"\"00\", \"digest_end\": \"2026-01-01T00:00:00Z\"}]}",
		};
		size_t i;

		for (i = 0; i < sizeof(junk) / sizeof(*junk); i++) {
			tu_write_file(bad, junk[i], strlen(junk[i]));
			assert_int_equal(verify_state_load(&st, bad, &cfg, &err), TK_EUSAGE);
			assert_non_null(strstr(err.msg, bad));
			verify_state_release(&st);
		}
	}
	/* atomic write leaves nothing behind on success */
	assert_int_equal(tk_write_file_atomic(path, "x\n", 2, 0600, &err), 0);
	assert_int_equal(tu_rmtree(dir), 0);
	free(path);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchored_walk),
		cmocka_unit_test(test_state_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
