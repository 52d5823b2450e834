/* test_config.c: config_load() on good and bad INI files; every bad input
 * of issue 3 item 4 has its own case asserting the message and the line. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "buf.h"
#include "config.h"
#include "banned.h"

static char tmpdir[] = "/tmp/tk-test-config.XXXXXX";
static int counter;

static const char base[] =
	"[organization]\n"                         /* 1 */
	"id = o-a1b2c3d4e5\n"                      /* 2 */
	"management_account = 111111111111\n"      /* 3 */
	"home_region = us-east-1\n"                /* 4 */
	"regions = us-east-1, eu-west-1\n"         /* 5 */
	"\n"                                       /* 6 */
	"[central]\n"                              /* 7 */
	"bucket = acme-org-cloudtrail\n"           /* 8 */
	"max_delivery_age = 1h\n"                  /* 9 */
	"\n"                                       /* 10 */
	"[trail]\n"                                /* 11 */
	"name = org-trail\n"                       /* 12 */
	"mode = organization\n"                    /* 13 */
	"data_events = s3:acme-payroll\n"          /* 14 */
	"\n"                                       /* 15 */
	"[account prod]\n"                         /* 16 */
	"id = 333333333333\n";                     /* 17 */

static char *write_ini(const char *text, size_t len)
{
	char *path = xasprintf("%s/c%d.ini", tmpdir, counter++);

	tu_write_file(path, text, len);
	return path;
}

/* base with the first occurrence of old replaced by new */
static char *edited(const char *old, const char *new)
{
	const char *p = strstr(base, old);
	struct buf b;

	assert_non_null(p);
	buf_init(&b, 1 << 20);
	buf_add(&b, base, (size_t)(p - base));
	buf_adds(&b, new);
	buf_adds(&b, p + strlen(old));
	return buf_detach(&b);
}

/* Load text; expect failure with exactly the given diagnostics (NULL-terminated,
 * "LINE: message" without the path). */
static void expect_diags(const char *text, ...)
{
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = write_ini(text, strlen(text));
	va_list ap;
	const char *want;
	size_t i = 0;

	assert_int_equal(config_load(&c, path, &d, &err), TK_EUSAGE);
	va_start(ap, text);
	while ((want = va_arg(ap, const char *))) {
		char *full = xasprintf("%s:%s", path, want);

		if (i >= d.n)
			fail_msg("missing diagnostic '%s'", full);
		if (strcmp(d.v[i], full))
			fail_msg("diagnostic %zu: got '%s', want '%s'", i, d.v[i], full);
		free(full);
		i++;
	}
	va_end(ap);
	if (i != d.n)
		fail_msg("unexpected extra diagnostic '%s'", d.v[i]);
	diags_release(&d);
	free(path);
}

/* README "Configuration": in organization mode the management and
 * log-archive accounts are always expected, in [organization] regions,
 * unless an [account] section for the same id narrows them (issue 12.1) */
static void test_implicit_accounts(void **state)
{
	struct tk_config c;
	struct errbuf err;
	char *path, *text;

	(void)state;
	text = edited("management_account = 111111111111\n",
		      "management_account = 111111111111\nlog_archive_account = 222222222222\n");
	path = write_ini(text, strlen(text));
	free(text);
	if (config_load(&c, path, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c.naccounts, 3);
	assert_string_equal(c.accounts[1].name, "management");
	assert_string_equal(c.accounts[1].id, "111111111111");
	assert_true(c.accounts[1].implicit);
	assert_int_equal(c.accounts[1].regions.n, 2);
	assert_string_equal(c.accounts[1].regions.v[1], "eu-west-1");
	assert_string_equal(c.accounts[2].name, "log-archive");
	assert_string_equal(c.accounts[2].id, "222222222222");
	assert_true(c.accounts[2].implicit);
	assert_non_null(config_find_account(&c, "222222222222"));
	config_release(&c);
	free(path);

	/* a section for the management account narrows it; a section named
	 * "log-archive" for another account leaves the name to it */
	{
		static const char t[] = "[organization]\nid = o-a1b2c3d4e5\nmanagement_account = 111111111111\n"
					"log_archive_account = 222222222222\nregions = us-east-1, eu-west-1\n"
					"[central]\nbucket = acme-org-cloudtrail\n"
					"[account mgmt]\nid = 111111111111\nregions = eu-west-1\n"
					"[account log-archive]\nid = 444444444444\n";

		path = write_ini(t, strlen(t));
	}
	assert_int_equal(config_load(&c, path, NULL, &err), 0);
	assert_int_equal(c.naccounts, 3);
	assert_false(c.accounts[0].implicit);
	assert_int_equal(c.accounts[0].regions.n, 1);   /* narrowed by its section */
	assert_string_equal(c.accounts[2].name, "log-archive-222222222222");
	assert_true(c.accounts[2].implicit);
	config_release(&c);
	free(path);

	/* per-account mode: only the sections */
	text = edited("mode = organization", "mode = per-account");
	path = write_ini(text, strlen(text));
	free(text);
	assert_int_equal(config_load(&c, path, NULL, &err), 0);
	assert_int_equal(c.naccounts, 1);
	config_release(&c);
	free(path);
}

static void test_base_ok(void **state)
{
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = write_ini(base, strlen(base));

	(void)state;
	assert_int_equal(config_load(&c, path, &d, &err), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(c.org_id, "o-a1b2c3d4e5");
	assert_int_equal(c.mode, TK_MODE_ORGANIZATION);
	assert_string_equal(c.log_archive_account, "111111111111");   /* default: management */
	assert_string_equal(config_central_account(&c), "111111111111");
	assert_int_equal(c.max_delivery_age, 3600);
	assert_true(c.multi_region && c.include_global_events && c.log_file_validation);
	assert_string_equal(c.partition, "aws");
	/* prod, then the management account (= log archive) without a section */
	assert_int_equal(c.naccounts, 2);
	assert_false(c.accounts[0].implicit);
	assert_true(c.accounts[1].implicit);
	assert_string_equal(c.accounts[1].id, "111111111111");
	assert_string_equal(c.accounts[0].name, "prod");
	assert_int_equal(c.accounts[0].line, 16);
	assert_int_equal(c.accounts[0].regions.n, 2);   /* default: [organization] regions */
	assert_string_equal(c.accounts[0].regions.v[1], "eu-west-1");
	assert_int_equal(c.data_event_buckets.n, 1);
	assert_string_equal(c.data_event_buckets.v[0], "acme-payroll");
	assert_string_equal(c.assume_role, "OrganizationAccountAccessRole");
	assert_null(c.key_prefix);
	{
		char *arn = config_trail_arn(&c, "333333333333");

		assert_string_equal(arn, "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail");
		free(arn);
	}
	assert_non_null(config_find_account(&c, "333333333333"));
	assert_null(config_find_account(&c, "444444444444"));
	config_release(&c);
	diags_release(&d);
	free(path);
}

static void test_defaults_per_account(void **state)
{
	static const char text[] =
		"[organization]\nlog_archive_account = 222222222222\nregions = cn-north-1, cn-northwest-1\n"
		"[central]\nbucket = logs-bucket\nkey_prefix = /a/b/ ; comment\n"
		"[account x]\nid = 222222222222\nregions = cn-north-1\n";
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = write_ini(text, strlen(text));
	char *arn;

	(void)state;
	assert_int_equal(config_load(&c, path, &d, &err), 0);
	assert_int_equal(c.mode, TK_MODE_PER_ACCOUNT);             /* no org id */
	assert_string_equal(c.home_region, "cn-north-1");          /* first region */
	assert_string_equal(c.partition, "aws-cn");
	assert_string_equal(c.key_prefix, "a/b");
	assert_string_equal(c.trail_name, "trailkeep");
	arn = config_trail_arn(&c, "222222222222");
	assert_string_equal(arn, "arn:aws-cn:cloudtrail:cn-north-1:222222222222:trail/trailkeep");
	free(arn);
	assert_int_equal(c.accounts[0].regions.n, 1);
	config_release(&c);
	free(path);
}

static void test_regions(void **state)
{
	(void)state;
	assert_true(tk_region_known("us-east-1"));
	assert_true(tk_region_known("us-gov-west-1"));
	assert_false(tk_region_known("us-east-9"));
	assert_false(tk_region_known(""));
	assert_string_equal(tk_region_partition("cn-northwest-1"), "aws-cn");
	assert_string_equal(tk_region_partition("us-gov-east-1"), "aws-us-gov");
	assert_string_equal(tk_region_partition("eu-west-3"), "aws");
	assert_null(tk_region_partition("mars-1"));
}

static void test_missing_file(void **state)
{
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = xasprintf("%s/nosuch.ini", tmpdir);
	char *want = xasprintf("cannot open '%s': No such file or directory", path);

	(void)state;
	assert_int_equal(config_load(&c, path, &d, &err), TK_EUSAGE);
	assert_string_equal(err.msg, want);
	assert_int_equal(d.n, 0);
	free(path);
	free(want);
}

static void test_directory(void **state)
{
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *want = xasprintf("cannot read '%s': it is a directory", tmpdir);

	(void)state;
	assert_int_equal(config_load(&c, tmpdir, &d, &err), TK_EUSAGE);
	assert_string_equal(err.msg, want);
	free(want);
}

static void test_binary(void **state)
{
	static const char junk[] = "[organization]\n\x1f\x8b\x08\x00\x00";
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = write_ini(junk, sizeof(junk) - 1);
	char *want = xasprintf("%s:2: binary data (byte 0x1f): '%s' is not a text INI file", path, path);

	(void)state;
	assert_int_equal(config_load(&c, path, &d, &err), TK_EUSAGE);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);
}

static void test_unreadable(void **state)
{
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = write_ini(base, strlen(base));

	(void)state;
	if (geteuid() == 0) {   /* root reads anything: use a file whose read fails */
		free(path);
		path = xstrdup("/proc/self/mem");
	} else {
		assert_int_equal(chmod(path, 0), 0);
	}
	assert_int_equal(config_load(&c, path, &d, &err), TK_EUSAGE);
	assert_true(strstr(err.msg, "cannot ") == err.msg);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

static void test_long_line(void **state)
{
	size_t big = TK_CONFIG_MAX_LINE + 1;
	char *long_comment = xmalloc(big + 1);
	char *text;
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path;

	(void)state;
	memset(long_comment, 'x', big);
	long_comment[0] = ';';
	long_comment[big] = '\0';
	text = xasprintf("%s%s\n", base, long_comment);
	expect_diags(text, "18: line is longer than 4096 characters", NULL);
	free(text);
	/* exactly the limit is fine */
	long_comment[TK_CONFIG_MAX_LINE] = '\0';
	text = xasprintf("%s%s\n", base, long_comment);
	path = write_ini(text, strlen(text));
	assert_int_equal(config_load(&c, path, &d, &err), 0);
	config_release(&c);
	free(path);
	free(text);
	free(long_comment);
}

/* a value longer than inih's own 200-byte line buffer is read whole */
static void test_long_value(void **state)
{
	static const char r17[] = "us-east-1, us-east-2, us-west-1, us-west-2, ap-south-1, ap-northeast-1, "
		"ap-northeast-2, ap-northeast-3, ap-southeast-1, ap-southeast-2, ca-central-1, eu-central-1, "
		"eu-west-1, eu-west-2, eu-west-3, eu-north-1, sa-east-1";
	char *old = xasprintf("regions = us-east-1, eu-west-1");
	char *new = xasprintf("regions = %s   ; all 17", r17);
	char *text = edited(old, new);
	char *path = write_ini(text, strlen(text));
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;

	(void)state;
	assert_true(strlen(new) > 200);
	if (config_load(&c, path, &d, &err) < 0)
		fail_msg("%s", d.n ? d.v[0] : err.msg);
	assert_int_equal(c.regions.n, 17);
	assert_string_equal(c.regions.v[16], "sa-east-1");
	assert_int_equal(c.accounts[0].regions.n, 17);
	config_release(&c);
	free(path);
	free(text);
	free(old);
	free(new);
	/* and its errors still carry the line */
	new = xasprintf("regions = %s, mars-1", r17);
	text = edited("regions = us-east-1, eu-west-1", new);
	expect_diags(text, "5: unknown region 'mars-1' in 'regions'", NULL);
	free(text);
	free(new);
}

#define EDIT_CASE(fn, old, new, ...)                 \
	static void fn(void **state)                 \
	{                                            \
		char *t = edited(old, new);          \
		(void)state;                         \
		expect_diags(t, __VA_ARGS__, NULL);  \
		free(t);                             \
	}

EDIT_CASE(test_unknown_section, "[trail]", "[trial]",
	  "11: unknown section '[trial]'; did you mean '[trail]'?")
EDIT_CASE(test_unknown_section_far, "[trail]", "[zzzzzzzz]",
	  "11: unknown section '[zzzzzzzz]' (known: [organization], [central], [trail], "
	  "[monitoring], [account NAME])")
EDIT_CASE(test_unknown_key, "max_delivery_age", "max_delivery_ages",
	  "9: unknown key 'max_delivery_ages' in [central]; did you mean 'max_delivery_age'?")
EDIT_CASE(test_unknown_key_account, "id = 333333333333", "id = 333333333333\nregoins = us-east-1",
	  "18: unknown key 'regoins' in [account prod]; did you mean 'regions'?")
EDIT_CASE(test_duplicate_key, "max_delivery_age = 1h\n", "max_delivery_age = 1h\nmax_delivery_age = 2h\n",
	  "10: duplicate key 'max_delivery_age' (first set at line 9)")
EDIT_CASE(test_duplicate_account, "[account prod]", "[account dev]\nid = 333333333333\n[account prod]",
	  "19: duplicate account id '333333333333' (also [account dev] at line 16)")
EDIT_CASE(test_duplicate_section, "[trail]", "[central]\nbucket = x\n[trail]",
	  "11: duplicate section '[central]' (first at line 7)")
EDIT_CASE(test_account_id_digits, "id = 333333333333", "id = 3333333333",
	  "17: bad account id '3333333333': expected 12 digits")
EDIT_CASE(test_account_id_missing, "id = 333333333333", "regions = us-east-1",
	  "16: [account prod] needs 'id' (12 digits)")
EDIT_CASE(test_management_digits, "management_account = 111111111111", "management_account = 11111111111x",
	  "3: bad account id '11111111111x' for 'management_account': expected 12 digits")
EDIT_CASE(test_bad_org_id, "id = o-a1b2c3d4e5", "id = o-ABC",
	  "2: bad organization id 'o-ABC': expected 'o-' and 10 to 32 lower-case letters or digits")
EDIT_CASE(test_unknown_region, "us-east-1, eu-west-1", "us-east-1, eu-wset-1",
	  "5: unknown region 'eu-wset-1' in 'regions'; did you mean 'eu-west-1'?")
EDIT_CASE(test_unknown_home_region, "home_region = us-east-1", "home_region = atlantis-1",
	  "4: unknown region 'atlantis-1' in 'home_region'")
EDIT_CASE(test_mixed_partitions, "us-east-1, eu-west-1", "us-east-1, cn-north-1",
	  "5: region 'cn-north-1' is in partition 'aws-cn', home_region 'us-east-1' in 'aws'")
EDIT_CASE(test_region_twice, "us-east-1, eu-west-1", "us-east-1, eu-west-1, us-east-1",
	  "5: 'us-east-1' is listed twice in 'regions'")
EDIT_CASE(test_bad_bucket, "bucket = acme-org-cloudtrail", "bucket = 192.168.1.1",
	  "8: bad bucket name '192.168.1.1' for 'bucket': may not be formatted as an IP address")
EDIT_CASE(test_bad_bucket_short, "bucket = acme-org-cloudtrail", "bucket = ab",
	  "8: bad bucket name 'ab' for 'bucket': must be 3 to 63 characters long")
EDIT_CASE(test_bad_bucket_dots, "bucket = acme-org-cloudtrail", "bucket = acme..logs",
	  "8: bad bucket name 'acme..logs' for 'bucket': may not contain two adjacent periods")
EDIT_CASE(test_missing_bucket, "bucket = acme-org-cloudtrail\n", "",
	  "7: [central] needs 'bucket'")
EDIT_CASE(test_bad_duration, "max_delivery_age = 1h", "max_delivery_age = 1 hour",
	  "9: bad duration '1 hour' for 'max_delivery_age': expected e.g. 90m, 1h, 2h30m, 1d")
EDIT_CASE(test_zero_duration, "max_delivery_age = 1h", "max_delivery_age = 0",
	  "9: bad duration '0' for 'max_delivery_age': expected e.g. 90m, 1h, 2h30m, 1d")
EDIT_CASE(test_org_without_id, "id = o-a1b2c3d4e5\n", "",
	  "12: mode = organization needs 'id' (the organization id) in [organization]")
EDIT_CASE(test_org_without_management, "management_account = 111111111111\n", "",
	  "12: organization mode needs 'management_account' in [organization]")
EDIT_CASE(test_data_event_bucket, "s3:acme-payroll", "s3:acme-payroll, s3:Payroll_Bucket",
	  "14: bad data event bucket name 'Payroll_Bucket': may contain only lower-case letters, digits, '.' and '-'")
EDIT_CASE(test_data_event_form, "s3:acme-payroll", "acme-payroll",
	  "14: bad data event 'acme-payroll': expected 's3:BUCKET'")
EDIT_CASE(test_data_event_own_bucket, "s3:acme-payroll", "s3:acme-org-cloudtrail",
	  "14: data events on the log bucket 'acme-org-cloudtrail' itself would log the trail's own writes")
EDIT_CASE(test_account_no_region, "id = 333333333333", "id = 333333333333\nregions =",
	  "18: account 'prod' (333333333333) is listed in no region")
EDIT_CASE(test_no_region_at_all, "home_region = us-east-1\nregions = us-east-1, eu-west-1\n", "",
	  "1: [organization] needs 'home_region' or 'regions'")
EDIT_CASE(test_bad_bool, "mode = organization", "mode = organization\nmulti_region = maybe",
	  "14: bad value 'maybe' for 'multi_region': expected true or false")
EDIT_CASE(test_bad_mode, "mode = organization", "mode = org",
	  "13: bad 'mode' 'org': expected organization or per-account")
EDIT_CASE(test_bad_trail_name, "name = org-trail", "name = org--trail",
	  "12: bad trail name 'org--trail': may not have adjacent '.', '_' or '-'")
EDIT_CASE(test_bad_object_lock, "max_delivery_age = 1h", "max_delivery_age = 1h\nobject_lock = forever",
	  "10: bad 'object_lock' 'forever': expected none, governance:DAYS or compliance:DAYS")
EDIT_CASE(test_bad_principal, "max_delivery_age = 1h", "max_delivery_age = 1h\ndecrypt_principals = bob",
	  "10: bad principal 'bob' in 'decrypt_principals': expected an IAM ARN such as "
	  "'arn:aws:iam::123456789012:role/NAME'")
EDIT_CASE(test_syntax, "[account prod]", "this is not a key\n[account prod]",
	  "16: expected 'key = value' or '[section]'")
EDIT_CASE(test_no_bracket, "[trail]", "[trail",
	  "11: section header without ']'")
EDIT_CASE(test_key_outside_section, "[organization]", "stray = 1\n[organization]",
	  "1: key 'stray' is outside any section")
EDIT_CASE(test_account_without_name, "[account prod]", "[account]",
	  "16: section '[account]' needs a name: [account NAME]")

/* every problem of a file in one run, in line order */
EDIT_CASE(test_all_errors, "bucket = acme-org-cloudtrail\nmax_delivery_age = 1h",
	  "bucket = Acme\nmax_delivery_age = soon\ncolour = blue",
	  "8: bad bucket name 'Acme' for 'bucket': may contain only lower-case letters, digits, '.' and '-'",
	  "9: bad duration 'soon' for 'max_delivery_age': expected e.g. 90m, 1h, 2h30m, 1d",
	  "10: unknown key 'colour' in [central]")

static void test_inline_comments_crlf(void **state)
{
	static const char text[] =
		"\xEF\xBB\xBF[organization]\r\n"
		"management_account = 111111111111 ; the payer\r\n"
		"home_region = us-east-1\t; home\r\n"
		"   regions = us-east-1 , eu-west-1   ; indented\r\n"
		"# hash comment\r\n"
		"[central]  ; comment after a header\r\n"
		"bucket = my-bucket\r\n"
		"[account a]\r\n"
		"id = 111111111111\r\n";
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	char *path = write_ini(text, strlen(text));

	(void)state;
	if (config_load(&c, path, &d, &err) < 0)
		fail_msg("%s", d.n ? d.v[0] : err.msg);
	assert_string_equal(c.management_account, "111111111111");
	assert_string_equal(c.home_region, "us-east-1");
	assert_int_equal(c.regions.n, 2);
	assert_string_equal(c.regions.v[0], "us-east-1");
	assert_string_equal(c.regions.v[1], "eu-west-1");
	assert_string_equal(c.bucket, "my-bucket");
	config_release(&c);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	return tu_mkdtemp(tmpdir);
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_ok),
		cmocka_unit_test(test_implicit_accounts),
		cmocka_unit_test(test_defaults_per_account),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_unknown_section_far),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_key_account),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_duplicate_account),
		cmocka_unit_test(test_duplicate_section),
		cmocka_unit_test(test_account_id_digits),
		cmocka_unit_test(test_account_id_missing),
		cmocka_unit_test(test_management_digits),
		cmocka_unit_test(test_bad_org_id),
		cmocka_unit_test(test_unknown_region),
		cmocka_unit_test(test_unknown_home_region),
		cmocka_unit_test(test_mixed_partitions),
		cmocka_unit_test(test_region_twice),
		cmocka_unit_test(test_bad_bucket),
		cmocka_unit_test(test_bad_bucket_short),
		cmocka_unit_test(test_bad_bucket_dots),
		cmocka_unit_test(test_missing_bucket),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_zero_duration),
		cmocka_unit_test(test_org_without_id),
		cmocka_unit_test(test_org_without_management),
		cmocka_unit_test(test_data_event_bucket),
		cmocka_unit_test(test_data_event_form),
		cmocka_unit_test(test_data_event_own_bucket),
		cmocka_unit_test(test_account_no_region),
		cmocka_unit_test(test_no_region_at_all),
		cmocka_unit_test(test_bad_bool),
		cmocka_unit_test(test_bad_mode),
		cmocka_unit_test(test_bad_trail_name),
		cmocka_unit_test(test_bad_object_lock),
		cmocka_unit_test(test_bad_principal),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_no_bracket),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_account_without_name),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_inline_comments_crlf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
