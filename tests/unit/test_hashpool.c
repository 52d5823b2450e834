/* test_hashpool.c: hashpool.h, the worker threads that hash validate's log
 * bodies off the event loop.  Every result must equal loghash_buffer() on
 * the same bytes (with workers and without), the bytes must be hashed on
 * the workers (not the feeding thread), the queue must stay within its
 * limit with the feeder blocked (backpressure), and abandoned streams must
 * never be reported. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "buf.h"
#include "hashpool.h"
#include "loghash.h"
#include "banned.h"

/* deterministic pseudo-random bytes (xorshift), seeded */
static uint32_t rng = 1;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* gzip of n bytes of text-like data (compresses ~5-10x) */
static unsigned char *make_gz(size_t n, size_t *out_len)
{
	static const char words[][8] = { "event", "Name", "\"s3\"", "aws", "{\"a\":", "1234", "\n", "user" };
	unsigned char *src = xmalloc(n + 8), *dst;
	size_t i = 0, cap = n + 1024;
	z_stream zs;

	while (i < n) {
		const char *w = words[rnd() % 8];
		size_t l = strlen(w);

		memcpy(src + i, w, l);
		i += l;
	}
	dst = xmalloc(cap);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = src;
	zs.avail_in = (uInt)n;
	zs.next_out = dst;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	free(src);
	return dst;
}

#define NSTREAMS 40

struct sample {
	unsigned char *gz;
	size_t len, fed;
	char want[65];
	enum loghash_status want_st;
	struct hp_item *it;
	int done;
};

/* NSTREAMS bodies (some broken on purpose), fed interleaved in random
 * pieces as a network would deliver them; results checked against
 * loghash_buffer. */
static void run_streams(int threads, size_t limit, struct hashpool_stats *st)
{
	struct sample s[NSTREAMS];
	struct hashpool *p = hashpool_new(threads, limit);
	struct hp_item *it;
	size_t i, left = NSTREAMS, ndone = 0;

	rng = 7;
	for (i = 0; i < NSTREAMS; i++) {
		size_t n = 100 + rnd() % (i % 5 == 0 ? 600000 : 40000);

		memset(&s[i], 0, sizeof(s[i]));
		s[i].gz = make_gz(n, &s[i].len);
		if (i % 7 == 3)
			s[i].len -= 5;               /* truncated */
		if (i % 11 == 4)
			s[i].gz[s[i].len / 2] ^= 0x55; /* corrupt in the middle */
		s[i].want_st = loghash_buffer(s[i].gz, s[i].len, 0, s[i].want);
		s[i].it = hashpool_stream(p, 0, &s[i]);
	}
	while (left) {
		for (i = 0; i < NSTREAMS; i++) {
			size_t n;

			if (s[i].fed == s[i].len && s[i].it) {
				hashpool_end(s[i].it);
				s[i].it = NULL;
				left--;
				continue;
			}
			if (!s[i].it)
				continue;
			n = 1 + rnd() % 20000;
			if (n > s[i].len - s[i].fed)
				n = s[i].len - s[i].fed;
			(void)hashpool_feed(s[i].it, s[i].gz + s[i].fed, n);
			s[i].fed += n;
		}
		while ((it = hashpool_next_done(p, false))) {
			struct sample *x = hashpool_item_ud(it);
			char hex[65];

			assert_int_equal(hashpool_item_status(it, hex), x->want_st);
			assert_string_equal(hex, x->want);
			assert_int_equal(hashpool_item_bytes(it), x->len);
			x->done++;
			ndone++;
			hashpool_item_free(it);
		}
	}
	while ((it = hashpool_next_done(p, true))) {
		struct sample *x = hashpool_item_ud(it);
		char hex[65];

		assert_int_equal(hashpool_item_status(it, hex), x->want_st);
		assert_string_equal(hex, x->want);
		x->done++;
		ndone++;
		hashpool_item_free(it);
	}
	assert_int_equal(ndone, NSTREAMS);
	assert_int_equal(hashpool_outstanding(p), 0);
	for (i = 0; i < NSTREAMS; i++) {
		assert_int_equal(s[i].done, 1);
		free(s[i].gz);
	}
	hashpool_get_stats(p, st);
	hashpool_free(p);
}

static void test_streams_on_workers(void **state)
{
	struct hashpool_stats st;

	(void)state;
	run_streams(2, 0, &st);
	/* the feeding thread hashed nothing */
	assert_int_equal(st.chunks_caller, 0);
	assert_true(st.chunks_workers >= NSTREAMS);
}

static void test_streams_without_workers(void **state)
{
	struct hashpool_stats st;

	(void)state;
	run_streams(0, 0, &st);
	assert_int_equal(st.chunks_workers, 0);
	assert_true(st.chunks_caller >= NSTREAMS);
}

/* a queue of 3 chunks with one worker: the feeder must wait, and the queue
 * never holds more than its limit */
static void test_backpressure_bounds_queue(void **state)
{
	struct hashpool_stats st;
	size_t limit = 3 * (HASHPOOL_CHUNK + 64);

	(void)state;
	run_streams(1, limit, &st);
	assert_true(st.max_queued <= limit);
	assert_true(st.max_queued >= HASHPOOL_CHUNK);
	assert_true(st.waits > 0);
}

/* an abandoned stream (a download that restarts) is never reported; the
 * restarted one is */
static void test_abandon(void **state)
{
	struct hashpool *p = hashpool_new(2, 0);
	size_t len;
	unsigned char *gz = make_gz(300000, &len);
	struct hp_item *a, *b, *it;
	char want[65], hex[65];
	int i;

	(void)state;
	assert_int_equal(loghash_buffer(gz, len, 0, want), LOGHASH_OK);
	for (i = 0; i < 20; i++) {
		a = hashpool_stream(p, 0, (void *)1);
		(void)hashpool_feed(a, gz, len / 2);   /* some chunks handed over */
		hashpool_abandon(a);
	}
	assert_int_equal(hashpool_outstanding(p), 0);
	b = hashpool_stream(p, 0, (void *)2);
	(void)hashpool_feed(b, gz, len);
	hashpool_end(b);
	it = hashpool_next_done(p, true);
	assert_non_null(it);
	assert_ptr_equal(hashpool_item_ud(it), (void *)2);
	assert_int_equal(hashpool_item_status(it, hex), LOGHASH_OK);
	assert_string_equal(hex, want);
	hashpool_item_free(it);
	assert_null(hashpool_next_done(p, true));
	/* a stream never ended is freed with the pool */
	a = hashpool_stream(p, 0, NULL);
	(void)hashpool_feed(a, gz, 1000);
	hashpool_free(p);
	free(gz);
}

/* bad bytes: the status comes back from hashpool_feed (the caller stops
 * reading) and is final; a bomb over the cap is TOO_BIG */
static void test_early_status(void **state)
{
	struct hashpool *p = hashpool_new(1, 0);
	unsigned char junk[HASHPOOL_CHUNK];
	struct hp_item *it;
	enum loghash_status st = LOGHASH_OK;
	char hex[65];
	size_t len, i;
	unsigned char *gz = make_gz(2000000, &len);

	(void)state;
	memset(junk, 'x', sizeof(junk));
	it = hashpool_stream(p, 0, NULL);
	st = hashpool_feed(it, junk, sizeof(junk));   /* one whole chunk: handed over */
	for (i = 0; i < 10000 && st == LOGHASH_OK; i++) {
		usleep(1000);   /* up to 10 s for the worker on a loaded machine */
		st = hashpool_feed(it, junk, 0);
	}
	assert_int_equal(st, LOGHASH_BAD_GZIP);
	hashpool_end(it);
	it = hashpool_next_done(p, true);
	assert_int_equal(hashpool_item_status(it, hex), LOGHASH_BAD_GZIP);
	assert_string_equal(hex, "");
	hashpool_item_free(it);
	it = hashpool_stream(p, 100000, NULL);
	(void)hashpool_feed(it, gz, len);
	hashpool_end(it);
	it = hashpool_next_done(p, true);
	assert_int_equal(hashpool_item_status(it, hex), LOGHASH_TOO_BIG);
	hashpool_item_free(it);
	hashpool_free(p);
	free(gz);
}

/* --local's items: files read and hashed on the workers */
static void test_files(void **state)
{
	struct hashpool *p = hashpool_new(2, 0);
	char dir[] = "/tmp/tk-hashpool-XXXXXX", *path, want[65], hex[65];
	size_t len;
	unsigned char *gz = make_gz(100000, &len);
	struct hp_item *it;
	FILE *f;
	int seen = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/log.json.gz", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(gz, 1, len, f), len);
	fclose(f);
	assert_int_equal(loghash_buffer(gz, len, 0, want), LOGHASH_OK);
	hashpool_file(p, path, 0, (void *)1);
	hashpool_file(p, NULL, 0, (void *)2);             /* a key local_path refused */
	{
		char *missing = xasprintf("%s/missing.json.gz", dir);

		hashpool_file(p, missing, 0, (void *)3);
		free(missing);
	}
	while ((it = hashpool_next_done(p, true))) {
		uintptr_t k = (uintptr_t)hashpool_item_ud(it);

		if (k == 1) {
			assert_int_equal(hashpool_item_errno(it), 0);
			assert_int_equal(hashpool_item_status(it, hex), LOGHASH_OK);
			assert_string_equal(hex, want);
			assert_int_equal(hashpool_item_bytes(it), len);
		} else {
			assert_int_equal(hashpool_item_errno(it), ENOENT);
		}
		seen |= 1 << k;
		hashpool_item_free(it);
	}
	assert_int_equal(seen, 2 | 4 | 8);
	hashpool_free(p);
	unlink(path);
	rmdir(dir);
	free(path);
	free(gz);
}

static void add_one(void *ud)
{
	int *x = ud;

	(*x)++;
}

static void test_calls(void **state)
{
	struct hashpool *p = hashpool_new(2, 0);
	int v[50] = { 0 }, i, n = 0;
	struct hp_item *it;

	(void)state;
	for (i = 0; i < 50; i++)
		hashpool_call(p, add_one, &v[i]);
	while ((it = hashpool_next_done(p, true))) {
		assert_int_equal(*(int *)hashpool_item_ud(it), 1);
		n++;
		hashpool_item_free(it);
	}
	assert_int_equal(n, 50);
	assert_int_equal(hashpool_threads(p), 2);
	hashpool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams_on_workers),
		cmocka_unit_test(test_streams_without_workers),
		cmocka_unit_test(test_backpressure_bounds_queue),
		cmocka_unit_test(test_abandon),
		cmocka_unit_test(test_early_status),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
