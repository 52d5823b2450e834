/* test_verify_merge.c: verify --merge in the library (verify_merge.h): the
 * shards' documents -> one run, cells in config order; every refusal of
 * README "verify and validate" (--merge) and of hostile documents (issue 13
 * item 10) names the file. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "buf.h"
#include "config.h"
#include "findings.h"
#include "verify_merge.h"
#include "banned.h"

/* per-account mode: cells 333/us-east-1, 333/eu-west-1, 111/eu-west-1 in
 * config order (not sorted by account) */
static const char CONFIG[] =
	"[organization]\n"
	"log_archive_account = 222222222222\n"
	"home_region = us-east-1\n"
	"regions = us-east-1, eu-west-1\n"
	"[central]\n"
	"bucket = acme-logs\n"
	"[trail]\n"
	"mode = per-account\n"
	"[account prod]\n"
	"id = 333333333333\n"
	"[account dev]\n"
	"id = 111111111111\n"
	"regions = eu-west-1\n";

static struct tk_config cfg;
static char cfg_path[64];

static int setup(void **state)
{
	struct errbuf err;
	FILE *f;
	int fd;

	(void)state;
	snprintf(cfg_path, sizeof(cfg_path), "/tmp/tk-merge-test-%ld.ini", (long)getpid());
	fd = open(cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		return -1;
	fputs(CONFIG, f);
	fclose(f);
	err_clear(&err);
	if (config_load(&cfg, cfg_path, NULL, &err)) {
		fprintf(stderr, "config: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_release(&cfg);
	unlink(cfg_path);
	return 0;
}

static json_t *doc(const char *text)
{
	json_error_t je;
	json_t *d = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (!d)
		fail_msg("bad test document: %s", je.text);
	return d;
}

#define CELL(acct, reg, newest, dig) \
	"{\"account\": \"" acct "\", \"region\": \"" reg "\", \"newest_delivery\": " newest \
	", \"digests_checked\": " dig ", \"logs_checked\": 1}"
#define SHARD(k, n, findings, cells, run) \
	"{\"version\": 1, \"shard\": {\"index\": " k ", \"count\": " n "}, \"findings\": [" findings \
	"], \"cells\": [" cells "]" run "}"
#define RUN1 ", \"run\": {\"config\": \"a.ini\"}"
#define RUN2 ", \"run\": {\"config\": \"b.ini\"}"
#define FIND(code, acct, reg, msg) \
	"{\"code\": \"" code "\", \"account\": \"" acct "\", \"region\": \"" reg "\", \"message\": " msg "}"

/* Merge two documents; the return code, the message in err. */
static int merge2(struct verify_merged *m, const char *a, const char *b, struct errbuf *err)
{
	json_t *d[2];
	const char *names[2] = { "one.json", "two.json" };
	int rc;

	d[0] = doc(a);
	d[1] = b ? doc(b) : NULL;
	err_clear(err);
	rc = verify_merge(m, &cfg, "org.ini", d, names, b ? 2 : 1, err);
	json_decref(d[0]);
	json_decref(d[1]);
	return rc;
}

static void test_merge_config_order(void **state)
{
	struct verify_merged m;
	struct errbuf err;

	(void)state;
	assert_int_equal(merge2(&m,
				SHARD("2", "2", FIND("log_missing", "111111111111", "eu-west-1", "\"gone\""),
				      CELL("111111111111", "eu-west-1", "1767236100", "3"), RUN1),
				SHARD("1", "2", "", CELL("333333333333", "eu-west-1", "null", "0") ", "
				      CELL("333333333333", "us-east-1", "1767236000", "5"), RUN1),
				&err), 0);
	assert_int_equal(m.ncells, 3);
	/* config order: prod us-east-1, prod eu-west-1, dev eu-west-1 */
	assert_string_equal(m.cells[0].account, "333333333333");
	assert_string_equal(m.cells[0].region, "us-east-1");
	assert_int_equal(m.cells[0].digests_checked, 5);
	assert_int_equal(m.cells[0].has_newest, 1);
	assert_int_equal((long long)m.cells[0].newest_delivery, 1767236000LL);
	assert_string_equal(m.cells[1].region, "eu-west-1");
	assert_int_equal(m.cells[1].has_newest, 0);
	assert_string_equal(m.cells[2].account, "111111111111");
	assert_int_equal(m.f.n, 1);
	assert_int_equal(m.f.v[0].code, finding_code_from_name("log_missing"));
	assert_string_equal(m.f.v[0].message, "gone");
	/* the same run in every shard is kept */
	assert_non_null(m.run);
	assert_string_equal(json_string_value(json_object_get(m.run, "config")), "a.ini");
	verify_merged_release(&m);

	/* runs that differ: none */
	assert_int_equal(merge2(&m, SHARD("1", "2", "", CELL("111111111111", "eu-west-1", "null", "0"), RUN1),
				SHARD("2", "2", "", "", RUN2), &err), 0);
	assert_null(m.run);
	assert_int_equal(m.ncells, 1);
	verify_merged_release(&m);
}

/* rc is TK_EUSAGE and the message contains want */
static void refused(const char *a, const char *b, const char *want)
{
	struct verify_merged m;
	struct errbuf err;

	assert_int_equal(merge2(&m, a, b, &err), TK_EUSAGE);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_int_equal(m.ncells, 0);
	assert_null(m.cells);
	assert_int_equal(m.f.n, 0);
}

static void test_merge_refusals(void **state)
{
#define good CELL("111111111111", "eu-west-1", "1767236100", "3")
	(void)state;
	refused("{\"version\": 2, \"findings\": [], \"cells\": []}", NULL,
		"'one.json' is not a verify --json document (version 1");
	refused("{\"version\": 1, \"findings\": [], \"cells\": []}", NULL,
		"'one.json' is not the output of 'verify --shard K/N --json'");
	refused(SHARD("1", "2", "", good, ""), NULL, "shard 2/2 is missing (1 file given)");
	refused(SHARD("1", "2", "", good, ""), SHARD("1", "2", "", "", ""),
		"'one.json' and 'two.json' are both shard 1/2");
	refused(SHARD("1", "2", "", good, ""), SHARD("2", "3", "", "", ""),
		"'two.json' is shard 2 of 3, but 'one.json' is of 2 shards");
	refused(SHARD("1", "2", "", good, ""), SHARD("2", "2", "", good, ""),
		"'two.json': cell 111111111111 eu-west-1 is in 'one.json' too");
	refused(SHARD("1", "1", "", CELL("999999999999", "eu-west-1", "null", "0"), ""), NULL,
		"'one.json': cell 999999999999 eu-west-1 is not in 'org.ini'");
	/* hostile values */
	refused(SHARD("1", "1", "", CELL("111111111111", "eu-west-1", "-9223372036854775808", "0"), ""), NULL,
		"'one.json': cell 0: newest_delivery -9223372036854775808 is not a time from 2013 to 2100");
	refused(SHARD("1", "1", "", CELL("111111111111", "eu-west-1", "4102444801", "0"), ""), NULL,
		"is not a time from 2013 to 2100");
	refused(SHARD("1", "1", "", CELL("111111111111", "eu-west-1", "null", "-1"), ""), NULL,
		"'one.json': cell 0 is not a verify cell (counts from 0 to 1000000000)");
	refused(SHARD("1", "1", "", CELL("111111111111", "eu-west-1", "null", "1000000001"), ""), NULL,
		"is not a verify cell");
	refused(SHARD("1", "1", FIND("no_such_code", "111111111111", "eu-west-1", "\"m\""), good, ""), NULL,
		"'one.json': finding 0 is not a verify finding");
	refused(SHARD("1", "1", FIND("log_missing", "11111111111x", "eu-west-1", "\"m\""), good, ""), NULL,
		"'one.json': finding 0 is not a verify finding (account of 12 digits");
	refused(SHARD("1", "1", FIND("log_missing", "111111111111", "mars-1", "\"m\""), good, ""), NULL,
		"a known region");
	refused(SHARD("1", "1", FIND("log_missing", "111111111111", "eu-west-1", "7"), good, ""), NULL,
		"'one.json': finding 0 is not a verify finding");
#undef good
}

static void test_merge_long_message(void **state)
{
	struct buf b = BUF_INIT_LIMIT(64 * 1024);
	const char *good = CELL("111111111111", "eu-west-1", "1767236100", "3");
	char *msg = xmalloc(VERIFY_MERGE_MAX_MESSAGE + 2);
	struct verify_merged m;
	struct errbuf err;

	(void)state;
	memset(msg, 'x', VERIFY_MERGE_MAX_MESSAGE + 1);
	msg[VERIFY_MERGE_MAX_MESSAGE + 1] = '\0';
	assert_int_equal(buf_addf(&b, SHARD("1", "1", FIND("log_missing", "111111111111", "eu-west-1", "\"%s\""),
					    "%s", ""), msg, good), 0);
	refused(buf_cstr(&b), NULL, "message up to 8192 bytes");
	/* at the limit: accepted */
	msg[VERIFY_MERGE_MAX_MESSAGE] = '\0';
	buf_reset(&b);
	assert_int_equal(buf_addf(&b, SHARD("1", "1", FIND("log_missing", "111111111111", "eu-west-1", "\"%s\""),
					    "%s", ""), msg, good), 0);
	assert_int_equal(merge2(&m, buf_cstr(&b), NULL, &err), 0);
	assert_int_equal(m.f.n, 1);
	verify_merged_release(&m);
	buf_release(&b);
	free(msg);
}

static void test_merge_files(void **state)
{
	const char *files[2] = { "/nonexistent/shard1.json", "/tmp" };
	struct verify_merged m;
	struct errbuf err;

	(void)state;
	err_clear(&err);
	assert_int_equal(verify_merge_files(&m, &cfg, "org.ini", files, 1, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "cannot open '/nonexistent/shard1.json'"));
	err_clear(&err);
	assert_int_equal(verify_merge_files(&m, &cfg, "org.ini", files + 1, 1, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "'/tmp' is not a verify --json document (not a regular file"));
	err_clear(&err);
	assert_int_equal(verify_merge_files(&m, &cfg, "org.ini", files, 0, &err), TK_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_config_order),
		cmocka_unit_test(test_merge_refusals),
		cmocka_unit_test(test_merge_long_message),
		cmocka_unit_test(test_merge_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
