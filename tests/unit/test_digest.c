#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "buf.h"
#include "digest.h"
#include "timeutil.h"
#include "banned.h"

#define FIX "tests/fixtures/integrity/clean"
#define DKEY "logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/" \
	"111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T030000Z.json.gz"

static void slurp(const char *path, struct buf *b)
{
	char tmp[8192];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	buf_init(b, 1 << 24);
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		assert_int_equal(buf_add(b, tmp, (size_t)r), 0);
	close(fd);
}

static void load_fixture(struct digest *d, char **sig)
{
	struct buf b, m;
	char *alg;

	slurp(FIX "/tk-fixture-bucket/" DKEY, &b);
	assert_int_equal(digest_load_gz(d, b.data, b.len, NULL), 0);
	slurp(FIX "/tk-fixture-bucket/" DKEY ".meta.json", &m);
	assert_int_equal(local_read_meta(m.data, m.len, sig, &alg, NULL), 0);
	assert_string_equal(alg, "SHA256withRSA");
	free(alg);
	buf_release(&b);
	buf_release(&m);
}

static void load_keys(struct keyset *ks)
{
	struct buf b;

	keyset_init(ks);
	slurp(FIX "/public-keys.json", &b);
	assert_int_equal(keyset_load_json(ks, b.data, b.len, NULL), 0);
	buf_release(&b);
}

static void test_parse_fixture(void **state)
{
	struct digest d;
	char *sig;
	time_t t;

	(void)state;
	load_fixture(&d, &sig);
	assert_string_equal(d.bucket, "tk-fixture-bucket");
	assert_string_equal(d.object, DKEY);
	assert_string_equal(d.end_time, "2024-03-01T03:00:00Z");
	tk_parse_time("2024-03-01T02:00:00Z", &t);
	assert_int_equal(d.start, t);
	assert_int_equal(d.nlogs, 2);
	assert_non_null(d.prev_signature);
	assert_non_null(d.prev_object);
	assert_int_equal(strlen(d.sha256), 64);
	assert_int_equal(digest_check_location(&d, "tk-fixture-bucket", DKEY, NULL), 0);
	assert_int_equal(digest_check_location(&d, "other", DKEY, NULL), TK_ETAMPERED);
	assert_int_equal(digest_check_location(&d, "tk-fixture-bucket", "x.json.gz", NULL), TK_ETAMPERED);
	digest_release(&d);
	free(sig);
}

static void test_signature(void **state)
{
	struct digest d;
	struct keyset ks;
	const struct pubkey *k;
	char *sig;
	struct errbuf err;

	(void)state;
	load_fixture(&d, &sig);
	load_keys(&ks);
	k = keyset_find(&ks, d.fingerprint);
	assert_non_null(k);
	assert_non_null(k->pkey);
	assert_int_equal(digest_verify(&d, k, sig, &err), 0);
	/* uppercase hex is accepted, like binascii.unhexlify */
	{
		char *up = xstrdup(sig), *p;

		for (p = up; *p; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 32);
		assert_int_equal(digest_verify(&d, k, up, &err), 0);
		free(up);
	}
	/* flip one signature bit */
	sig[10] = sig[10] == '0' ? '1' : '0';
	assert_int_equal(digest_verify(&d, k, sig, &err), TK_ETAMPERED);
	sig[10] = 'z';
	assert_int_equal(digest_verify(&d, k, sig, &err), TK_ETAMPERED);
	assert_non_null(strstr(err.msg, "not a hex"));
	free(sig);
	digest_release(&d);
	/* any field of the string to sign changed: invalid */
	load_fixture(&d, &sig);
	d.sha256[0] = d.sha256[0] == 'a' ? 'b' : 'a';
	assert_int_equal(digest_verify(&d, k, sig, &err), TK_ETAMPERED);
	assert_null(keyset_find(&ks, "0000"));
	assert_non_null(keyset_find_at(&ks, d.fingerprint, d.end));
	assert_null(keyset_find_at(&ks, d.fingerprint, 1));
	digest_release(&d);
	free(sig);
	keyset_release(&ks);
}

static void test_string_to_sign(void **state)
{
	struct digest d;
	char *s;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.end_time = (char *)(uintptr_t)"2024-03-01T03:00:00Z";
	d.bucket = (char *)(uintptr_t)"b";
	d.object = (char *)(uintptr_t)"k.json.gz";
	memcpy(d.sha256, "ab", 3);
	s = digest_string_to_sign(&d);
	assert_string_equal(s, "2024-03-01T03:00:00Z\nb/k.json.gz\nab\nnull");
	free(s);
	d.prev_signature = (char *)(uintptr_t)"cafe";
	s = digest_string_to_sign(&d);
	assert_string_equal(s, "2024-03-01T03:00:00Z\nb/k.json.gz\nab\ncafe");
	free(s);
}

#define BASE "\"digestPublicKeyFingerprint\":\"f\",\"digestS3Bucket\":\"b\"," \
	"\"digestS3Object\":\"k\",\"previousDigestSignature\":null," \
	"\"digestStartTime\":\"2024-03-01T00:00:00Z\""

static void expect_bad(const char *json, const char *msg)
{
	struct digest d;
	struct errbuf err;

	err.msg[0] = '\0';
	assert_int_equal(digest_parse_json(&d, json, strlen(json), &err), TK_ETAMPERED);
	if (!strstr(err.msg, msg))
		fail_msg("for %s: message '%s' lacks '%s'", json, err.msg, msg);
}

static void test_format_errors(void **state)
{
	struct digest d;
	const char *ok = "{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\",\"logFiles\":[]}";

	(void)state;
	assert_int_equal(digest_parse_json(&d, ok, strlen(ok), NULL), 0);
	assert_null(d.prev_signature);
	assert_int_equal(d.nlogs, 0);
	digest_release(&d);
	expect_bad("[1]", "not a JSON object");
	expect_bad("{", "not valid JSON");
	expect_bad("{" BASE ",\"logFiles\":[]}", "required key 'digestEndTime' is missing");
	expect_bad("{" BASE ",\"digestEndTime\":5,\"logFiles\":[]}", "'digestEndTime' is not a string");
	expect_bad("{" BASE ",\"digestEndTime\":\"yesterday\",\"logFiles\":[]}", "not a time");
	expect_bad("{" BASE ",\"digestEndTime\":null,\"logFiles\":[]}", "'digestEndTime' is null");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\"}", "'logFiles' is missing");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\",\"logFiles\":{}}",
		   "'logFiles' is not an array");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\",\"logFiles\":[1]}",
		   "logFiles[0]: not an object");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\",\"logFiles\":"
		   "[{\"s3Bucket\":\"b\",\"s3Object\":\"o\",\"hashValue\":7}]}",
		   "logFiles[0]: 'hashValue' is not a string");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\",\"logFiles\":[],"
		   "\"previousDigestS3Bucket\":[]}", "'previousDigestS3Bucket' is not a string");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T01:00:00Z\",\"logFiles\":[],"
		   "\"previousDigestS3Bucket\":\"b\"}", "'previousDigestS3Object' is not");
	expect_bad("{" BASE ",\"digestEndTime\":\"2024-03-01T\\u0000\",\"logFiles\":[]}",
		   "not valid JSON");
	/* gzip problems */
	{
		struct errbuf err;

		assert_int_equal(digest_load_gz(&d, "nope", 4, &err), TK_ETAMPERED);
		assert_non_null(strstr(err.msg, "gzip"));
	}
}

static void test_base64_values(void **state)
{
	struct keyset ks;
	struct buf b;

	(void)state;
	keyset_init(&ks);
	keyset_add(&ks, "a", "!!!", 0, 0);          /* decodes to nothing useful */
	keyset_add(&ks, "b", "QUJD", 0, 0);         /* "ABC": not base64 of DER */
	keyset_add(&ks, "c", "QUJ", 0, 0);          /* incorrect padding */
	assert_int_equal(ks.n, 3);
	assert_null(ks.v[0].pkey);
	assert_null(ks.v[1].pkey);
	assert_null(ks.v[2].pkey);
	assert_non_null(ks.v[2].load_error);
	keyset_release(&ks);
	/* the fixture key wrapped with newlines (lenient decoding) still loads */
	slurp(FIX "/public-keys.json", &b);
	{
		const char *v = strstr(b.data, "\"Value\": \"") + 10;
		const char *end = strchr(v, '"');
		struct buf w = BUF_INIT_LIMIT(1 << 16);
		size_t i;

		for (i = 0; i < (size_t)(end - v); i++) {
			buf_addc(&w, v[i]);
			if (i % 60 == 59)
				buf_addc(&w, '\n');
		}
		keyset_init(&ks);
		keyset_add(&ks, "x", buf_cstr(&w), 0, 0);
		assert_non_null(ks.v[0].pkey);
		keyset_release(&ks);
		buf_release(&w);
	}
	/* base64 of the base64 text (what older notes describe) also loads */
	{
		const char *v = strstr(b.data, "\"Value\": \"") + 10;
		const char *end = strchr(v, '"');
		size_t n = (size_t)(end - v), cap = 4 * ((n + 2) / 3) + 1;
		unsigned char *twice = xmalloc(cap);

		EVP_EncodeBlock(twice, (const unsigned char *)v, (int)n);
		keyset_init(&ks);
		keyset_add(&ks, "y", (const char *)twice, 0, 0);
		assert_non_null(ks.v[0].pkey);
		assert_null(ks.v[0].load_error);
		keyset_release(&ks);
		free(twice);
	}
	buf_release(&b);
	keyset_init(&ks);
	assert_int_equal(keyset_load_json(&ks, "{}", 2, NULL), TK_EFAIL);
	{
		const char *j = "[{\"Fingerprint\":1,\"Value\":\"x\"}]";
		struct errbuf err;

		assert_int_equal(keyset_load_json(&ks, j, strlen(j), &err), TK_EFAIL);
		assert_non_null(strstr(err.msg, "must be strings"));
	}
	{
		const char *j = "{\"PublicKeyList\":[{\"Fingerprint\":\"f\",\"Value\":\"QUJD\","
				"\"ValidityStartTime\":\"2024-01-01T00:00:00Z\"}]}";

		assert_int_equal(keyset_load_json(&ks, j, strlen(j), NULL), 0);
	}
	assert_int_equal(ks.n, 1);
	assert_int_equal(ks.v[0].valid_from, 1704067200);
	keyset_release(&ks);
}

static const struct digest_loc LOC = { "logs", NULL, "111122223333", "us-east-1", "org-trail", "us-east-1" };

/* A log file's key as CloudTrail writes it (aws-wire.md, cloudtrail-
 * integrity.md): [prefix/]AWSLogs/[o-id/]account/CloudTrail/region/YYYY/MM/DD/
 * account_CloudTrail_region_YYYYMMDDTHHMMZ_unique.json.gz; every other
 * shape is not this location's log (issue 17: matched without building
 * strings). */
static void test_log_key_layout(void **state)
{
	static const struct digest_loc org = { "p/q", "o-abc123", "111122223333", "eu-west-1", "t", "us-east-1" };
	static const struct digest_loc bare = { NULL, NULL, "111122223333", "us-east-1", "t", "us-east-1" };
	static const char *const bad[] = {
		"p/q/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/01/"       /* no org id */
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/01/"  /* another prefix */
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc124/111122223333/CloudTrail/eu-west-1/2024/03/01/"  /* another org */
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc123/111122223334/CloudTrail/eu-west-1/2024/03/01/"  /* another account */
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/01/"  /* name: another account */
		"111122223334_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/eu-west-1/2024/03/01/"
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/"     /* two date dirs */
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/x3/01/"
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz",
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/01/"
		"111122223333_CloudTrail_eu-west-1_20240301T0210ZxA0.json.gz",       /* no '_' after the time */
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/01/"
		"111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json",          /* not .json.gz */
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/01/"
		"111122223333_CloudTrail_eu-west-1_20240301T02",                     /* cut short */
		"p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/",
		"",
	};
	time_t t, want;
	size_t i;

	(void)state;
	tk_parse_time("2024-03-01T02:10:00Z", &want);
	t = 0;
	assert_int_equal(log_key_time(&org, "p/q/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/01/"
				      "111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz", &t), 0);
	assert_int_equal(t, want);
	t = 0;
	assert_int_equal(log_key_time(&bare, "AWSLogs/111122223333/CloudTrail/us-east-1/2024/3/1/"
				      "111122223333_CloudTrail_us-east-1_20240301T0210Z_x.json.gz", &t), 0);
	assert_int_equal(t, want);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(log_key_time(&org, bad[i], &t), -1);
	assert_int_equal(log_key_time(&bare, "x/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/"
				      "111122223333_CloudTrail_us-east-1_20240301T0210Z_x.json.gz", &t), -1);
}

static void test_key_names(void **state)
{
	struct digest_loc org = { NULL, "o-abc123", "111122223333", "eu-west-1", "t", "us-east-1" };
	time_t t, want;
	int bf;
	char *s;

	(void)state;
	assert_int_equal(digest_key_time(DKEY, &t, &bf), 0);
	tk_parse_time("2024-03-01T03:00:00Z", &want);
	assert_int_equal(t, want);
	assert_int_equal(bf, 0);
	assert_int_equal(digest_key_time("x_20240301T030000Z_backfill.json.gz", &t, &bf), 0);
	assert_int_equal(bf, 1);
	assert_int_equal(t, want);
	assert_int_equal(digest_key_time("x_20241301T030000Z.json.gz", &t, &bf), -1);
	assert_int_equal(digest_key_time("x_20240301T030000Z.json", &t, &bf), -1);
	assert_int_equal(digest_key_time("Z.json.gz", &t, &bf), -1);
	assert_true(digest_key_matches(&LOC, DKEY));
	assert_false(digest_key_matches(&LOC, "logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/"
					"111122223333_CloudTrail-Digest_us-east-1_other_us-east-1_20240301T030000Z.json.gz"));
	assert_false(digest_key_matches(&LOC, "logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/x/01/"
					"111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T030000Z.json.gz"));
	assert_int_equal(digest_list_prefix(&s, &org), 0);
	assert_string_equal(s, "AWSLogs/o-abc123/111122223333/CloudTrail-Digest/eu-west-1/");
	free(s);
	assert_int_equal(log_list_prefix(&s, &LOC), 0);
	assert_string_equal(s, "logs/AWSLogs/111122223333/CloudTrail/us-east-1/");
	free(s);
	/* the CLI's marker: start - 1 minute, same key shape */
	assert_int_equal(digest_start_marker(&s, &LOC, want), 0);
	assert_string_equal(s, "logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/"
			    "111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T025900Z.json.gz");
	free(s);
	tk_parse_time("2024-03-01T00:00:00Z", &t);
	/* a location whose key texts do not fit is an error (issue 14; was: the
	 * prefix dropped, "AWSLogs/..." returned as if there were none) */
	{
		struct digest_loc big = LOC;
		char *p = xmalloc(70001);

		memset(p, 'p', 70000);
		p[70000] = '\0';
		big.prefix = p;
		s = p;   /* set to NULL by each failing call */
		assert_int_equal(digest_list_prefix(&s, &big), TK_ELIMIT);
		assert_null(s);
		assert_int_equal(log_list_prefix(&s, &big), TK_ELIMIT);
		assert_null(s);
		assert_int_equal(digest_start_marker(&s, &big, want), TK_ELIMIT);
		assert_null(s);
		/* and no key of the bucket's top level is taken for one of it */
		assert_false(digest_key_matches(&big, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/"
						"111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_"
						"20240301T030000Z.json.gz"));
		assert_int_equal(log_key_time(&big, "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/"
					      "111122223333_CloudTrail_us-east-1_20240301T0210Z_A0.json.gz", &t), -1);
		free(p);
	}
	assert_int_equal(digest_start_marker(&s, &LOC, t), 0);   /* crosses midnight */
	assert_non_null(strstr(s, "/2024/02/29/"));
	assert_non_null(strstr(s, "_20240229T235900Z.json.gz"));
	free(s);
	assert_int_equal(log_key_time(&LOC, "logs/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/"
				      "111122223333_CloudTrail_us-east-1_20240301T0210Z_A0.json.gz", &t), 0);
	tk_parse_time("2024-03-01T02:10:00Z", &want);
	assert_int_equal(t, want);
	assert_int_equal(log_key_time(&LOC, "logs/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/"
				      "111122223333_CloudTrail_eu-west-1_20240301T0210Z_A0.json.gz", &t), -1);
}

/* A chain link after a change of the trail's S3 location: the same trail's
 * digest key under any prefix (or none), never another account's, region's
 * or trail's; previousDigestS3Bucket must be a bucket name S3 allows */
#define DNAME "111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T030000Z.json.gz"
#define DPATH "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/"
static void test_key_matches_trail(void **state)
{
	struct digest_loc org = { "logs", "o-abc123", "111122223333", "us-east-1", "org-trail",
				  "us-east-1" };

	(void)state;
	assert_true(digest_key_matches_trail(&LOC, DKEY));
	assert_true(digest_key_matches_trail(&LOC, "moved/" DPATH DNAME));
	assert_true(digest_key_matches_trail(&LOC, "a/b/c/" DPATH DNAME));
	assert_true(digest_key_matches_trail(&LOC, DPATH DNAME));            /* no prefix */
	assert_true(digest_key_matches_trail(&LOC, "AWSLogs/" DPATH DNAME)); /* prefix "AWSLogs" */
	assert_false(digest_key_matches_trail(&LOC, "/" DPATH DNAME));      /* empty segment */
	assert_false(digest_key_matches_trail(&LOC, "xAWSLogs/111122223333/CloudTrail-Digest/"
					     "us-east-1/2024/03/01/" DNAME));
	assert_false(digest_key_matches_trail(&LOC, "moved/AWSLogs/444455556666/CloudTrail-Digest/"
					     "us-east-1/2024/03/01/444455556666_CloudTrail-Digest_"
					     "us-east-1_org-trail_us-east-1_20240301T030000Z.json.gz"));
	assert_false(digest_key_matches_trail(&LOC, "moved/AWSLogs/111122223333/CloudTrail-Digest/"
					     "eu-west-1/2024/03/01/111122223333_CloudTrail-Digest_"
					     "eu-west-1_org-trail_us-east-1_20240301T030000Z.json.gz"));
	assert_false(digest_key_matches_trail(&LOC, "moved/AWSLogs/111122223333/CloudTrail-Digest/"
					     "us-east-1/2024/03/01/111122223333_CloudTrail-Digest_"
					     "us-east-1_other_us-east-1_20240301T030000Z.json.gz"));
	assert_false(digest_key_matches_trail(&LOC, "moved/AWSLogs/111122223333/CloudTrail/"
					     "us-east-1/2024/03/01/" DNAME));
	/* organization trails: the organization's path, or (converted) none */
	assert_true(digest_key_matches_trail(&org, "x/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/"
					     "us-east-1/2024/03/01/" DNAME));
	assert_true(digest_key_matches_trail(&org, "x/" DPATH DNAME));
	assert_false(digest_key_matches_trail(&org, "x/AWSLogs/o-other99/111122223333/"
					      "CloudTrail-Digest/us-east-1/2024/03/01/" DNAME));
	assert_true(digest_bucket_name_ok("tk-fixture-bucket"));
	assert_true(digest_bucket_name_ok("a.b-c.123"));
	assert_false(digest_bucket_name_ok("ab"));
	assert_false(digest_bucket_name_ok("Not_A_Bucket"));
	assert_false(digest_bucket_name_ok("-abc"));
	assert_false(digest_bucket_name_ok("abc."));
	assert_false(digest_bucket_name_ok("a..b"));
	assert_false(digest_bucket_name_ok("a/b/c"));
	assert_false(digest_bucket_name_ok("0123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_local_path(void **state)
{
	static const char *bad_keys[] = { "", "/abs", "a//b", "a/../b", "..", "a/.", "./a", "a/",
					  "a\\b", "x.json.gz.meta.json" };
	char *p;
	size_t i;

	(void)state;
	assert_int_equal(local_path(&p, "D", "b", "a/b.json.gz", 11, NULL), 0);
	assert_string_equal(p, "D/b/a/b.json.gz");
	free(p);
	for (i = 0; i < sizeof(bad_keys) / sizeof(*bad_keys); i++)
		if (local_path(&p, "D", "b", bad_keys[i], strlen(bad_keys[i]), NULL) != TK_EUSAGE)
			fail_msg("key '%s' accepted", bad_keys[i]);
	assert_int_equal(local_path(&p, "D", "b", "a\0b", 3, NULL), TK_EUSAGE);
	assert_int_equal(local_path(&p, "D", "..", "a", 1, NULL), TK_EUSAGE);
	assert_int_equal(local_path(&p, "D", "a/b", "a", 1, NULL), TK_EUSAGE);
	assert_int_equal(local_path(&p, "D", "", "a", 1, NULL), TK_EUSAGE);
}

static void test_local_create(void **state)
{
	char tmpl[] = "/tmp/tk-digest-test.XXXXXX", *dir = mkdtemp(tmpl), *p, *link;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(dir);
	assert_int_equal(local_create(&fd, dir, "b", "x/y/z.json.gz", 0, NULL), 0);
	assert_int_equal(write(fd, "hi", 2), 2);
	close(fd);
	p = xasprintf("%s/b/x/y/z.json.gz", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);
	p = xasprintf("%s/b/x/y", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	assert_int_equal(local_create(&fd, dir, "b", "x/y/z.json.gz", 1, NULL), 0);
	close(fd);
	p = xasprintf("%s/b/x/y/z.json.gz.meta.json", dir);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	/* a symlinked directory below DIR is not followed */
	link = xasprintf("%s/b/evil", dir);
	assert_int_equal(symlink("/tmp", link), 0);
	assert_int_equal(local_create(&fd, dir, "b", "evil/f", 0, NULL), TK_EFAIL);
	assert_int_equal(local_create(&fd, dir, "b", "../f", 0, NULL), TK_EUSAGE);
	unlink(link);
	free(link);
	p = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
	free(p);
}

/* a digest whose logFiles array inflates past MAX_DIGEST_JSON is a clear
 * error (digest_format_invalid upstream), never parsed whole */
static void test_digest_too_large(void **state)
{
	const size_t n = MAX_DIGEST_JSON + 4096;
	unsigned char *raw = xmalloc(n), *gzb;
	z_stream z;
	struct digest d;
	struct errbuf err;
	size_t cap, i;

	(void)state;
	memcpy(raw, "{\"logFiles\":[", 13);
	for (i = 13; i + 3 < n; i += 3)
		memcpy(raw + i, "{},", 3);
	memset(raw + i, ' ', n - i);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, n);
	gzb = xmalloc(cap);
	z.next_in = raw;
	z.avail_in = (uInt)n;
	z.next_out = gzb;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	memset(&d, 0, sizeof(d));
	err_clear(&err);
	assert_true(digest_load_gz(&d, gzb, cap - z.avail_out, &err) < 0);
	assert_true(err.msg[0] != '\0');
	digest_release(&d);
	deflateEnd(&z);
	free(raw);
	free(gzb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_key_layout),
		cmocka_unit_test(test_parse_fixture),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_string_to_sign),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_base64_values),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_key_matches_trail),
		cmocka_unit_test(test_local_path),
		cmocka_unit_test(test_local_create),
		cmocka_unit_test(test_digest_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
