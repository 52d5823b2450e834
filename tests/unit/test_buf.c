/* test_buf.c: struct buf's sticky error and checked ends, ALLOC_GROW and
 * the out-of-memory policy (src/core/buf.h, issue 14 "Bounded writes that
 * silently drop data", "Array growth"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "banned.h"

static void test_fits(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "abc"), 0);
	assert_int_equal(buf_addf(&b, "%d", 1234), 0);
	assert_int_equal(buf_addc(&b, '!'), 0);
	assert_int_equal(buf_error(&b), 0);
	assert_string_equal(buf_cstr(&b), "abc1234!");
	assert_int_equal(buf_finish(&b, &s), 0);
	assert_string_equal(s, "abc1234!");
	free(s);
}

/* the defect class: an add that does not fit, then one that does; the
 * second must not succeed on a buffer that lost data */
static void test_error_is_sticky(void **state)
{
	struct buf b;
	char *s = (char *)&b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "ab"), 0);
	assert_int_equal(buf_adds(&b, "0123456789"), TK_ELIMIT);
	assert_int_equal(buf_adds(&b, "cd"), TK_ELIMIT);
	assert_int_equal(buf_addc(&b, 'e'), TK_ELIMIT);
	assert_int_equal(buf_addf(&b, "%s", "f"), TK_ELIMIT);
	assert_int_equal(buf_add(&b, "g", 1), TK_ELIMIT);
	assert_int_equal(buf_error(&b), TK_ELIMIT);
	assert_int_equal(b.len, 2);
	assert_int_equal(buf_finish(&b, &s), TK_ELIMIT);
	assert_null(s);
	assert_null(b.data);
	/* released: usable again after buf_init */
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "ok"), 0);
	assert_int_equal(buf_finish(&b, &s), 0);
	assert_string_equal(s, "ok");
	free(s);
}

static void test_addf_too_long(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_addf(&b, "%s", "12345"), TK_ELIMIT);
	assert_int_equal(buf_adds(&b, "1"), TK_ELIMIT);
	assert_int_equal(buf_error(&b), TK_ELIMIT);
	buf_release(&b);
}

static void test_reset_clears(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_adds(&b, "12345"), TK_ELIMIT);
	buf_reset(&b);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(buf_adds(&b, "1234"), 0);
	assert_string_equal(buf_cstr(&b), "1234");
	buf_release(&b);
}

static void test_detach_marked(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 6);
	assert_int_equal(buf_adds(&b, "abc"), 0);
	s = buf_detach_marked(&b);
	assert_string_equal(s, "abc");   /* no error: no marker */
	free(s);
	buf_init(&b, 6);
	assert_int_equal(buf_adds(&b, "abc"), 0);
	assert_int_equal(buf_adds(&b, "defg"), TK_ELIMIT);
	s = buf_detach_marked(&b);
	assert_string_equal(s, "abc" BUF_TRUNC_MARK);
	free(s);
	assert_null(b.data);
	buf_init(&b, 2);
	assert_int_equal(buf_adds(&b, "abc"), TK_ELIMIT);
	s = buf_detach_marked(&b);
	assert_string_equal(s, BUF_TRUNC_MARK);
	free(s);
}

static void test_format_cut(void **state)
{
	char big[200];
	char *s;

	(void)state;
	s = tk_format_cut(64, "%s-%d", "ab", 7);
	assert_string_equal(s, "ab-7");
	free(s);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = tk_format_cut(64, "<%s>", big);
	assert_int_equal(strlen(s), 64);
	assert_string_equal(s + 64 - strlen(BUF_TRUNC_MARK), BUF_TRUNC_MARK);
	assert_memory_equal(s, "<xxx", 4);
	free(s);
	/* never inside a UTF-8 sequence: 2-byte characters from the start */
	{
		char u[201];
		size_t i;

		for (i = 0; i < 200; i += 2) {
			u[i] = (char)0xc3;
			u[i + 1] = (char)0xa9;
		}
		u[200] = '\0';
		s = tk_format_cut(64, "%s", u);
		assert_true(strlen(s) <= 64);
		assert_int_equal((strlen(s) - strlen(BUF_TRUNC_MARK)) % 2, 0);
		assert_string_equal(s + strlen(s) - strlen(BUF_TRUNC_MARK), BUF_TRUNC_MARK);
		free(s);
	}
}

/* run fn in a child: did it die of SIGABRT with `want` on stderr? */
static void expect_abort(void (*fn)(void), const char *want)
{
	int pfd[2], status;
	char out[512];
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		fn();
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, want));
}

static void detach_unchecked(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 2);
	(void)!buf_adds(&b, "abc");
	s = buf_detach(&b);   /* must not return "" or a short string */
	free(s);
}

static void cstr_unchecked(void)
{
	struct buf b;

	buf_init(&b, 2);
	(void)!buf_adds(&b, "a");
	(void)!buf_adds(&b, "bc");
	(void)!puts(buf_cstr(&b));
}

static void test_unchecked_use_stops(void **state)
{
	(void)state;
	expect_abort(detach_unchecked, "trailkeep: internal error: a buffer whose write failed");
	expect_abort(cstr_unchecked, "trailkeep: internal error: a buffer whose write failed");
}

static void test_alloc_grow(void **state)
{
	int *v = NULL;
	size_t n = 0, alloc = 0, reallocs = 0, i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		size_t before = alloc;

		ALLOC_GROW(v, n + 1, alloc);
		if (alloc != before)
			reallocs++;
		assert_true(alloc >= n + 1);
		v[n++] = (int)i;
	}
	for (i = 0; i < n; i++)
		assert_int_equal(v[i], (int)i);
	/* geometric: not one realloc per element */
	assert_true(reallocs < 40);
	/* a request for more than the next step gets at least that */
	ALLOC_GROW(v, alloc * 4, alloc);
	assert_true(alloc >= n * 4);
	free(v);
}

static void grow_overflow(void)
{
	char *v = NULL;
	size_t alloc = 0;
	double *d = NULL;
	size_t dalloc = 0;

	ALLOC_GROW(v, 1, alloc);
	ALLOC_GROW(d, SIZE_MAX / 4, dalloc);   /* * 8 bytes overflows */
	free(v);
	free(d);
}

static void array_overflow(void)
{
	free(xmallocarray(SIZE_MAX / 2, 4));
}

static void test_overflow_is_oom(void **state)
{
	(void)state;
	expect_abort(grow_overflow, "trailkeep: out of memory");
	expect_abort(array_overflow, "trailkeep: out of memory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_addf_too_long),
		cmocka_unit_test(test_reset_clears),
		cmocka_unit_test(test_detach_marked),
		cmocka_unit_test(test_format_cut),
		cmocka_unit_test(test_unchecked_use_stops),
		cmocka_unit_test(test_alloc_grow),
		cmocka_unit_test(test_overflow_is_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
