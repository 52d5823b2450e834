#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "buf.h"
#include "loghash.h"
#include "banned.h"

/* sha256("hello world\n" x 1000) computed independently below via one-shot */
static unsigned char *gzip_of(const void *data, size_t n, size_t *outlen)
{
	z_stream zs;
	unsigned char *out;
	size_t cap = compressBound((uLong)n) + 64;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	out = xmalloc(cap);
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static char *text(size_t *n)
{
	struct buf b = BUF_INIT_LIMIT(1 << 20);
	int i;

	for (i = 0; i < 1000; i++)
		buf_addf(&b, "hello world %d\n", i);
	*n = b.len;
	return buf_detach(&b);
}

/* known answer: sha256 of the empty string */
static void test_empty_gzip(void **state)
{
	size_t n;
	unsigned char *gz = gzip_of("", 0, &n);
	char hex[65];

	(void)state;
	assert_int_equal(loghash_buffer(gz, n, 0, hex), LOGHASH_OK);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(gz);
}

static void test_known_answer(void **state)
{
	size_t n;
	unsigned char *gz = gzip_of("abc", 3, &n);
	char hex[65];

	(void)state;
	assert_int_equal(loghash_buffer(gz, n, 0, hex), LOGHASH_OK);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	free(gz);
}

/* feeding byte by byte gives the same hash as one piece */
static void test_chunked_equals_whole(void **state)
{
	size_t n, tn, i;
	char *t = text(&tn);
	unsigned char *gz = gzip_of(t, tn, &n);
	char a[65], b[65];
	struct loghash *h = loghash_new(0, 0);

	(void)state;
	assert_int_equal(loghash_buffer(gz, n, 0, a), LOGHASH_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(loghash_feed(h, gz + i, 1), LOGHASH_OK);
	assert_int_equal(loghash_finish(h, b), LOGHASH_OK);
	assert_string_equal(a, b);
	assert_int_equal(loghash_inflated(h), tn);
	loghash_free(h);
	free(gz);
	free(t);
}

static void test_truncated(void **state)
{
	size_t n, tn;
	char *t = text(&tn);
	unsigned char *gz = gzip_of(t, tn, &n);
	char full[65], hex[65];

	(void)state;
	assert_int_equal(loghash_buffer(gz, n, 0, full), LOGHASH_OK);
	/* cut in the data: hash of less data */
	assert_int_equal(loghash_buffer(gz, n / 2, 0, hex), LOGHASH_TRUNCATED);
	assert_string_not_equal(hex, full);
	/* cut only the trailer: like the CLI, all data inflated, same hash */
	assert_int_equal(loghash_buffer(gz, n - 4, 0, hex), LOGHASH_TRUNCATED);
	assert_string_equal(hex, full);
	assert_int_equal(loghash_buffer(gz, 0, 0, hex), LOGHASH_TRUNCATED);
	free(gz);
	free(t);
}

static void test_trailing_and_multimember(void **state)
{
	size_t n, n2, tn;
	char *t = text(&tn);
	unsigned char *gz = gzip_of(t, tn, &n), *two, *gz2 = gzip_of("more", 4, &n2);
	char full[65], hex[65];
	struct loghash *h;

	(void)state;
	assert_int_equal(loghash_buffer(gz, n, 0, full), LOGHASH_OK);
	two = xmalloc(n + n2);
	memcpy(two, gz, n);
	memcpy(two + n, gz2, n2);
	/* second member: not hashed (decompressobj semantics), reported */
	assert_int_equal(loghash_buffer(two, n + n2, 0, hex), LOGHASH_TRAILING_DATA);
	assert_string_equal(hex, full);
	/* junk in a later feed call */
	h = loghash_new(0, 0);
	assert_int_equal(loghash_feed(h, gz, n), LOGHASH_OK);
	assert_int_equal(loghash_feed(h, "x", 1), LOGHASH_TRAILING_DATA);
	assert_int_equal(loghash_finish(h, hex), LOGHASH_TRAILING_DATA);
	assert_string_equal(hex, full);
	loghash_free(h);
	free(two);
	free(gz);
	free(gz2);
	free(t);
}

static void test_bad_gzip(void **state)
{
	char hex[65];
	size_t n;
	unsigned char *gz = gzip_of("abc", 3, &n);

	(void)state;
	assert_int_equal(loghash_buffer("not gzip at all", 15, 0, hex), LOGHASH_BAD_GZIP);
	assert_string_equal(hex, "");
	gz[12] ^= 0xff;    /* corrupt deflate data */
	gz[13] ^= 0xff;
	assert_int_not_equal(loghash_buffer(gz, n, 0, hex), LOGHASH_OK);
	/* raw zlib stream is not accepted: gzip wrapper only, like 16+MAX_WBITS */
	{
		unsigned char z[64];
		uLongf zl = sizeof(z);

		assert_int_equal(compress(z, &zl, (const Bytef *)"abc", 3), Z_OK);
		assert_int_equal(loghash_buffer(z, zl, 0, hex), LOGHASH_BAD_GZIP);
	}
	free(gz);
}

static void test_bomb_cap(void **state)
{
	size_t big = 4u << 20, n;
	char *zeros = xcalloc(1, big);
	unsigned char *gz = gzip_of(zeros, big, &n);
	char hex[65];

	(void)state;
	assert_true(n < big / 100);
	assert_int_equal(loghash_buffer(gz, n, 1 << 20, hex), LOGHASH_TOO_BIG);
	assert_int_equal(loghash_buffer(gz, n, big, hex), LOGHASH_OK);
	free(gz);
	free(zeros);
}

static void test_keep(void **state)
{
	size_t n, kl;
	unsigned char *gz = gzip_of("{\"a\":1}", 7, &n);
	struct loghash *h = loghash_new(0, 100);
	char hex[65];

	(void)state;
	loghash_feed(h, gz, n);
	assert_int_equal(loghash_finish(h, hex), LOGHASH_OK);
	assert_string_equal(loghash_kept(h, &kl), "{\"a\":1}");
	assert_int_equal(kl, 7);
	loghash_free(h);
	h = loghash_new(0, 4);   /* keep limit is a size cap too */
	loghash_feed(h, gz, n);
	assert_int_equal(loghash_finish(h, hex), LOGHASH_TOO_BIG);
	loghash_free(h);
	free(gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_gzip),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_chunked_equals_whole),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing_and_multimember),
		cmocka_unit_test(test_bad_gzip),
		cmocka_unit_test(test_bomb_cap),
		cmocka_unit_test(test_keep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
