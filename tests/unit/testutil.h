/* testutil.h: helpers shared by the cmocka unit tests (linked into every
 * tests/unit/test_*.c binary): spawning the Python test servers on
 * 127.0.0.1, and small temporary-file helpers. */
#ifndef TK_TESTUTIL_H
#define TK_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "aws.h"

struct tu_server {
	pid_t pid;
	int port;
	char port_file[256];
};

/* $PYTHON (default /usr/bin/python3) and $TOP (default ".") */
const char *tu_python(void);
const char *tu_top(void);

/* Spawn tests/integration/scriptserver.py writing its port to
 * /tmp/tk-<tag>-test-<pid>.port and wait (up to 10 s) for it: 0 or -1. */
int tu_scriptserver_start(struct tu_server *s, const char *tag);

/* Spawn `python -m tests.fakeaws --port 0 --seed <seed>` from $TOP (stderr
 * to /dev/null) and read its "PORT=N" line: 0 or -1. */
int tu_fakeaws_start(struct tu_server *s, const char *seed);

/* SIGTERM the server, reap it, remove its port file (if any). */
void tu_server_stop(struct tu_server *s);

/* POST {url}/_fake/{name} with a JSON body through pool; the parsed JSON
 * answer of a 200, else NULL (caller decrefs). */
struct http_pool;
typedef struct json_t json_t;
json_t *tu_fakeaws_control(struct http_pool *pool, const char *url, const char *name, const char *body);

/* The secret of the script server's key AKIDEXAMPLE (it re-signs with it). */
#define TU_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/* GET path on the script server (plain): the body (caller frees); and its
 * request count for /s/<uid>/ (GET /count/<uid>). */
char *tu_scriptserver_get(struct http_pool *pool, const struct tu_server *s, const char *path);
long tu_scriptserver_count(struct http_pool *pool, const struct tu_server *s, const char *uid);

/* An AWS context (key AKIDEXAMPLE, us-east-1, seed 42) whose every request
 * goes to the script server's /s/<uid>/<steps> (the endpoint's base path). */
struct tu_script_ctx {
	struct aws_ctx ctx;
	struct endpoint_config ep;
	char *url;
};
void tu_script_ctx_init(struct tu_script_ctx *f, struct http_pool *pool, const struct tu_server *s,
			const char *uid, const char *steps, int max_attempts,
			time_t (*clock)(void *ud), void (*sleep_ms)(void *ud, long ms));
void tu_script_ctx_release(struct tu_script_ctx *f);

/* mkdtemp(tmpl): 0 or -1;  rm -rf dir: 0 or -1 */
int tu_mkdtemp(char *tmpl);
int tu_rmtree(const char *dir);

/* Write len bytes of text to path (cmocka assertions on failure). */
void tu_write_file(const char *path, const char *text, size_t len);

#endif
