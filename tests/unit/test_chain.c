/* test_chain.c: every fixture scenario of tests/fixtures/integrity/ (made
 * by make.py, checked there against the AWS CLI's own validator) run
 * through chain.c the way `validate --local` will: findings must be
 * exactly the scenario's expect.txt ("code key" lines). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "chain.h"
#include "digest.h"
#include "findings.h"
#include "loghash.h"
#include "timeutil.h"
#include "banned.h"

#define FIX "tests/fixtures/integrity"
#define BUCKET "tk-fixture-bucket"

static int read_file(const char *path, struct buf *out, size_t limit)
{
	char tmp[65536];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	buf_init(out, limit);
	if (fd < 0)
		return -1;
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		if (buf_add(out, tmp, (size_t)r) < 0) {
			close(fd);
			return -2;
		}
	close(fd);
	return 0;
}

struct keys_list {
	char **v;
	size_t n;
};

static void list_dir(const char *root, const char *rel, struct keys_list *out)
{
	char *path = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(path);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char *r, *full;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		r = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		full = xasprintf("%s/%s", root, r);
		assert_int_equal(lstat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			list_dir(root, r, out);
			free(r);
		} else {
			out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
			out->v[out->n++] = r;
		}
		free(full);
	}
	closedir(d);
	free(path);
}

/* run_local knobs (reset by each test that sets them): fetches from this
 * bucket answer AccessDenied; the --state anchor; digests that validated */
static const char *g_deny_bucket, *g_deny_prefix;
static const char *g_anchor_key, *g_anchor_sig;
static size_t g_digests_valid, g_logs_valid;
static int g_preload;   /* digests through chain_preload + chain_add_loaded */

/* validate a --local copy; returns the findings */
static void run_local(const char *dir, const struct digest_loc *loc, time_t start, time_t end,
		      uint64_t max_inflated, struct findings *f)
{
	struct chain_params p;
	struct chain *c;
	struct keyset ks;
	struct keys_list keys = { NULL, 0 };
	struct buf b;
	char *root = xasprintf("%s/%s", dir, BUCKET), *pk = xasprintf("%s/%s", dir, LOCAL_PUBKEYS);
	const struct chain_ref *want;
	size_t n, i, rounds = 0;

	keyset_init(&ks);
	assert_int_equal(read_file(pk, &b, MAX_PUBKEYS_JSON), 0);
	assert_int_equal(keyset_load_json(&ks, b.data, b.len, NULL), 0);
	buf_release(&b);
	memset(&p, 0, sizeof(p));
	p.bucket = BUCKET;
	p.loc = *loc;
	p.start = start;
	p.end = end;
	p.keys = &ks;
	p.anchor_key = g_anchor_key;
	p.anchor_sig = g_anchor_sig;
	c = chain_new(&p);
	list_dir(root, "", &keys);
	for (i = 0; i < keys.n; i++) {
		chain_add_listed_digest(c, keys.v[i]);
		chain_add_listed_log(c, keys.v[i]);
	}
	while ((n = chain_wanted(c, &want)) > 0) {
		assert_true(++rounds < 20);
		for (i = 0; i < n; i++) {
			char *path, *meta, *sig = NULL, *alg = NULL;
			struct buf m;
			int rc;

			if ((g_deny_bucket && !strcmp(want[i].bucket, g_deny_bucket)) ||
			    (g_deny_prefix && !strncmp(want[i].key, g_deny_prefix,
						       strlen(g_deny_prefix)))) {
				chain_add_fetched(c, want[i].bucket, want[i].key, CHAIN_FETCH_DENIED,
						  NULL, 0, NULL, NULL, "s3 GetObject: AccessDenied: Access Denied");
				continue;
			}
			assert_int_equal(local_path(&path, dir, want[i].bucket, want[i].key,
						    strlen(want[i].key), NULL), 0);
			meta = xasprintf("%s%s", path, LOCAL_META_SUFFIX);
			rc = read_file(path, &b, MAX_DIGEST_GZ);
			if (rc == -1) {
				chain_add_fetched(c, want[i].bucket, want[i].key, CHAIN_FETCH_NOT_FOUND,
						  NULL, 0, NULL, NULL, NULL);
			} else {
				if (read_file(meta, &m, 65536) == 0)
					assert_int_equal(local_read_meta(m.data, m.len, &sig, &alg, NULL), 0);
				buf_release(&m);
				if (g_preload) {
					/* as validate_s3.c: parsed and checked apart, then added */
					struct chain_loaded l;

					chain_preload(&l, &ks, b.data ? b.data : "", b.len, sig);
					chain_add_loaded(c, want[i].bucket, want[i].key, sig, alg, &l);
					chain_loaded_release(&l);
				} else {
					chain_add_fetched(c, want[i].bucket, want[i].key, CHAIN_FETCH_OK, b.data,
							  b.len, sig, alg, NULL);
				}
			}
			buf_release(&b);
			free(sig);
			free(alg);
			free(path);
			free(meta);
		}
	}
	assert_int_equal(chain_walk(c, f), 0);
	for (i = 0; i < chain_nlogs(c); i++) {
		const struct chain_log *l = chain_log(c, i);
		char *path, hex[65], tmp[4096];
		struct loghash *h;
		ssize_t r;
		int fd;

		assert_int_equal(local_path(&path, dir, l->bucket, l->key, strlen(l->key), NULL), 0);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			chain_log_result(c, i, CHAIN_FETCH_NOT_FOUND, LOGHASH_OK, NULL, NULL, f);
		} else {
			enum loghash_status st;

			h = loghash_new(max_inflated, 0);
			while ((r = read(fd, tmp, sizeof(tmp))) > 0)
				if (loghash_feed(h, tmp, (size_t)r) > LOGHASH_TRAILING_DATA)
					break;
			close(fd);
			st = loghash_finish(h, hex);
			chain_log_result(c, i, CHAIN_FETCH_OK, st, hex, NULL, f);
			loghash_free(h);
		}
		free(path);
	}
	chain_unreferenced(c, f);
	g_digests_valid = chain_digests_valid(c);
	g_logs_valid = chain_logs_valid(c);
	chain_free(c);
	keyset_release(&ks);
	for (i = 0; i < keys.n; i++)
		free(keys.v[i]);
	free(keys.v);
	free(root);
	free(pk);
}

static const struct digest_loc LOC = {
	"logs", NULL, "111122223333", "us-east-1", "org-trail", "us-east-1"
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_scenario(const char *name, uint64_t max_inflated)
{
	char *dir = xasprintf("%s/%s", FIX, name), *exp = xasprintf("%s/expect.txt", dir);
	char **lines;
	struct findings f;
	struct buf got = BUF_INIT_LIMIT(1 << 20), want;
	time_t s, e;
	size_t i;

	assert_int_equal(tk_parse_time("2024-03-01T00:00:00Z", &s), 0);
	assert_int_equal(tk_parse_time("2024-03-01T05:00:00Z", &e), 0);
	findings_init(&f);
	run_local(dir, &LOC, s, e, max_inflated, &f);
	/* expect.txt lines are sorted "code key": sort ours the same way */
	lines = xcalloc(f.n + 1, sizeof(*lines));
	for (i = 0; i < f.n; i++) {
		assert_string_equal(f.v[i].account, "111122223333");
		assert_string_equal(f.v[i].region, "us-east-1");
		/* a finding on an object in another bucket (a log a digest lists
		 * there, a digest of the trail's earlier bucket) is reported there:
		 * expect.txt writes its key as s3://bucket/key */
		assert_non_null(f.v[i].bucket);
		if (strcmp(f.v[i].bucket, BUCKET))
			lines[i] = xasprintf("%s s3://%s/%s\n", finding_code_name(f.v[i].code),
					     f.v[i].bucket, f.v[i].key ? f.v[i].key : "-");
		else
			lines[i] = xasprintf("%s %s\n", finding_code_name(f.v[i].code),
					     f.v[i].key ? f.v[i].key : "-");
	}
	qsort(lines, f.n, sizeof(*lines), cmp_line);
	for (i = 0; i < f.n; i++) {
		buf_adds(&got, lines[i]);
		free(lines[i]);
	}
	free(lines);
	assert_int_equal(read_file(exp, &want, 1 << 20), 0);
	if (strcmp(buf_cstr(&got), buf_cstr(&want))) {
		print_error("scenario %s\nexpected:\n%sgot:\n%s", name, buf_cstr(&want), buf_cstr(&got));
		for (i = 0; i < f.n; i++)
			print_error("  %s %s: %s\n", finding_code_name(f.v[i].code),
				    f.v[i].key ? f.v[i].key : "-", f.v[i].message);
		fail();
	}
	buf_release(&got);
	buf_release(&want);
	free(dir);
	free(exp);
	findings_release(&f);
}

#define SCENARIO(fn, name) \
	static void fn(void **state) { (void)state; check_scenario(name, 1u << 20); }

SCENARIO(test_clean, "clean")
SCENARIO(test_log_modified, "log-modified")
SCENARIO(test_log_truncated, "log-truncated")
SCENARIO(test_log_trailing, "log-trailing")
SCENARIO(test_log_multimember, "log-multimember")
SCENARIO(test_log_missing, "log-missing")
SCENARIO(test_log_unreferenced, "log-unreferenced")
SCENARIO(test_log_bomb, "log-bomb")
SCENARIO(test_digest_deleted, "digest-deleted")
SCENARIO(test_digest_moved, "digest-moved")
SCENARIO(test_digest_bad_signature, "digest-bad-signature")
SCENARIO(test_digest_unknown_key, "digest-unknown-key")
SCENARIO(test_digest_wrong_types, "digest-wrong-types")
SCENARIO(test_digest_skipped, "digest-skipped")
SCENARIO(test_chain_restart, "chain-restart")
SCENARIO(test_digest_foreign_bucket, "digest-foreign-bucket")
SCENARIO(test_location_prefix_change, "location-prefix-change")
SCENARIO(test_location_prefix_none, "location-prefix-none")
SCENARIO(test_location_bucket_change, "location-bucket-change")
SCENARIO(test_location_bucket_change_logs_stay, "location-bucket-change-logs-stay")
SCENARIO(test_location_link_missing, "location-link-missing")
SCENARIO(test_location_old_digest_altered, "location-old-digest-altered")
SCENARIO(test_location_link_tampered, "location-link-tampered")
SCENARIO(test_location_link_newer, "location-link-newer")
SCENARIO(test_location_link_other_account, "location-link-other-account")
SCENARIO(test_location_link_bad_bucket, "location-link-bad-bucket")

/* the bomb is only a finding because of the cap: without it, a mismatch */
static void test_bomb_without_cap_is_mismatch(void **state)
{
	struct findings f;
	time_t s, e;

	(void)state;
	tk_parse_time("2024-03-01T00:00:00Z", &s);
	tk_parse_time("2024-03-01T05:00:00Z", &e);
	findings_init(&f);
	run_local(FIX "/log-bomb", &LOC, s, e, 0, &f);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_LOG_HASH_MISMATCH);
	findings_release(&f);
}

/* "no digest found in the range" is a finding, never success */
static void test_no_digest_in_range(void **state)
{
	struct findings f;
	time_t s, e;

	(void)state;
	tk_parse_time("2024-04-01T00:00:00Z", &s);
	tk_parse_time("2024-04-01T05:00:00Z", &e);
	findings_init(&f);
	run_local(FIX "/clean", &LOC, s, e, 0, &f);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_DIGEST_MISSING);
	assert_null(f.v[0].key);
	assert_non_null(strstr(f.v[0].message, "no digest file found"));
	findings_release(&f);
}

/* a wrong trail name lists nothing: also "no digest" */
static void test_wrong_trail(void **state)
{
	struct digest_loc l = LOC;
	struct findings f;
	time_t s, e;

	(void)state;
	l.trail = "other-trail";
	tk_parse_time("2024-03-01T00:00:00Z", &s);
	tk_parse_time("2024-03-01T05:00:00Z", &e);
	findings_init(&f);
	run_local(FIX "/clean", &l, s, e, 0, &f);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_DIGEST_MISSING);
	findings_release(&f);
}

/* a window inside the data: the walk stops at the digest covering the
 * start; the digests before it are neither checked nor reported */
static void test_partial_window(void **state)
{
	struct findings f;
	time_t s, e;

	(void)state;
	tk_parse_time("2024-03-01T02:30:00Z", &s);
	tk_parse_time("2024-03-01T03:30:00Z", &e);
	findings_init(&f);
	run_local(FIX "/clean", &LOC, s, e, 0, &f);
	assert_int_equal(f.n, 0);
	findings_release(&f);
}

#define LOC_FIX(name) FIX "/location-" name
#define OTHER "tk-fixture-earlier-bucket"
/* the key of hour h's digest at prefix pre */
static char *dkey(const char *pre, int h)
{
	return xasprintf("%s%sAWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/"
			 "111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_"
			 "20240301T%02d0000Z.json.gz", pre, *pre ? "/" : "", h);
}

/* A valid chain across a location change is followed and counted: all 5
 * digests and 10 log files (the moved hour's in the other location). */
static void test_location_counts(void **state)
{
	static const char *const fx[] = { "prefix-change", "prefix-none", "bucket-change" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		char *dir = xasprintf("%s%s", LOC_FIX(""), fx[i]);
		struct findings f;
		time_t s, e;

		tk_parse_time("2024-03-01T00:00:00Z", &s);
		tk_parse_time("2024-03-01T05:00:00Z", &e);
		findings_init(&f);
		run_local(dir, &LOC, s, e, 0, &f);
		assert_int_equal(f.n, 0);
		assert_int_equal(g_digests_valid, 5);
		assert_int_equal(g_logs_valid, 10);
		findings_release(&f);
		free(dir);
	}
}

/* A link into a bucket that cannot be read: digest_link_unreadable on
 * exactly that digest, naming where it points and the S3 error; the walk
 * goes on with the older digests of the listed location. */
static void test_location_link_unreadable(void **state)
{
	struct findings f;
	time_t s, e;
	char *k3 = dkey("logs", 3), *k4 = dkey("logs", 4);

	(void)state;
	tk_parse_time("2024-03-01T00:00:00Z", &s);
	tk_parse_time("2024-03-01T05:00:00Z", &e);
	findings_init(&f);
	g_deny_bucket = OTHER;
	run_local(LOC_FIX("bucket-change"), &LOC, s, e, 0, &f);
	g_deny_bucket = NULL;
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_DIGEST_LINK_UNREADABLE);
	assert_string_equal(f.v[0].bucket, OTHER);
	assert_string_equal(f.v[0].key, k3);
	assert_non_null(strstr(f.v[0].message, "s3://" OTHER "/"));
	assert_non_null(strstr(f.v[0].message, k4));
	assert_non_null(strstr(f.v[0].message, "AccessDenied"));
	assert_int_equal(g_digests_valid, 4);   /* 5, 4, then 2 and 1 */
	findings_release(&f);

	/* the unreadable digest lists log files of the listed location: they
	 * are not "unreferenced" (nobody can tell), the link is the finding */
	findings_init(&f);
	g_deny_bucket = OTHER;
	run_local(LOC_FIX("bucket-change-logs-stay"), &LOC, s, e, 0, &f);
	g_deny_bucket = NULL;
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_DIGEST_LINK_UNREADABLE);
	assert_string_equal(f.v[0].key, k3);
	findings_release(&f);

	/* a prefix of the same bucket the principal may not read: the same */
	free(k3);
	k3 = dkey("moved", 3);
	findings_init(&f);
	g_deny_prefix = "moved/";
	run_local(LOC_FIX("prefix-change"), &LOC, s, e, 0, &f);
	g_deny_prefix = NULL;
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].code, F_DIGEST_LINK_UNREADABLE);
	assert_string_equal(f.v[0].bucket, BUCKET);
	assert_string_equal(f.v[0].key, k3);
	findings_release(&f);
	free(k3);
	free(k4);
}

/* verify --state: an anchor before the location change is reached through
 * the other location; one the chain does not reach is reported */
static void test_location_anchor(void **state)
{
	struct findings f;
	struct buf m;
	char *k2 = dkey("logs", 2), *path, *sig = NULL, *alg = NULL;
	time_t s, e;

	(void)state;
	path = xasprintf("%s/%s/%s%s", LOC_FIX("prefix-change"), BUCKET, k2, LOCAL_META_SUFFIX);
	assert_int_equal(read_file(path, &m, 65536), 0);
	assert_int_equal(local_read_meta(m.data, m.len, &sig, &alg, NULL), 0);
	buf_release(&m);
	tk_parse_time("2024-03-01T02:00:00Z", &s);
	tk_parse_time("2024-03-01T05:00:00Z", &e);
	findings_init(&f);
	g_anchor_key = k2;
	g_anchor_sig = sig;
	run_local(LOC_FIX("prefix-change"), &LOC, s, e, 0, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(g_digests_valid, 3);   /* 5, 4 and the moved 3; not the anchor */
	findings_release(&f);
	/* the same anchor with another signature: the chain was rewritten */
	findings_init(&f);
	g_anchor_sig = "00";
	run_local(LOC_FIX("prefix-change"), &LOC, s, e, 0, &f);
	assert_true(f.n >= 1);
	assert_int_equal(f.v[0].code, F_DIGEST_CHAIN_GAP);
	findings_release(&f);
	g_anchor_key = g_anchor_sig = NULL;
	free(k2);
	free(sig);
	free(alg);
	free(path);
}

/* every scenario again with the digests parsed and signature-checked by
 * chain_preload (validate online does that on the hash pool's workers):
 * the same findings, exactly */
static void test_all_scenarios_preloaded(void **state)
{
	static const char *const names[] = {
		"clean", "log-modified", "log-truncated", "log-trailing", "log-multimember",
		"log-missing", "log-unreferenced", "log-bomb", "digest-deleted", "digest-moved",
		"digest-bad-signature", "digest-unknown-key", "digest-wrong-types", "digest-skipped",
		"chain-restart", "digest-foreign-bucket", "location-prefix-change",
		"location-prefix-none", "location-bucket-change", "location-bucket-change-logs-stay",
		"location-link-missing", "location-old-digest-altered", "location-link-tampered",
		"location-link-newer", "location-link-other-account", "location-link-bad-bucket",
	};
	size_t i;

	(void)state;
	g_preload = 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_scenario(names[i], 1u << 20);
	g_preload = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_all_scenarios_preloaded),
		cmocka_unit_test(test_log_modified),
		cmocka_unit_test(test_log_truncated),
		cmocka_unit_test(test_log_trailing),
		cmocka_unit_test(test_log_multimember),
		cmocka_unit_test(test_log_missing),
		cmocka_unit_test(test_log_unreferenced),
		cmocka_unit_test(test_log_bomb),
		cmocka_unit_test(test_digest_deleted),
		cmocka_unit_test(test_digest_moved),
		cmocka_unit_test(test_digest_foreign_bucket),
		cmocka_unit_test(test_location_prefix_change),
		cmocka_unit_test(test_location_prefix_none),
		cmocka_unit_test(test_location_bucket_change),
		cmocka_unit_test(test_location_bucket_change_logs_stay),
		cmocka_unit_test(test_location_link_missing),
		cmocka_unit_test(test_location_old_digest_altered),
		cmocka_unit_test(test_location_link_tampered),
		cmocka_unit_test(test_location_link_newer),
		cmocka_unit_test(test_location_link_other_account),
		cmocka_unit_test(test_location_link_bad_bucket),
		cmocka_unit_test(test_location_counts),
		cmocka_unit_test(test_location_link_unreadable),
		cmocka_unit_test(test_location_anchor),
		cmocka_unit_test(test_digest_bad_signature),
		cmocka_unit_test(test_digest_unknown_key),
		cmocka_unit_test(test_digest_wrong_types),
		cmocka_unit_test(test_digest_skipped),
		cmocka_unit_test(test_chain_restart),
		cmocka_unit_test(test_bomb_without_cap_is_mismatch),
		cmocka_unit_test(test_no_digest_in_range),
		cmocka_unit_test(test_wrong_trail),
		cmocka_unit_test(test_partial_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
